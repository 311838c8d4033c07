# Taxoloop developer commands. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000
CATALOG ?=
DATASET ?=
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install demo demo-load test check bench simulate test-tools clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## create .venv and install Taxoloop with its pinned CPU torch

test-tools: ## install chromium and docker-compose from Debian for the tests (root or sudo)
	bash scripts/install-test-tools.sh

demo: install ## migrate, load the sample (CATALOG=file.csv or DATASET=fashion), start web, worker and beat
	bash scripts/demo.sh "$(CATALOG)" "$(DATASET)" "$(DEMO_HOST)" "$(DEMO_PORT)"

demo-load: install ## the demo's data loading only, without starting servers
	TAXOLOOP_DEMO_NO_SERVE=1 bash scripts/demo.sh "$(CATALOG)" "$(DATASET)" "$(DEMO_HOST)" "$(DEMO_PORT)"

test: install test-tools ## run the whole test suite (PostgreSQL/Redis/Celery integration tests need DATABASE_URL=postgres://…)
	$(PY) -m pytest $(PYTEST_ARGS)

check: install ## lint, types, import contracts, migrations and OpenAPI schema
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) scripts/check_import_cycles.py
	$(VENV)/bin/mypy
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DEBUG=1 $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

bench: install ## benchmarks: print throughput and latency figures
	bash scripts/bench.sh

simulate: install ## active-learning simulator on ../shared/data/fashion (ARGS="..." to change options)
	$(PY) -m classifier.simulate ../shared/data/fashion/items.csv --title-col productDisplayName \
	  --label-col category_path $(ARGS)

clean: ## remove the virtualenv and local state under var/
	rm -rf $(VENV) var
