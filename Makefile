# The two commands a newcomer needs: `make run` and `make test`. Both create .venv if it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
INSTALLED_DEV := $(VENV)/.installed-dev
# The torch backend's CPU-only wheel (`torch==X+cpu`) is not on PyPI: PyTorch publishes it on its own index.
# Only the tests need torch (`make run` trains on JAX); a machine with the wheel at hand can point this elsewhere.
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu

# No machine here reaches the internet: keep every tool's telemetry off.
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export MLFLOW_DISABLE_TELEMETRY := true
# TensorFlow's C++ notices (graph-version and oneDNN lines) are not errors a user can act on.
export TF_CPP_MIN_LOG_LEVEL := 3
# Prefect's temporary local server needs more than the default 20 s to start on a busy 2-core box.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120

.PHONY: run test lint test-all bench dvc-repro clean-data lock ui prefect-ui

# The main job's packages only, from PyPI alone.
$(INSTALLED): pyproject.toml constraints.txt
	@echo "Installing lstmops and what the main job needs into $(VENV) (first time: a few minutes)..."
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $@

# The tests' packages on top: pytest, ruff, the team profile's drivers and the torch backend (its CPU wheel
# from TORCH_INDEX_URL, unless this machine's pip already finds it).
$(INSTALLED_DEV): $(INSTALLED)
	@echo "Installing the test tools and the torch backend into $(VENV)..."
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]' \
		|| $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]' --extra-index-url $(TORCH_INDEX_URL) \
		|| { echo "make test needs PyTorch's CPU wheel (torch, the third Keras backend): set TORCH_INDEX_URL to an index that has it"; exit 1; }
	touch $@

run: $(INSTALLED)  ## the main job, offline: the Prefect `retrain` flow on the demo data (VERBOSE=1: every log line)
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python flows/retrain.py $(if $(VERBOSE),--verbose)

# Test files spread over parallel processes (pytest-xdist); a file's tests stay together, so a module's
# servers and trained models start once. One process more than cores: many tests wait on servers and
# subprocesses, and the spare process keeps the cores busy meanwhile. TEST_WORKERS=0: all in one process.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

test: $(INSTALLED_DEV) lint  ## ruff, then the test suite: everything but the `slow` marker
	$(BIN)/python -m pytest -m "not slow" -n $(TEST_WORKERS) --dist loadfile

lint: $(INSTALLED_DEV)  ## ruff lint and format check (`ruff format .` fixes the format)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-all: $(INSTALLED_DEV)  ## including slow tests (real training runs)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: $(INSTALLED_DEV)
	$(BIN)/python -m bench

dvc-repro: $(INSTALLED)
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/dvc repro

ui: $(INSTALLED)  ## MLflow's UI on what `make run` logged: http://127.0.0.1:5000 (Ctrl-C stops it)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db --host 127.0.0.1 --port 5000

prefect-ui: $(INSTALLED)  ## Prefect's UI on the local Prefect database: http://127.0.0.1:4200 (Ctrl-C stops it)
	$(BIN)/prefect server start --host 127.0.0.1 --port 4200

lock: $(INSTALLED_DEV)  ## refresh constraints.txt after changing pins in pyproject.toml
	$(BIN)/python -m pip freeze --exclude-editable > constraints.txt
