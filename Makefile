VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo sandbox test test-e2e lint docs docs-check docs-site dist bench screenshots mutants clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# `bulk-updater demo`: the sample sheet run, verified and undone against the sandbox, in a new folder (demo-out, demo-out-2...).
demo: $(STAMP)
	$(VENV)/bin/bulk-updater demo

# The demo's sandbox, left running for the README's recipes: it prints the lines to paste.
sandbox: $(STAMP)
	$(VENV)/bin/bulk-updater sandbox --demo

# The fast tier's temporary folders in memory where the system has /dev/shm: its runs write, fsync and
# delete thousands of small files (run folders, the workbook copies' parts, the ledgers), a wait on a
# shared disk. Bytecode is cached even under PYTHONDONTWRITEBYTECODE: each worker would parse and
# rewrite every test module again. The e2e tier keeps the real disk.
# Only with 1 GB free: a container's /dev/shm is often 64 MB, and a full one would fail tests that pass on disk.
TEST_TMP := $(shell test -d /dev/shm -a -w /dev/shm && test $$(df -Pk /dev/shm | awk 'NR==2 {print $$4}') -gt 1048576 && echo /dev/shm)
test: $(STAMP)
	$(if $(TEST_TMP),TMPDIR=$(TEST_TMP)) PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -m "not e2e" -n 4

# Signals, kill -9, real filesystems and browsers: the slow tier, also run by CI.
test-e2e: $(STAMP)
	$(PY) -m pytest -q -m e2e

# Style, types and layers: ruff, mypy and import-linter (pyproject's contracts), all clean (CI runs this too).
lint: $(STAMP)
	$(VENV)/bin/ruff check bulk_updater tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

# The docs' option tables and docs/cli.md, written again from the CLI's parser and the option registry (cog).
DOCS := docs/cli.md docs/sheet.md docs/commands.md docs/stopping.md
docs: $(STAMP)
	$(VENV)/bin/cog -r $(DOCS)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# Fails when the committed docs differ from what `make docs` writes, or the site has a warning (CI runs this too).
# NO_MKDOCS_2_WARNING: a banner Material prints about its successor, not a warning about these docs.
docs-check: $(STAMP)
	$(VENV)/bin/cog --check --diff --check-fail-msg='run: make docs' $(DOCS)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# The docs site (MkDocs + Material) in site/: open site/index.html. --strict: a broken link or a page left out of the nav fails it.
docs-site: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# A wheel and an sdist in dist/, for `pipx install dist/bulk_updater-VERSION-py3-none-any.whl` on another computer.
dist: $(STAMP)
	rm -rf dist
	$(PY) -m build --outdir dist

# docs/ui.png: the web page's fix-and-retry screen, taken by the browser test of the whole story (needs /usr/bin/chromium).
screenshots: $(STAMP)
	BULK_UPDATER_SCREENSHOTS=1 BULK_UPDATER_REQUIRE_BROWSER=1 $(PY) -m pytest -q -m e2e tests/test_ui_story.py

bench: $(STAMP)
	$(PY) tests/bench/run.py $(BENCH)

# Mutation testing (docs/development.md): mutmut over [tool.mutmut]'s modules, one child (the machine is shared), never part of
# make test. Installed here, not in the test extra. MUTANTS narrows it, e.g. make mutants MUTANTS='bulk_updater.safety.activity*'.
mutants: $(STAMP)
	$(PY) -m pip install --quiet 'mutmut==3.8.1'
	$(VENV)/bin/mutmut run --max-children 1 $(MUTANTS)
	$(VENV)/bin/mutmut results

# Never the demo's folders: you may have edited them.
clean:
	rm -rf $(VENV) bench-results *.egg-info dist site mutants
