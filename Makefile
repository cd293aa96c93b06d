# The README's commands. Each target installs what it needs into a virtualenv first.
SHELL := /bin/bash
PORT ?= 3000
VENV := .venv
TOOLS_VENV := .venv-tools
BIN := $(VENV)/bin
# Lambda runs python3.12; use it when this machine has it (pyenv or PATH), else python3.
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 python3; do \
            $$p -c 'import sys' >/dev/null 2>&1 && { echo $$p; break; }; done)
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: install run test lint browser openapi bench unit integration e2e concurrency clean

# The installer is uv (pinned; pip puts it in the virtualenv first): it installs the same pinned
# packages as pip would, several times faster. It reads PyPI, or UV_INDEX_URL for a mirror.
UV_VERSION := 0.13.8
UV_INSTALL = $(1)/bin/uv pip install --quiet --python $(1)/bin/python --compile-bytecode

# Running needs only the runtime's packages (about 20 s on a fresh machine, each step announced);
# the test, lint and bench tools come with `make test`.
$(BIN)/.installed-run: requirements-run.txt requirements-run-assets.txt layers/agent_sessions/requirements.txt layers/agent_sessions/pyproject.toml cli/pyproject.toml local/pyproject.toml
	@echo "==> [1/3] creating $(VENV) with $(PYTHON), and the installer (uv) in it"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@echo "==> [2/3] installing the runtime's packages (powertools, pydantic, boto3, moto); about 10 s the first time"
	$(call UV_INSTALL,$(VENV)) -r requirements-run.txt
	$(call UV_INSTALL,$(VENV)) --no-deps -r requirements-run-assets.txt
	@echo "==> [3/3] installing agent-sessions (the layer, the CLI, the local runtime) in editable mode"
	$(call UV_INSTALL,$(VENV)) --no-deps --no-build-isolation -e layers/agent_sessions -e cli -e local
	$(BIN)/python -m compileall -q layers/agent_sessions/agent_sessions functions cli local  # as the layer ships them
	touch $@

$(BIN)/.installed: $(BIN)/.installed-run requirements-dev.txt
	@echo "==> installing the test and lint tools (pytest, hypothesis, ruff, mypy, schemathesis)"
	$(call UV_INSTALL,$(VENV)) -r requirements-dev.txt
	touch $@

$(TOOLS_VENV)/.installed: requirements-lint.txt
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(call UV_INSTALL,$(TOOLS_VENV)) -r requirements-lint.txt
	touch $@

install: $(BIN)/.installed

## make run: install, then serve the API on 127.0.0.1:$(PORT) with an embedded DynamoDB
run: $(BIN)/.installed-run
	$(BIN)/agent-sessions local --port $(PORT)

## make lint: ruff, mypy (strict on the layer), the complexity and module-size gates, cfn-lint, sam validate --lint
CODE := layers functions cli local bench
lint: install $(TOOLS_VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(TOOLS_VENV)/bin/xenon --max-absolute B --max-modules A --max-average A $(CODE)
	@find $(CODE) -name '*.py' -print0 | xargs -0 wc -l | \
		awk '$$2 != "total" && $$1 > 400 {print "over 400 lines: " $$2 " (" $$1 ")"; bad = 1} END {exit bad}'
	$(TOOLS_VENV)/bin/cfn-lint template.yaml
	$(TOOLS_VENV)/bin/sam validate --lint --template template.yaml

## make test: install, lint, then every test (unit, integration, concurrency, e2e), on two workers
## (each starts its own servers on free ports; TEST_WORKERS=0 runs them in this one process)
TEST_WORKERS ?= 2
test: lint browser
	$(BIN)/pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist worksteal) --durations=15

## make browser: Debian's Chromium and ChromeDriver for the console's browser tests (installed once;
## nothing is downloaded at test time). Needs root or sudo; on another system install them yourself.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	echo "==> installing Debian's chromium and chromium-driver for the console's browser tests"; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null

## make bench: speed and cost figures, each as a ratio to a baseline measured in the same run
## (BENCH_JSON=path also writes them as JSON; BENCH_QUICK=1 is the quick mode the tests run)
bench: install
	$(BIN)/python bench/benchmarks.py

## make openapi: regenerate openapi.json from the handlers (a test fails when it is out of date)
openapi: install
	$(BIN)/agent-sessions openapi

clean:
	rm -rf $(VENV) $(TOOLS_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
