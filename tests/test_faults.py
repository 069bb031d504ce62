"""Fault injection (issue 15): each case breaks something on purpose and checks the message, the exit
code, and that nothing downstream changed (the validated data's hash and the registry's aliases).

Trainings here use a numpy stand-in task (persistence, scored as if it halved its error: tests/fixtures/fakes.py)
so that they take milliseconds; the training timeout is shown on the real forecaster.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import psutil
import pytest
import yaml
from fakes import StepForecaster
from mlflow import MlflowClient
from typer.testing import CliRunner

from lstmops import tasks
from lstmops.cli.main import app
from lstmops.common import user_errors
from lstmops.experiment.preflight import TrackingStoreError, before_training
from lstmops.experiment.runner import ModelNotLogged, gate, run_experiment
from lstmops.tasks.contract import LazyTask
from lstmops.tracking.runs import HOST_TAG, PID_TAG
from lstmops.tracking.store import configure_tracking, ensure_experiment

pytestmark = pytest.mark.faults
runner = CliRunner()
MODEL = "forecaster-DEMOA"


# ---------------------------------------------------------------- a stand-in task that trains in milliseconds


TRAININGS: list[str] = []  # one entry per stand-in training: a refused store must leave it unchanged


def train_shrunk(prepared, params) -> StepForecaster:
    TRAININGS.append(prepared.series)
    return StepForecaster(0.0)


TASK = LazyTask(
    name="forecaster",
    data_kind="prices",
    trainer=f"{__name__}:train_shrunk",
    evaluator="fakes:halved_persistence_error",
    trained="fakes:StepForecaster",
)


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setitem(tasks.REGISTRY, "forecaster", __name__)
    TRAININGS.clear()


# ---------------------------------------------------------------- a private store, data, and what must not change


@dataclass
class World:
    root: Path
    store: Path  # the SQLite file
    params: Any
    prepared: Any

    def state(self) -> tuple[str, dict[str, str]]:
        """sha256 over data/validated, and the registry's aliases: what no fault may change."""
        digest = hashlib.sha256()
        validated = Path(self.params.data.root) / "validated"
        for path in sorted(validated.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(validated).as_posix().encode() + path.read_bytes())
        aliases = {}
        if self.store.exists():
            client = MlflowClient()
            for model in client.search_registered_models():
                aliases[model.name] = {a: str(v) for a, v in client.get_registered_model(model.name).aliases.items()}
        return digest.hexdigest(), aliases


@pytest.fixture
def world(tmp_path, monkeypatch, tiny_params, demo_series) -> World:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "mlruns" / "mlflow.db"
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(variable, f"sqlite:///{store}")
    monkeypatch.delenv("LSTMOPS_DEBUG", raising=False)
    configure_tracking()
    params = tiny_params(tmp_path / "data", "forecaster")
    yield World(tmp_path, store, params, demo_series(params, "prices").prepared)
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def _champion(world: World) -> str:
    outcome = run_experiment("forecaster", world.prepared, world.params)
    return gate(outcome, world.prepared, world.params).version


# ---------------------------------------------------------------- the tracking store, before training


