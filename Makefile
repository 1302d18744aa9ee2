# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements/dev.txt
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)

.PHONY: run test test-fast lint lock bench cluster-drill simulate clean

# Install exactly what the lock file pins (with hashes), then the project itself.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

## Serve the demo co-op at http://127.0.0.1:5000 (SQLite, demo data, local fake Stripe).
run: $(STAMP)
	FLASK_DEBUG=1 $(BIN)/python -m bench.devserver

## Lint, type-check and run the whole test suite.
test: $(STAMP) lint
	@bash .ci/ensure-chromium.sh
	$(BIN)/pytest

## The inner loop: lint, types, and every test but the servers, browsers and demo loads.
test-fast: $(STAMP) lint
	$(BIN)/pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy market catalog allocation bench tests

## Regenerate the lock files after changing the dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes --universal \
		--python-version 3.11 -q -o requirements/dev.txt
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --universal \
		--python-version 3.11 -q -o requirements/app.txt

## Every benchmark, one line per measure last (FULL=1: the full sizes).
bench: $(STAMP)
	$(BIN)/python -m bench.all $(if $(FULL),--full,)

## The production shape on this machine, driven and broken on purpose (see README: Deploy).
MINUTES ?= 3
cluster-drill: $(STAMP)
	@command -v haproxy >/dev/null && command -v pgbouncer >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy pgbouncer >/dev/null)
	$(BIN)/python -m bench.drill --minutes $(MINUTES)

## A simulated co-op on a travelling clock (the real schedule, the in-memory Stripe double);
## SEED: any (default: random, printed); DATABASE: a PostgreSQL URL (default: a SQLite file).
MEMBERS ?= 1000
simulate: $(STAMP)
	$(BIN)/python -m bench.simulate --months $(or $(MONTHS),12) --members $(MEMBERS) \
		$(if $(SEED),--seed $(SEED),) $(if $(DATABASE),--database $(DATABASE),)

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
