# Hadron: two commands on a fresh machine.
#   make run   create .venv, install, start the server (ARGS="--port 9443" to pass options)
#   make test  install, run the checks (format, lint, types, import contracts) and the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
JSDIR  := tests/js
JSSTAMP := $(JSDIR)/node_modules/.installed-stamp
ARGS   ?=

.PHONY: run test check pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(JSSTAMP): $(JSDIR)/package.json
	cd $(JSDIR) && npm install --no-audit --no-fund --loglevel=error
	touch $(JSSTAMP)

run: $(STAMP)
	$(BIN)/hadron serve $(ARGS)

check: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(STAMP) $(JSSTAMP)
	$(BIN)/pytest

test: check pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(JSDIR)/node_modules .mypy_cache .ruff_cache