def test_an_unreachable_tracking_server_is_one_line_before_any_training(world, stand_in, monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://alice:S3cretPW@127.0.0.1:{port}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    before = world.state()

    with pytest.raises(TrackingStoreError, match=f"http://alice:\\*\\*\\*@127.0.0.1:{port} is not reachable"):
        configure_tracking()
        run_experiment("forecaster", world.prepared, world.params)
    listed = runner.invoke(app, ["registry", "list"])

    assert TRAININGS == []
    assert listed.exit_code == 1 and "S3cretPW" not in listed.output
    assert (
        listed.output.startswith("ERROR: MLflow tracking server http://alice:***@") and "Traceback" not in listed.output
    )
    configure_tracking(f"sqlite:///{world.store}")
    assert world.state() == before


def test_a_server_that_never_answers_is_reported_after_one_request_timeout(world, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")  # the preflight waits at most this (and at most 10 s)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{silent.getsockname()[1]}")

        listed = runner.invoke(app, ["registry", "list"])

    assert listed.exit_code == 1
    assert "is not reachable (no answer within 1 s)" in listed.output


def _lstmops(world: World, *args: str) -> subprocess.CompletedProcess:
    """`lstmops ARGS --params <the world's params>` as a new process (it opens the store afresh)."""
    params_file = world.root / "params.yaml"
    params_file.write_text(yaml.safe_dump(world.params.model_dump(mode="json")))
    command = [sys.executable, "-m", "lstmops.cli", *args, "--params", str(params_file)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=world.root)


def test_a_store_that_lost_its_registry_is_refused_not_restarted_at_version_one(world, stand_in):
    assert _champion(world) == "1"
    world.store.unlink()  # the store is deleted; MLflow would silently create an empty one at the next use
    before_data = world.state()[0]

    refused = _lstmops(world, "train", "forecaster", "--set", "train.epochs=1")

    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.startswith(
        f"ERROR: MLflow store sqlite:///{world.store} has lost version 1 of registered model {MODEL}"
    )
    assert "stores.json" in refused.stderr and "Traceback" not in refused.stderr
    assert not world.store.exists() and world.state()[0] == before_data  # no empty store made in its place


def test_a_new_store_with_nothing_recorded_for_it_is_accepted(world, stand_in):
    _champion(world)

    configure_tracking(f"sqlite:///{world.root}/other/mlflow.db")  # another store: the record names none of it
    assert _champion(world) == "1"


# ---------------------------------------------------------------- logging fails after training


def test_a_store_that_fails_after_training_keeps_the_model_and_log_saved_logs_it(world, stand_in, monkeypatch):
    artifacts = world.store.parent / "artifacts" / "lstmops-forecaster"

    train = train_shrunk

    def train_then_break_the_artifact_store(prepared, params):
        trained = train(prepared, params)
        shutil.rmtree(artifacts, ignore_errors=True)
        artifacts.parent.mkdir(parents=True, exist_ok=True)
        artifacts.write_text("not a folder")  # every artifact write now fails
        return trained

    monkeypatch.setattr(f"{__name__}.train_shrunk", train_then_break_the_artifact_store)
    before = world.state()

    with pytest.raises(ModelNotLogged, match="trained, but logging it to MLflow failed") as failed:
        run_experiment("forecaster", world.prepared, world.params)

    kept = Path(str(failed.value).rsplit("lstmops log-saved ", 1)[1].rstrip("`"))
    assert (kept / "bundle" / "state.json").exists() and kept.parent == Path(world.params.data.root) / "unlogged"
    (run,) = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert run.info.status == "FAILED"
    assert world.state() == before

    artifacts.unlink()  # the store works again
    logged = runner.invoke(app, ["log-saved", str(kept)])

    assert logged.exit_code == 0, logged.output
    assert f"{MODEL} v1 PROMOTED to @champion" in logged.output
    assert not kept.exists() and world.state()[1] == {MODEL: {"champion": "1"}}


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (errno.ENOSPC, "the MLflow store cannot be written, its disk is full: free space there"),
        (errno.EROFS, "the MLflow store cannot be written, it is read-only: make it writable"),
    ],
)
def test_a_full_or_read_only_store_after_training_names_the_cause_and_keeps_the_model(
    world, stand_in, monkeypatch, code, says
):
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    def refuse(self, *args, **kwargs):
        raise OSError(code, os.strerror(code))

    for method in ("log_artifact", "log_artifacts"):  # what a full or read-only artifact folder answers
        monkeypatch.setattr(LocalArtifactRepository, method, refuse)
    before = world.state()

    with pytest.raises(ModelNotLogged) as failed:
        run_experiment("forecaster", world.prepared, world.params)

    line = user_errors.message(failed.value)
    assert "\n" not in line and line.startswith("ERROR: forecaster DEMOA: trained, but logging it to MLflow failed (")
    assert f"OSError: [Errno {code}] {os.strerror(code)}: {says}" in line, line
    kept = Path(line.rsplit("lstmops log-saved ", 1)[1].rstrip("`"))
    assert (kept / "bundle" / "state.json").exists() and kept.parent == Path(world.params.data.root) / "unlogged"
    (run,) = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert run.info.status == "FAILED"
    assert world.state() == before


def test_a_full_disk_under_both_store_and_data_says_nothing_was_kept(world, stand_in, monkeypatch):
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    from lstmops.experiment import unlogged

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(LocalArtifactRepository, "log_artifacts", full)
    monkeypatch.setattr(unlogged, "keep", full)

    with pytest.raises(ModelNotLogged) as failed:
        run_experiment("forecaster", world.prepared, world.params)

    line = user_errors.message(failed.value)
    assert "and keeping it on disk failed too (OSError: [Errno 28]" in line
    assert "the data folder cannot be written, its disk is full" in line and line.endswith(
        "train again once there is room"
    )
    (run,) = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert run.info.status == "FAILED"


