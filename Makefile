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
	$(BIN)/ruff check otlp2parquet plugins tests benchmarks scripts
	$(BIN)/ruff format --check otlp2parquet plugins tests benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy

wheel-check: $(STAMP)
	$(BIN)/python -m pytest tests/test_packaging.py -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

## make fuzz: hypothesis fuzzing at FUZZ_SCALE x the CI cases (random seeds), then atheris
## (coverage-guided) for FUZZ_SECS seconds; atheris is installed here only
FUZZ_SCALE ?= 20
FUZZ_SECS  ?= 600
fuzz: $(STAMP)
	FUZZ_EXAMPLES_SCALE=$(FUZZ_SCALE) FUZZ_RANDOM=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py
	$(BIN)/python -m pip install --quiet atheris || echo "atheris could not be installed"
	if $(BIN)/python -c "import atheris" 2>/dev/null; then \
		$(BIN)/python tests/fuzz_atheris.py -max_total_time=$(FUZZ_SECS) .fuzz-corpus; \
	else \
		echo "atheris unavailable: ran hypothesis only (raise FUZZ_SCALE for more cases)"; \
	fi

## make soak: SOAK_MINUTES of mixed load with storage outages, SIGKILLs and stalled clients on
## 127.0.0.1; prints records sent/acknowledged/written and RSS over time
SOAK_MINUTES ?= 10
soak: $(STAMP)
	$(BIN)/python tests/soak/soak.py --minutes $(SOAK_MINUTES) --out benchmarks/results/soak.json

## make audit: known vulnerabilities (pip-audit, PyPI advisories) in what `pip install
## otlp2parquet` installs; --strict fails when a package could not be checked at all.
## AUDIT_ALL=1 audits every package in .venv (test and dev tools too).
audit: $(STAMP)
	$(BIN)/python -m pip install --quiet pip-audit
	if [ -n "$(AUDIT_ALL)" ]; then \
		$(BIN)/pip-audit --skip-editable --strict --progress-spinner off $(AUDIT_ARGS); \
	else \
		$(BIN)/python scripts/runtime_requirements.py > $(VENV)/runtime-requirements.txt && \
		$(BIN)/pip-audit -r $(VENV)/runtime-requirements.txt --no-deps --disable-pip --strict \
			--progress-spinner off $(AUDIT_ARGS); \
	fi || { echo "make audit: pip-audit failed. If it says a package was 'not found on PyPI'," \
		"it could not fetch that release's vulnerability data: run make audit on a machine" \
		"that reaches PyPI's JSON API (or use AUDIT_ARGS='-s osv' where OSV is reachable)." >&2; \
		exit 1; }

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .fuzz-corpus
