# formsengine: two commands set everything up on a fresh machine.
#   make run    set up, create the database (demo data with DEMO=1) and serve on 127.0.0.1
#   make test   set up (browser included) and run the whole test suite on SQLite, then the
#               database-facing suites again on PostgreSQL when a server is there
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGINS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=
# The suites that run a second time on PostgreSQL. Not again: the browser tests, and the
# web tests that start server processes on a SQLite file of their own (README: Testing).
PG_TESTS ?= tests/store tests/test_store.py tests/test_audit.py tests/test_importer.py \
	tests/exports tests/analysis tests/web \
	--ignore=tests/web/test_workers.py --ignore=tests/web/test_crash_server.py \
	--ignore=tests/web/test_concurrency.py --ignore=tests/web/test_server_limits.py \
	--deselect=tests/web/test_logs.py::test_serve_writes_json_access_lines_to_standard_error
# whether there is a PostgreSQL server for the tests (see tests/conftest.py: server_url)
PG_AVAILABLE = $(BIN)/python -c "import os, socket; \
	os.environ.get('FORMSENGINE_TEST_DATABASE_URL') \
	or socket.create_connection(('127.0.0.1', 5432), timeout=0.5)"

.PHONY: setup run test test-fast test-postgres bench lint audit clean lock translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 'setuptools>=80' wheel

# The dependencies come from requirements.lock (exact versions, checked against their
# hashes), so a new release of any of them cannot change what is installed; formsengine and
# its plugins are then installed from this working copy without resolving anything again.
# pip's and the build backend's chatter goes to a log, shown only when the install fails.
$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock $(wildcard plugins/*/pyproject.toml)
	@echo "installing formsengine and its plugins into $(VENV) (log: $(VENV)/install.log)"
	@{ $(BIN)/python -m pip install --quiet 'setuptools>=80' wheel \
	  && $(BIN)/pip install --quiet --require-hashes -r requirements.lock \
	  && $(BIN)/pip install --quiet --no-deps --no-build-isolation -e . \
	       $(foreach p,$(PLUGINS),-e $(p)) \
	  && $(BIN)/pip check; } > $(VENV)/install.log 2>&1 \
	  || { cat $(VENV)/install.log; exit 1; }
	@touch $@

# Refresh requirements.lock from the ranges in pyproject.toml (then run make test).
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra all --extra test --generate-hashes \
	  --python-version 3.11 --universal --quiet -o requirements.lock

# The application's own text in Welsh: extract the marked strings (babel.cfg), bring the
# catalogue up to date with them, then compile it. The compiled .mo is kept in the
# repository (tests/web/test_welsh.py checks it matches the .po); write the new msgstr
# in formsengine/web/translations/cy/LC_MESSAGES/messages.po before compiling.
TRANSLATIONS := formsengine/web/translations
translations: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l -o $(TRANSLATIONS)/messages.pot --no-location -w 100 \
	  --omit-header --sort-output .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l cy \
	  --no-fuzzy-matching --ignore-obsolete -w 100
	$(BIN)/pybabel compile -d $(TRANSLATIONS) -l cy --statistics

# npm runs only when the front-end packages change (the GOV.UK Frontend copy the application
# serves is kept in the repository; node_modules holds axe-core for the browser tests).
node_modules/.installed: package.json package-lock.json
	scripts/build-assets
	@touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/formsengine db init
	@if [ "$(DEMO)" = "1" ]; then $(BIN)/formsengine demo; fi
	$(BIN)/formsengine serve --host $(HOST) --port $(PORT)

test: setup node_modules/.installed
	@if [ -x scripts/setup-browser ]; then scripts/setup-browser; fi
	FORMSENGINE_TEST_BACKEND=sqlite $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)
	@if $(PG_AVAILABLE) 2>/dev/null; then $(MAKE) --no-print-directory test-postgres; \
	else echo "no PostgreSQL server: the PostgreSQL pass was not run" \
	  "(set FORMSENGINE_TEST_DATABASE_URL, or run .ci/run)"; fi

# the store, import, export, analysis and web (not browser) tests on PostgreSQL
test-postgres: setup
	FORMSENGINE_TEST_BACKEND=postgres $(BIN)/python -m pytest -n 2 -m "not browser" \
	  $(PG_TESTS) $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/python -m pytest -n 2 -m "not browser" $(PYTEST_ARGS)

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

# mypy checks formsengine and each plugin's package (settings: [tool.mypy] in pyproject.toml)
lint: setup
	$(BIN)/ruff check formsengine plugins tests benchmarks conftest.py
	$(BIN)/mypy
	$(BIN)/bandit -q -r formsengine $(foreach p,$(PLUGINS),$(p)formsengine_*) -ll

audit: setup
	$(BIN)/pip-audit --progress-spinner off

clean:
	rm -rf $(VENV) .pytest_cache build dist
