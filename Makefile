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

.PHONY: install run test test-browser lint format bench load faults clean scan

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

# The suite with the card-data scanner watching logs, pages, messages, files and the
# database (tests/carddata_plugin.py), then the seeded-demo scan (.ci/scan-card-data).
scan: install
	CARD_DATA_SCAN_DIR=$(CURDIR)/var/card-scan $(BIN)/pytest -n $(PYTEST_WORKERS) -m "not browser" $(PYTEST_ARGS)
	.ci/scan-card-data $(SCAN_DATABASE_URL)

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

# The load test and fault scripts need the local PostgreSQL and Redis (docs/performance.md).
$(BIN)/.load-installed: requirements-load.txt $(BIN)/.installed
	$(PY) -m pip install --quiet -r requirements-load.txt 2>&1 | { grep -v '^WARNING: Location' || true; }
	$(PY) -m pip check
	touch $@

load: $(BIN)/.load-installed
	bash load/run.sh

faults: $(BIN)/.load-installed
	bash load/faults/run_all.sh

clean:
	rm -rf $(VENV) var/test test-artifacts staticfiles
