# Two commands do all the set-up on a fresh machine with only Python 3.11:
#   make demo   - create .venv from the hash-pinned lock, train on the bundled example, verify it
#   make test   - the same set-up plus the test extras, then the lint checks and the whole suite
#   make lint   - the four checks alone: ruff check, ruff format --check, mypy, lint-imports
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
DVC_VENV ?= .venv-dvc
PIP := $(BIN)/python -m pip --disable-pip-version-check --no-input
STORE ?= runs
# pytest-xdist workers; CI machines have 2 cores
TEST_WORKERS ?= 2

.PHONY: demo test lint venv venv-test browser lock bench clean

# The stamp files re-run an install only when its lock changed.
$(VENV)/.runtime.stamp: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --require-hashes --no-deps -r requirements.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.test.stamp: $(VENV)/.runtime.stamp requirements-test.lock
	$(PIP) install --require-hashes --no-deps -r requirements-test.lock
	touch $@

venv: $(VENV)/.runtime.stamp

# PyTorch (CPU) for the torch tests; kept out of `make demo`
$(VENV)/.torch.stamp: $(VENV)/.test.stamp requirements-torch.lock
	$(PIP) install --require-hashes --no-deps -r requirements-torch.lock
	touch $@

# DVC for the pipeline example's test, in a virtual environment of its own: its many
# dependencies need not agree with our pins
$(DVC_VENV)/.stamp: requirements-dvc.lock
	$(PYTHON) -m venv $(DVC_VENV)
	$(DVC_VENV)/bin/python -m pip --disable-pip-version-check --no-input install --require-hashes --no-deps -r requirements-dvc.lock
	touch $@

venv-test: $(VENV)/.test.stamp $(VENV)/.torch.stamp $(DVC_VENV)/.stamp browser

# Headless Chromium and its driver for the browser tests of `report` and `ui` (Debian's packages;
# we run as root). Without apt-get those tests skip, saying why.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif command -v apt-get >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	else echo "no apt-get: the browser tests will skip"; fi

demo: venv
	$(BIN)/trainlock train examples/purchase/config.yaml --store $(STORE)
	@run=$$(ls -1 $(STORE) | grep -E '^[0-9]{8}T[0-9]{6}Z-' | tail -n 1); \
	$(BIN)/trainlock verify $$run --store $(STORE) && \
	echo && echo "The run folder is $(STORE)/$$run. Inspect it with:" && \
	echo "  ls $(STORE)/$$run                     # config snapshot, metrics, model, lineage.json, ..." && \
	echo "  .venv/bin/trainlock runs --store $(STORE)" && \
	echo "  .venv/bin/trainlock reproduce $$run --store $(STORE)   # re-run it and compare" && \
	echo "  .venv/bin/trainlock predict $$run examples/purchase/data.csv --out scored.csv --store $(STORE)"

# Style, types and the import architecture, as configured in pyproject.toml ([tool.ruff],
# [tool.mypy], [tool.importlinter]); the first failure stops make, so CI fails on any of them.
# mypy needs torch installed to check trainlock.torch. lint-imports finds the package by import:
# PYTHONPATH makes that this tree's src/ even where .venv's editable install points elsewhere.
lint: $(VENV)/.test.stamp $(VENV)/.torch.stamp
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy
	PYTHONPATH=src $(BIN)/lint-imports

test: venv-test lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -q

bench: venv-test
	$(BIN)/python benchmarks/run.py

# Regenerate the locks (needs pip-tools; not part of the set-up).
lock:
	pip-compile -q --generate-hashes --no-emit-index-url --no-emit-find-links --no-emit-trusted-host --strip-extras --all-build-deps --allow-unsafe -o requirements.lock pyproject.toml
	pip-compile -q --generate-hashes --no-emit-index-url --no-emit-find-links --no-emit-trusted-host --strip-extras -c requirements.lock --extra test --extra lightgbm --extra xgboost --extra dask --extra sbom --extra report --extra s3 --extra openlineage --extra mlflow -o requirements-test.lock pyproject.toml
	pip-compile -q --generate-hashes --no-emit-index-url --no-emit-find-links --no-emit-trusted-host --strip-extras --allow-unsafe -c requirements.lock -c requirements-test.lock -o requirements-torch.lock requirements-torch.in
	pip-compile -q --generate-hashes --no-emit-index-url --no-emit-find-links --no-emit-trusted-host --strip-extras --allow-unsafe -o requirements-dvc.lock requirements-dvc.in

clean:
	rm -rf $(VENV) $(DVC_VENV) runs .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
