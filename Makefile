VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo sandbox test test-e2e bench clean

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

bench: $(STAMP)
	$(PY) tests/bench/run.py $(BENCH)

clean:
	rm -rf $(VENV) demo-out demo-out-undo bench-results *.egg-info
