# otlp2parquet developer commands. Everything runs inside .venv, created on first use with the
# exact versions in requirements.lock (made by uv from pyproject.toml: `make lock`).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
ARGS   ?=
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test lint typecheck wheel-check bench fuzz soak audit clean install lock smoke docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv itself comes at the version the lock pins (it is in the dev group).
$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		"$$(sed -n 's/^\(uv==[^ ]*\).*/\1/p' $(LOCK))"

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/uv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python --require-hashes $(LOCK)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

## make install: .venv with the locked versions of everything (every extra, test and dev tools)
install: $(STAMP)

## make lock: re-resolve requirements.lock (and the Lambda image's lock) after editing
## pyproject.toml; versions already locked stay unless LOCK_ARGS=--upgrade
LOCK_ARGS ?=
lock: | $(BIN)/uv
	$(BIN)/uv pip compile --quiet pyproject.toml --all-extras --group dev --universal \
		--python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
		-o $(LOCK) $(LOCK_ARGS)
	$(BIN)/uv pip compile --quiet pyproject.toml --extra lambda --extra iceberg --universal \
		--python-version 3.12 --generate-hashes --custom-compile-command "make lock" \
		--constraints $(LOCK) -o deploy/lambda/requirements.lock $(LOCK_ARGS)

## make smoke: the smoke suite against the lowest and the newest versions pyproject.toml allows,
## and against the locked runtime alone (no extras, no pandas); SMOKE="lowest" runs one
SMOKE ?=
smoke: $(STAMP)
	$(BIN)/python scripts/smoke.py $(SMOKE)

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

## make docs: regenerate docs/hooks.md from the hook docstrings in otlp2parquet/hookspecs.py
docs: $(STAMP)
	$(BIN)/python scripts/hook_docs.py

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
	$(BIN)/uv pip install --quiet --python $(BIN)/python atheris || echo "atheris could not be installed"
	if $(BIN)/python -c "import atheris" 2>/dev/null; then \
		$(BIN)/python tests/fuzz_atheris.py -max_total_time=$(FUZZ_SECS) .fuzz-corpus; \
	else \
		echo "atheris unavailable: ran hypothesis only (raise FUZZ_SCALE for more cases)"; \
	fi

## make soak: SOAK_MINUTES of mixed load with storage outages, SIGKILLs, stalled and trickling clients on
## 127.0.0.1; prints records sent/acknowledged/written and RSS over time
SOAK_MINUTES ?= 10
soak: $(STAMP)
	$(BIN)/python tests/soak/soak.py --minutes $(SOAK_MINUTES) --out benchmarks/results/soak.json

## make audit: known vulnerabilities (pip-audit, PyPI advisories) in what `pip install
## otlp2parquet` installs; --strict fails when a package could not be checked at all.
## AUDIT_ALL=1 audits every package in .venv (test and dev tools too).
audit: $(STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python pip-audit
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
	rm -rf $(VENV) .venv-smoke build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .fuzz-corpus
