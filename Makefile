# Two commands: `make run` (the platform, locally) and `make test` (everything CI checks).
# Both create .venv and install what they need on first use: `make run` only the runtime and the local
# stack (pyproject's `local` extra), everything else the `dev` extra (local + tests, template gate,
# linters) in one pip run. The `dev` extra includes `local`, so it satisfies `make run` too.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCAL_STAMP := $(VENV)/.installed-local
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test install lint typecheck check unit integration e2e openapi bench clean

$(LOCAL_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e ".[local]"
	touch $(LOCAL_STAMP)

# The widget's browser test drives Debian's chromium (apt, as root) through Playwright's Python client;
# Playwright never downloads a browser here.
$(DEV_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/pip install --quiet -e ".[dev]"
	touch $(LOCAL_STAMP) $(DEV_STAMP)

install: $(DEV_STAMP)

run: $(LOCAL_STAMP)
	$(BIN)/cmp dev

test: install lint typecheck check
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check shared dev functions tests bench
	$(BIN)/ruff format --check shared dev functions tests bench

typecheck: install
	$(BIN)/mypy
	for handler in functions/*/app.py; do $(BIN)/mypy "$$handler" || exit 1; done

check: install
	$(BIN)/cmp check

unit: install
	$(BIN)/pytest -m unit

integration: install
	$(BIN)/pytest -m integration

e2e: install
	$(BIN)/pytest -m e2e

openapi: install
	$(BIN)/cmp openapi -o openapi.json

bench: install
	$(BIN)/python bench/runner_overhead.py
	$(BIN)/python bench/search_bench.py
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/import_bench.py

clean:
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache
