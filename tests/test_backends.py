"""Every supported Keras backend, in the normal test run.

This process runs on one backend (`KERAS_BACKEND`, else lstmops' default); Keras cannot switch in a
running process, so each other supported backend gets a subprocess:

- the backend's own promises (tests/test_this_backend.py: default choice, device report, seeding,
  bitwise reruns) run again there, whole;
- each task's half of the contract that touches the backend runs there once (tests/backend_worker.py):
  train, save and load back, predict its own input example, evaluate in gate mode; the rest of
  tests/test_task_contract.py (data kinds, refusals) is backend-free and runs here only;
- models cross over: each task's tiny model trained here is served there through its MLflow pyfunc,
  and the one trained there is loaded and scored here, with the same predictions (to float32
  round-off: the backends' kernels sum in different orders).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras  # after lstmops, which conftest.py imports first
import mlflow
import pandas as pd
import pytest

from lstmops import SUPPORTED_BACKENDS
from lstmops.tasks import get_task, task_names
from lstmops.tracking.pyfunc import log_bundle_model

TESTS = Path(__file__).resolve().parent
pytestmark = pytest.mark.integration  # the other backends run in subprocesses

THIS_BACKEND = keras.backend.backend()
OTHER_BACKENDS = [name for name in SUPPORTED_BACKENDS if name != THIS_BACKEND]
# float32 predictions of the same weights on two backends: equal to round-off, not bitwise
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


def run_on(backend: str, command: list[str], *, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": backend}
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, (
        f"on {backend}: {' '.join(command)}\n{(completed.stdout + completed.stderr)[-4000:]}"
    )
    return completed


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_seeding_a_jax_or_torch_training_neither_imports_tensorflow_nor_prints_its_start_up_lines(backend):
    code = (
        "import sys, lstmops, keras\n"
        "from lstmops.train.common import set_seed\n"
        "set_seed(1)\n"
        "print(keras.backend.backend(), 'tensorflow' in sys.modules)"
    )
    done = run_on(backend, [sys.executable, "-c", code], cwd=TESTS.parent)

    assert done.stdout.split() == [backend, "False"]
    assert done.stderr == ""


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_the_backend_promises_hold_on_the_other_backend(backend, tmp_path):
    run_on(
        backend,
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(tmp_path / "pytest"),
            str(TESTS / "test_this_backend.py"),
        ],
        cwd=TESTS.parent,
    )


@pytest.fixture(scope="module")
def trained_here(mlflow_store, tiny_model):
    """Per task: (params overrides, demo series, predictions, pyfunc uri) of a tiny model trained on this backend."""
    trained = {}
    for name in task_names():
        model = tiny_model(name)
        with mlflow.start_run():
            uri = log_bundle_model(model.trained).model_uri
        trained[name] = (model.overrides, model.demo, model.trained.predict_raw(model.demo.raw), uri)
    return trained


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_models_trained_on_one_backend_score_the_same_on_the_other(backend, trained_here, mlflow_store, tmp_path):
    job = {
        "out": str(tmp_path / backend),
        "tasks": {
            name: {"overrides": overrides, "validated": str(demo.validated), "model_uri": uri}
            for name, (overrides, demo, _, uri) in trained_here.items()
        },
    }
    (tmp_path / "job.json").write_text(json.dumps(job))

    run_on(
        backend, [sys.executable, str(TESTS / "backend_worker.py"), str(tmp_path / "job.json")], cwd=mlflow_store.root
    )

    out = tmp_path / backend
    report = json.loads((out / "report.json").read_text())
    assert report["backend"] == backend
    for name, (_, demo, here, _) in trained_here.items():
        # the contract's backend half, there: saved and loaded back, its input example predicted, evaluated
        contract = report["tasks"][name]
        pd.testing.assert_frame_equal(
            pd.read_parquet(out / name / "reloaded.parquet"), pd.read_parquet(out / name / "own.parquet")
        )
        assert contract["input_example_rows"] > 0
        assert {contract["primary_metric"], contract["baseline_metric"]} <= set(contract["metrics"])
        assert contract["gate_figures"] == 0
        # trained here, served there through the MLflow pyfunc
        served = pd.read_parquet(out / name / "served.parquet")
        pd.testing.assert_frame_equal(served, here, check_dtype=False, **TOLERANCE)
        # trained there, loaded and scored here
        there = get_task(name).trained_class().load(out / name / "model")
        assert there.device["backend"] == backend
        pd.testing.assert_frame_equal(
            there.predict_raw(demo.raw), pd.read_parquet(out / name / "own.parquet"), check_dtype=False, **TOLERANCE
        )
