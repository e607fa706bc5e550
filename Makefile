VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo sandbox test test-e2e lint docs docs-check bench screenshots clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) samples/demo.py

# The demo's sandbox, left running for the tour's step 3: it prints the lines to paste.
sandbox: $(STAMP)
	$(VENV)/bin/bulk-updater sandbox --activities samples/sandbox-activities.txt

test: $(STAMP)
	$(PY) -m pytest -q -m "not e2e" -n 2

# Signals, kill -9, real filesystems and browsers: the slow tier, also run by CI.
test-e2e: $(STAMP)
	$(PY) -m pytest -q -m e2e

# Style and types: ruff and mypy, both clean (CI runs this too).
lint: $(STAMP)
	$(VENV)/bin/ruff check bulk_updater tests samples
	$(VENV)/bin/mypy

# The README's option tables and docs/cli.md, written again from the CLI's parser and the option registry (cog).
DOCS := README.md docs/cli.md
docs: $(STAMP)
	$(VENV)/bin/cog -r $(DOCS)

# Fails when the committed docs differ from what `make docs` writes (CI runs this too).
docs-check: $(STAMP)
	$(VENV)/bin/cog --check --diff --check-fail-msg='run: make docs' $(DOCS)

# docs/ui.png: the web page's run screen, taken by the browser test (needs /usr/bin/chromium).
screenshots: $(STAMP)
	BULK_UPDATER_SCREENSHOTS=1 BULK_UPDATER_REQUIRE_BROWSER=1 $(PY) -m pytest -q -m e2e tests/test_ui_browser.py -k stop

bench: $(STAMP)
	$(PY) tests/bench/run.py $(BENCH)

clean:
	rm -rf $(VENV) demo-out demo-out-undo bench-results *.egg-info
