# formsengine: two commands set everything up on a fresh machine.
#   make run    set up, create the database (demo data with DEMO=1) and serve on 127.0.0.1
#   make test   set up (browser included) and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGINS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: setup run test test-fast bench lint audit clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 'setuptools>=80' wheel

$(VENV)/.installed: $(BIN)/python pyproject.toml $(wildcard plugins/*/pyproject.toml)
	$(BIN)/python -m pip install --quiet 'setuptools>=80' wheel
	$(BIN)/pip install --quiet -e '.[test]' $(foreach p,$(PLUGINS),-e $(p))
	touch $@

setup: $(VENV)/.installed
	@if [ -x scripts/build-assets ]; then scripts/build-assets; fi

run: setup
	$(BIN)/formsengine db init
	@if [ "$(DEMO)" = "1" ]; then $(BIN)/formsengine demo; fi
	$(BIN)/formsengine serve --host $(HOST) --port $(PORT)

test: setup
	@if [ -x scripts/setup-browser ]; then scripts/setup-browser; fi
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/python -m pytest -n 2 -m "not browser" $(PYTEST_ARGS)

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

lint: setup
	$(BIN)/ruff check formsengine plugins tests benchmarks
	$(BIN)/bandit -q -r formsengine $(foreach p,$(PLUGINS),$(p)formsengine_*) -ll

audit: setup
	$(BIN)/pip-audit --progress-spinner off

clean:
	rm -rf $(VENV) .pytest_cache build dist
