"""Shared test setup.

Import order matters on this stack: importing TensorFlow, then `dvc.api`, then Prefect inside one
pytest session closes pytest's captured stderr (INTERNALERROR "I/O operation on closed file").
Importing Prefect (and dvc.api) first avoids it, so they are imported here, before any test module.

Fixtures shared by several test folders: a private MLflow store and the stand-in of a training
outcome for registry tests; tiny params and prepared demo series for model tests.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# As the Makefile's: a temporary Prefect server needs more than Prefect's 20 s to start on a busy 2-core box.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
# Flows started without a test harness (scripts, the CLI) use a temporary Prefect server on PREFECT_HOME's
# database: one home per test process keeps the user's Prefect history out of the tests, and parallel
# test workers (pytest-xdist) from locking each other's database. Set before Prefect is imported.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="lstmops-tests-prefect-")
atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)

# isort: off
import lstmops  # noqa: E402,F401  chooses the Keras backend (KERAS_BACKEND, else its default) before any test imports Keras
import dvc.api  # noqa: E402,F401
import prefect.main  # noqa: E402,F401

# isort: on
import pytest  # noqa: E402

if TYPE_CHECKING:  # imported by the fixtures that need them: TensorFlow and friends load late (see above)
    import pandas as pd

    from lstmops.config import Params
    from lstmops.data.prepare import PreparedSeries
    from lstmops.tasks.contract import Trained


# ---------------------------------------------------------------- MLflow and the registry gate


@dataclass(frozen=True)
class MlflowStore:
    root: Path  # also the working directory while the store is in use: relative paths (data/, mlruns/) land here
    uri: str  # sqlite:///<root>/mlflow.db, for tracking and registry alike


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory) -> Iterator[MlflowStore]:
    """A private SQLite tracking/registry store for one test module, in a fresh folder that is the working directory.

    MLFLOW_TRACKING_URI and MLFLOW_REGISTRY_URI name it too (the CLI and subprocesses read them). The
    environment, the directory and MLflow's process-wide URIs are restored after, so later test modules
    never write into this store.
    """
    import mlflow

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/mlflow.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            patch.setenv(variable, uri)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        try:
            yield MlflowStore(root, uri)
        finally:
            mlflow.set_tracking_uri(None)
            mlflow.set_registry_uri(None)


@dataclass
class GateOutcome:
    """The fields of experiment.ExperimentOutcome that the registry gate reads."""

    kind: str
    series: str
    run_id: str
    model_uri: str


@pytest.fixture(scope="session")
def gate_outcome() -> type[GateOutcome]:
    """`gate_outcome(kind, series, run_id, model_uri)`: a run the test logged itself, as `register_and_gate` takes it."""
    return GateOutcome


# ---------------------------------------------------------------- tiny params and demo data for model tests


@dataclass
class DemoSeries:
    validated: Path  # the validated file of the series
    raw: pd.DataFrame  # its canonical raw rows, as predict_raw takes them
    prepared: PreparedSeries  # features, chronological split and train-only scaler


def _tiny_params(root: Path, model_kind: str, **overrides: Any) -> Params:
    """Each task's own tiny settings (small demo data, a small model); each test module adds the window
    and training it relies on."""
    from lstmops.config import load_params
    from lstmops.tasks import get_task

    tiny = get_task(model_kind).tiny_overrides
    return load_params(overrides={"data.root": str(root), **tiny, "train.verbose": 0, **overrides})


def _demo_series(params: Params, data_kind: str) -> DemoSeries:
    from lstmops.data import ingest, prepare

    validated = ingest.validate_all(ingest.snapshot(data_kind, params, source="demo"), params)[0].validated_path
    return DemoSeries(validated, ingest.load_validated(validated)[0], prepare.prepare_series(validated, params))


@pytest.fixture(scope="session")
def tiny_params() -> Callable[..., Params]:
    """`tiny_params(data_root, model_kind, **overrides)`: params.yaml with small demo data, a small model
    and quiet training, data kept under `data_root`; dotted-key overrides on top."""
    return _tiny_params


@pytest.fixture(scope="session")
def demo_series() -> Callable[..., DemoSeries]:
    """`demo_series(params, "prices" | "sensors")`: the first demo series of that kind snapshotted,
    validated and prepared as the pipeline does it (DemoSeries: validated file, raw rows, prepared)."""
    return _demo_series


@dataclass
class TinyModel:
    overrides: dict[str, Any]  # the dotted overrides on top of params.yaml that give `params`
    params: Params
    demo: DemoSeries
    trained: Trained  # shared by every test of the session: use it, never change it


TINY_MODEL_TRAINING = {"train.epochs": 1}


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Callable[[str], TinyModel]:
    """`tiny_model(task_name)`: that task's tiny demo model, trained for one epoch once per test session.

    For tests that need "a trained model" of a task, not a particular training: each task's network
    compiles and trains once, however many test modules use it.
    """
    from lstmops.tasks import get_task

    trained: dict[str, TinyModel] = {}

    def tiny(task_name: str) -> TinyModel:
        if task_name not in trained:
            task = get_task(task_name)
            root = tmp_path_factory.mktemp(f"tiny-{task_name}")
            params = _tiny_params(root, task_name, **TINY_MODEL_TRAINING)
            demo = _demo_series(params, task.data_kind)
            overrides = {"data.root": str(root), **task.tiny_overrides, "train.verbose": 0, **TINY_MODEL_TRAINING}
            trained[task_name] = TinyModel(overrides, params, demo, task.train(demo.prepared, params))
        return trained[task_name]

    return tiny
