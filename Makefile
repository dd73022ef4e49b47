# immunoport — make help lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export TEST_POSTGRES_URL

.DEFAULT_GOAL := help
.PHONY: help install run test test-sqlite test-postgres lint check browser bench models clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED) ## create the virtualenv and install immunoport with its test tools

run: install ## migrate, load lookups and the demo studies, serve on http://127.0.0.1:8000 with the worker
	$(BIN)/immunoport migrate --noinput
	$(BIN)/immunoport load-lookups
	$(BIN)/immunoport demo
	$(BIN)/immunoport serve --host 127.0.0.1 --port 8000

test: install browser lint check test-sqlite test-postgres ## everything the tests need, then the whole suite on SQLite and PostgreSQL

test-sqlite: install ## the suite on SQLite
	$(BIN)/pytest

test-postgres: install ## the suite on PostgreSQL at TEST_POSTGRES_URL (required when CI=true)
	@if scripts/postgres-ready "$(BIN)/python"; then \
		DATABASE_URL="$(TEST_POSTGRES_URL)" $(BIN)/pytest; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is required under CI=true and does not answer at $(TEST_POSTGRES_URL)"; exit 1; \
	else \
		echo "PostgreSQL does not answer at $(TEST_POSTGRES_URL): suite not run on PostgreSQL"; \
	fi

lint: install ## ruff (lint and format) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

check: install ## migrations and generated models are up to date
	$(BIN)/immunoport makemigrations --check --dry-run
	$(BIN)/python scripts/generate_models.py --check

browser: ## install Debian's Chromium for the browser tests when it is missing
	@scripts/ensure-chromium

bench: install ## run the benchmarks and print their figures
	@for bench in bench/*; do [ -x "$$bench" ] && { echo "== $$bench"; "$$bench" || exit 1; }; done

models: install ## regenerate the ImmPort models from the packaged data model
	$(BIN)/python scripts/generate_models.py

clean: ## remove the virtualenv and ./var (database and files)
	rm -rf $(VENV) var