# ---------------------------------------------------------------- runs left RUNNING by a killed process


def test_runs_left_running_by_a_process_that_is_gone_are_ended_killed_at_the_next_start(world):
    client = MlflowClient()
    experiment = ensure_experiment("forecaster")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    here = socket.gethostname()
    orphan = client.create_run(experiment, tags={HOST_TAG: here, PID_TAG: str(gone.pid)}).info.run_id
    alive = client.create_run(experiment, tags={HOST_TAG: here, PID_TAG: str(os.getpid())}).info.run_id
    elsewhere = client.create_run(experiment, tags={HOST_TAG: "another-host", PID_TAG: str(gone.pid)}).info.run_id

    before_training("forecaster", MODEL, world.params.data.root)

    assert client.get_run(orphan).info.status == "KILLED"
    assert "process was gone" in client.get_run(orphan).data.tags["lstmops.ended"]
    assert client.get_run(alive).info.status == "RUNNING"  # a training of this very process
    assert client.get_run(elsewhere).info.status == "RUNNING"  # its host is not ours to judge


# ---------------------------------------------------------------- names: filter strings and lock files


def test_a_model_named_with_an_apostrophe_does_not_break_the_registry_list(world):
    MlflowClient().create_registered_model("forecaster-O'Reilly")

    listed = runner.invoke(app, ["registry", "list"])

    assert listed.exit_code == 0, listed.output
    assert "forecaster-O'Reilly" in listed.output


def test_a_rollback_of_a_path_like_name_creates_no_file_outside_the_lock_folder(world):
    before = world.state()

    refused = runner.invoke(app, ["registry", "rollback", "../../x"])

    assert refused.exit_code == 1
    assert "'../../x' is not a registered model name" in refused.output and "Traceback" not in refused.output
    assert not list(world.root.parent.glob("**/x.lock")) and not (world.root / "x.lock").exists()
    assert world.state() == before


# ---------------------------------------------------------------- --debug


def test_a_user_error_is_one_line_and_debug_shows_the_traceback(world, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # the discard port: nothing answers

    quiet = runner.invoke(app, ["registry", "list"])
    debug = runner.invoke(app, ["--debug", "registry", "list"])
    monkeypatch.setenv("LSTMOPS_DEBUG", "1")
    by_variable = runner.invoke(app, ["registry", "list"])

    assert quiet.exit_code == 1 and len(quiet.output.strip().splitlines()) == 1
    assert isinstance(quiet.exception, SystemExit)
    assert isinstance(debug.exception, TrackingStoreError) and isinstance(by_variable.exception, TrackingStoreError)


def test_a_backend_that_is_not_installed_is_named_in_one_line(monkeypatch):
    from lstmops.common.user_errors import message

    monkeypatch.setenv("KERAS_BACKEND", "torch")
    missing = ModuleNotFoundError("No module named 'torch'", name="torch")

    assert message(missing).startswith("ERROR: KERAS_BACKEND=torch but torch is not installed here")
    assert message(ModuleNotFoundError("No module named 'yaml'", name="yaml")) is None  # a bug: keeps its traceback


# ---------------------------------------------------------------- a training past its timeout


def test_a_hung_training_is_killed_at_its_timeout_and_its_run_ends_failed(world, monkeypatch):
    """A training that never returns (tests/fixtures/hung_task.py), in the child process the timeout kills."""
    from lstmops.experiment.isolated import TrainingTimedOut, run_experiment_within

    monkeypatch.syspath_prepend(str(Path(__file__).parent / "fixtures"))  # the child imports the task by name
    monkeypatch.setitem(tasks.REGISTRY, "forecaster", "hung_task")
    before = world.state()

    with pytest.raises(TrainingTimedOut, match="forecaster DEMOA: training stopped after 6 s, its training_timeout_s"):
        run_experiment_within(6, "forecaster", world.prepared, world.params, tracking_uri=f"sqlite:///{world.store}")

    hung = int((Path(world.params.data.root) / "hung-training-started").read_text())
    assert not psutil.pid_exists(hung)  # the training's process is gone, not left running
    (run,) = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert run.info.status == "FAILED"
    assert (
        run.data.tags["lstmops.ended"]
        == f"FAILED: process {hung} on {socket.gethostname()}: stopped after 6 s (training_timeout_s)"
    )
    assert world.state() == before
