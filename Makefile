# Two commands on a fresh machine: `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# command:debian-package pairs the tests need, installed when the command is missing
# (node and npm: the SDK package tests run npm ci, esbuild, Vite and tsc; sdk_app's lockfile)
SYSTEM_DEPS := redis-server:redis-server chromium:chromium node:nodejs npm:npm
# what the benchmarks drive (bench/): the load generator, and Redis for the team row
BENCH_DEPS := wrk:wrk redis-server:redis-server

.PHONY: run test lint format system-deps clean bench bench-proxy soak fuzz

# `make run` installs the mock alone (the base install: quick on a fresh machine); `make test`
# and the tools add the `dev` extra (schemathesis, mypy, playwright...) on top.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/mockplatform serve $(ARGS)

system-deps:
	./scripts/install-system-deps $(SYSTEM_DEPS)

# Two processes taking tests as they free up (worksteal: 158 s for the suite, against 185 s
# handing out whole files); each process starts its own servers, Redis and browser on free
# ports, so the split changes no outcome. The one real-time test (-m realtime, the seed's
# 60 s) runs beside the rest.
test: lint system-deps
	$(BIN)/pytest -n 2 --dist worksteal

# Figures, not tests: speed vs a bare endpoint, cold start, memory (README "Performance").
bench: $(STAMP)
	./scripts/install-system-deps $(BENCH_DEPS)
	$(BIN)/python -m bench $(ARGS)

# What `mockplatform proxy` adds to a request, against the mock direct (README "The validation proxy").
bench-proxy: $(STAMP)
	./scripts/install-system-deps $(BENCH_DEPS)
	$(BIN)/python -m bench.proxy $(ARGS)

soak: $(STAMP)
	./scripts/install-system-deps $(BENCH_DEPS)
	$(BIN)/python -m bench.soak $(ARGS)

fuzz: $(DEV_STAMP)
	$(BIN)/python -m bench.fuzz $(ARGS)

# ruff, then mypy over src/ and import-linter's contracts (pyproject.toml: the layers
# ARCHITECTURE.md describes).
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache reports
