# The two commands a newcomer needs: `make run` and `make test`. Both create .venv if it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# No machine here reaches the internet: keep every tool's telemetry off.
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export MLFLOW_DISABLE_TELEMETRY := true
# TensorFlow's C++ notices (graph-version and oneDNN lines) are not errors a user can act on.
export TF_CPP_MIN_LOG_LEVEL := 3
# Prefect's temporary local server needs more than the default 20 s to start on a busy 2-core box.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120

.PHONY: run test lint test-all bench dvc-repro clean-data lock

$(INSTALLED): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

run: $(INSTALLED)  ## the main job, offline: the Prefect `retrain` flow on the demo data (VERBOSE=1: every log line)
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python flows/retrain.py $(if $(VERBOSE),--verbose)

test: $(INSTALLED) lint  ## ruff, then the test suite: everything but the `slow` marker
	$(BIN)/python -m pytest -m "not slow"

lint: $(INSTALLED)  ## ruff lint and format check (`ruff format .` fixes the format)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-all: $(INSTALLED)  ## including slow tests (real training runs)
	$(BIN)/python -m pytest

bench: $(INSTALLED)
	$(BIN)/python bench/run.py

dvc-repro: $(INSTALLED)
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/dvc repro

lock: $(INSTALLED)  ## refresh constraints.txt after changing pins in pyproject.toml
	$(BIN)/python -m pip freeze --exclude-editable > constraints.txt
