# Two commands for a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
DEV := DEBUG=true
HOST ?= 127.0.0.1
PORT ?= 8000
# Two processes on two cores; override with PYTEST_WORKERS=0 to run in one process.
PYTEST_WORKERS ?= 2

.PHONY: install run test test-browser lint format bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip 2>&1 | { grep -v '^WARNING: Location' || true; }
	$(PY) -m pip install --quiet -r requirements-dev.txt 2>&1 | { grep -v '^WARNING: Location' || true; }
	$(PY) -m pip check
	touch $@

install: $(BIN)/.installed

run: install
	$(DEV) $(PY) manage.py migrate --noinput
	$(DEV) $(PY) manage.py seed_demo
	@echo "Open http://localhost:$(PORT)/ (embedded mode: SQLite, eager Celery, codes and emails in var/outbox)"
	$(DEV) $(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-browser: install
	$(BIN)/pytest -m browser $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(DEV) $(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var/test test-artifacts staticfiles
