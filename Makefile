# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint bench-alloc clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

## Serve the demo co-op at http://127.0.0.1:5000 (SQLite, demo data, local fake Stripe).
run: $(STAMP)
	FLASK_DEBUG=1 $(BIN)/python -m bench.devserver

## Lint, type-check and run the whole test suite.
test: $(STAMP)
	@bash .ci/ensure-chromium.sh
	$(BIN)/ruff check .
	$(BIN)/mypy market allocation bench
	$(BIN)/pytest

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
