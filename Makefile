# Qinglang — install, run, test. Everything installs into .venv/ and node_modules/.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
QL := $(VENV)/bin/qinglang
UV_VERSION := 0.13.8
HOST ?= 127.0.0.1
PORT ?= 8000
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test lint format migrate seed serve worker clean e2e-deps

install: $(VENV)/.installed node_modules/.installed

# Bytecode is compiled at install (and the project's own before each test run): where
# PYTHONDONTWRITEBYTECODE is set, every process would otherwise compile every module it
# imports from source, about 2 s for each process a test starts.
$(VENV)/.installed: pyproject.toml uv.lock Makefile
	@test -x $(PY) || python3 -m venv $(VENV)
	@test -x $(VENV)/bin/pip || $(PY) -m ensurepip >/dev/null
	@test -x $(VENV)/bin/uv || $(PY) -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"
	$(VENV)/bin/uv sync --frozen --inexact --quiet --compile-bytecode
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

migrate: install
	QINGLANG_DEMO=true $(QL) migrate --noinput -v0

# Installs, migrates SQLite, loads the district demo (once), starts a Huey worker and the
# web server, and prints the URL and the demo logins.
run: migrate
	QINGLANG_DEMO=true $(QL) seed-demo --scale district --if-empty
	QINGLANG_DEMO=true $(QL) collectstatic --noinput -v0
	@QINGLANG_DEMO=true $(QL) demo_logins --url http://$(HOST):$(PORT)/
	@QINGLANG_DEMO=true $(QL) worker > var/worker.log 2>&1 & echo $$! > var/worker.pid; \
	trap 'kill $$(cat var/worker.pid) 2>/dev/null' EXIT INT TERM; \
	QINGLANG_DEMO=true $(QL) serve --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Installs, lints, checks migrations are complete, runs the whole suite (browser tests
# included when Debian's chromium is installed: see .ci/run) on TEST_WORKERS parallel
# workers (pytest-xdist, one per core; TEST_WORKERS=0 runs it in one process). Each
# worker has its own test database, Redis database and media directory
# (docs/development/test-suite.md). Tests marked with one xdist_group (a module sharing one
# demo seed) run on one worker (--dist loadgroup); the others are shared out one by one.
# Bytecode writing is on for the run, so that pytest keeps the test modules it rewrites
# (for its assertion messages) instead of each worker parsing and rewriting every one.
TEST_WORKERS ?= 2
test: lint
	$(PY) -m compileall -q -j 0 qinglang >/dev/null
	QINGLANG_TESTING=true $(QL) makemigrations --check --dry-run -v1
	PYTHONDONTWRITEBYTECODE= $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules var
