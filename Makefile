# Developer commands. Every target bootstraps uv first, as the README's quick start does.
UV := python3 -m uv
BOOTSTRAP := python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --user -q uv
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.DEFAULT_GOAL := help
.PHONY: help run test test-pg check fmt

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

run: ## Serve the API on 127.0.0.1:8000 (SQLite under ./var, migrations applied)
	@$(BOOTSTRAP)
	$(UV) run crm serve

test: ## Run the tests on SQLite
	@$(BOOTSTRAP)
	$(UV) run pytest

test-pg: ## Run the tests on PostgreSQL (PG_TEST_URL; a fresh database per run)
	@$(BOOTSTRAP)
	CRM_TEST_DATABASE_URL=$(PG_TEST_URL) $(UV) run pytest

check: ## Lint, format check, types, import layers, migrations drift
	@$(BOOTSTRAP)
	$(UV) run ruff check
	$(UV) run ruff format --check
	$(UV) run mypy
	$(UV) run lint-imports
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  export CRM_DATABASE_URL="sqlite:///$$tmp/check.sqlite3" CRM_DATA_DIR="$$tmp" && \
	  $(UV) run alembic upgrade head >/dev/null && $(UV) run alembic check

fmt: ## Format the code and apply safe lint fixes
	@$(BOOTSTRAP)
	$(UV) run ruff format
	$(UV) run ruff check --fix
