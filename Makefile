# contactlake — every task a developer or CI runs. `make help` lists them.
# The environment is created on first use from pinned versions (requirements/constraints.txt).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools
STAMP := $(VENV)/.installed
TOOLS_STAMP := $(TOOLS)/.installed
PYTEST_WORKERS ?= 2
export PYTHONDONTWRITEBYTECODE := 1
export MPLBACKEND := Agg

.DEFAULT_GOAL := help
.PHONY: help setup demo test browser check lint typecheck cfn-lint bench serve package package-smoke deploy clean

help: ## list the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# Not --quiet: a first install takes minutes, and a silent terminal looks like a hang.
$(STAMP): pyproject.toml requirements/constraints.txt
	@echo "contactlake: installing the pinned dependencies into $(VENV)/ (first run only, a few minutes) ..."
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install -c requirements/constraints.txt -e ".[dev]"
	@touch $@

$(TOOLS_STAMP): requirements/tools-constraints.txt
	@test -d $(TOOLS) || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade "pip>=24"
	$(TOOLS)/bin/python -m pip install --quiet -c requirements/tools-constraints.txt checkov
	@touch $@

setup: $(STAMP) ## create the virtual environment (automatic for the other tasks)

demo: $(STAMP) ## run the whole pipeline on the shipped sample data (local lake in ./data)
	$(BIN)/contactlake demo

test: $(STAMP) $(TOOLS_STAMP) browser ## run the full test suite
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

browser: ## headless Chromium (Debian's package) for the report rendering test; installed when missing
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing chromium for tests/functional/report/test_browser_render.py"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check shared functions tests bench infra

typecheck: $(STAMP)
	$(BIN)/mypy shared/contactlake functions bench infra

cfn-lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml

check: lint typecheck cfn-lint test ## the one gate: ruff, mypy, cfn-lint and the tests

bench: $(STAMP) ## measure ingest and KPI speed/memory against baselines (a few minutes)
	$(BIN)/python -m bench

serve: $(STAMP) ## serve the REST API on http://127.0.0.1:8000 over the local lake
	$(BIN)/contactlake serve

package: $(STAMP) ## build the Lambda artifacts offline into build/ and report their sizes
	PYTHON=$(BIN)/python bash infra/package.sh

package-smoke: $(STAMP) ## package, then import every handler against the trimmed layers (needs python3.12)
	PYTHON=$(BIN)/python bash infra/package.sh --smoke-test

deploy: package ## deploy to AWS with SAM (needs credentials; ENV=dev|prod)
	bash infra/deploy.sh $(or $(ENV),dev)

clean: ## remove the local lake, build outputs and caches (keeps the environments)
	rm -rf data build .pytest_cache .mypy_cache .ruff_cache
