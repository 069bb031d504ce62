"""Every supported Keras backend, in the normal test run.

This process runs on one backend (`KERAS_BACKEND`, else lstmops' default); Keras cannot switch in a
running process, so each other supported backend gets a subprocess:

- the task contract (tests/test_task_contract.py) runs again there, whole;
- models cross over: each task's tiny model trained here is served there through its MLflow pyfunc,
  and one trained there is loaded and scored here, with the same predictions (to float32 round-off:
  the backends' kernels sum in different orders).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import keras  # after lstmops, which conftest.py imports first
import mlflow
import numpy as np
import pandas as pd
import pytest

from lstmops import DEFAULT_KERAS_BACKEND, SUPPORTED_BACKENDS
from lstmops.serving import log_bundle_model
from lstmops.tasks import get_task, task_names
from lstmops.train.common import device_report, set_seed

TESTS = Path(__file__).resolve().parent
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


def test_lstmops_chooses_the_default_backend_unless_keras_backend_says_otherwise():
    assert DEFAULT_KERAS_BACKEND in SUPPORTED_BACKENDS
    assert THIS_BACKEND == os.environ.get("KERAS_BACKEND", DEFAULT_KERAS_BACKEND)


def test_the_device_report_names_this_backend_its_version_and_what_determinism_it_promises():
    report = device_report()

    assert report["backend"] == THIS_BACKEND and report["device"] in ("cpu", "gpu")
    assert report["backend_version"] != "unknown" and report["determinism"] != "unknown"


def seeded_draws() -> list[float]:
    """What a training draws after seeding: Python's and NumPy's generators, an unseeded keras.random call
    (the global SeedGenerator) and a new layer's initial weights."""
    layer = keras.layers.Dense(3)
    layer.build((None, 2))
    keras_draws = [keras.random.normal((2,)), layer.kernel]
    return [
        random.random(),
        np.random.rand(),
        *np.concatenate([keras.ops.convert_to_numpy(x).ravel() for x in keras_draws]),
    ]


def test_set_seed_seeds_everything_keras_set_random_seed_seeds():
    set_seed(5)
    ours = seeded_draws()
    keras.utils.set_random_seed(5)
    theirs = seeded_draws()
    set_seed(6)
    other_seed = seeded_draws()

    assert ours == theirs
    assert other_seed != theirs


def test_seeding_a_jax_training_neither_imports_tensorflow_nor_prints_its_start_up_lines():
    code = (
        "import sys, lstmops, keras\n"
        "from lstmops.train.common import set_seed\n"
        "set_seed(1)\n"
        "print(keras.backend.backend(), 'tensorflow' in sys.modules)"
    )
    done = run_on("jax", [sys.executable, "-c", code], cwd=TESTS.parent)

    assert done.stdout.split() == ["jax", "False"]
    assert done.stderr == ""


def test_a_seeded_rerun_trains_bitwise_the_same_weights():
    def train_once():
        set_seed(3)
        model = keras.Sequential([keras.Input((6, 2)), keras.layers.LSTM(4), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        x = keras.random.normal((32, 6, 2), seed=1)
        model.fit(x, keras.ops.sum(x, axis=(1, 2))[:, None], epochs=2, batch_size=8, verbose=0)
        return [keras.ops.convert_to_numpy(w) for w in model.weights]

    first, second = train_once(), train_once()

    assert all((a == b).all() for a, b in zip(first, second))


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_the_task_contract_holds_on_the_other_backend(backend, tmp_path):
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
            str(TESTS / "test_task_contract.py"),
        ],
        cwd=TESTS.parent,
    )


@pytest.fixture(scope="module")
def trained_here(mlflow_store, tiny_params, demo_series, tmp_path_factory):
    """Per task: (params overrides, demo series, predictions, pyfunc uri) of a tiny model trained on this backend."""
    root = tmp_path_factory.mktemp("data")
    trained = {}
    for name in task_names():
        task = get_task(name)
        overrides = {"data.root": str(root), **task.tiny_overrides, "train.verbose": 0, "train.epochs": 1}
        params = tiny_params(root, name, **{"train.epochs": 1})
        demo = demo_series(params, task.data_kind)
        model = task.train(demo.prepared, params)
        with mlflow.start_run():
            uri = log_bundle_model(model).model_uri
        trained[name] = (overrides, demo, model.predict_raw(demo.raw), uri)
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
    assert json.loads((out / "report.json").read_text())["backend"] == backend
    for name, (_, demo, here, _) in trained_here.items():
        # trained here, served there through the MLflow pyfunc
        served = pd.read_parquet(out / name / "served.parquet")
        pd.testing.assert_frame_equal(served, here, check_dtype=False, **TOLERANCE)
        # trained there, loaded and scored here
        there = get_task(name).trained_class().load(out / name / "model")
        assert there.device["backend"] == backend
        pd.testing.assert_frame_equal(
            there.predict_raw(demo.raw), pd.read_parquet(out / name / "own.parquet"), check_dtype=False, **TOLERANCE
        )
