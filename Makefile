# otlp2parquet developer commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: run test lint typecheck wheel-check bench fuzz soak audit clean install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: start the OTLP/HTTP server on :4318, writing Parquet under ./data
run: $(STAMP)
	$(BIN)/otlp2parquet --config config.toml serve $(ARGS)

## make test: install what tests need and run the whole suite
test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check otlp2parquet plugins tests benchmarks
	$(BIN)/ruff format --check otlp2parquet plugins tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

wheel-check: $(STAMP)
	$(BIN)/python -m pytest tests/test_packaging.py -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

audit: $(STAMP)
	$(BIN)/python -m pip install --quiet pip-audit
	$(BIN)/pip-audit --skip-editable

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
