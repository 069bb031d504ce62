"""`lstmops register <task>`: the runs a `--no-register` training logged (what a DVC train stage does)
go through the same champion/challenger gate as `lstmops train`; nothing moves @champion without passing it.

The forecaster is the instant stand-in (tests/fixtures/instant_task.py): the gate, not the model, is under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
import yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

from lstmops import tasks
from lstmops.cli.main import app
from lstmops.tracking.store import configure_tracking

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures"
MODEL = "forecaster-DEMOA"


@pytest.fixture
def project(tmp_path, monkeypatch, tiny_params, demo_series) -> Path:
    """A working directory with params.yaml, validated demo prices and its own MLflow store; the instant forecaster."""
    monkeypatch.syspath_prepend(str(FIXTURES))
    monkeypatch.setitem(tasks.REGISTRY, "forecaster", "instant_task")
    monkeypatch.chdir(tmp_path)
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(variable, f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    monkeypatch.delenv("LSTMOPS_DEBUG", raising=False)
    configure_tracking()
    params = tiny_params(tmp_path / "data", "forecaster", **{"prices.tickers": ["DEMOA"]})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params.model_dump(mode="json")))
    demo_series(params, "prices")
    yield tmp_path
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def _train_unregistered(metrics: str) -> str:
    """What `train@forecaster` runs: train, evaluate, log, no registry; the run id from its metrics file."""
    done = runner.invoke(app, ["train", "forecaster", "--source", "demo", "--no-register", "--metrics-out", metrics])
    assert done.exit_code == 0, done.output
    return json.loads(Path(metrics).read_text())["DEMOA"]["mlflow_run_id"]


def _written(folder: Path) -> dict[Path, int]:
    """Each file's last write time: a file written again, even with the same bytes, would change DVC's view."""
    return {path: path.stat().st_mtime_ns for path in folder.rglob("*") if path.is_file()}


def _aliases() -> dict[str, str]:
    return {alias: str(version) for alias, version in MlflowClient().get_registered_model(MODEL).aliases.items()}


def test_a_logged_run_registers_through_the_gate_and_a_challenger_that_does_not_pass_leaves_the_champion(project):
    first = _train_unregistered("eval/forecaster/metrics.json")  # the DVC stage's path: register's default
    assert MlflowClient().search_registered_models() == []  # --no-register: nothing registered yet

    features = _written(Path("data/features"))
    promoted = runner.invoke(app, ["register", "forecaster"])

    assert promoted.exit_code == 0, promoted.output
    assert f"{MODEL} v1 PROMOTED to @champion" in promoted.output
    assert _aliases() == {"champion": "1"}
    assert MlflowClient().get_model_version(MODEL, "1").run_id == first
    # data/features/ is a DVC output: registering reads it as the run prepared it, and writes nothing there.
    assert _written(Path("data/features")) == features

    # A second training of the same model is no significant improvement: it faces the gate and loses.
    second = _train_unregistered("eval/second.json")
    rejected = runner.invoke(app, ["register", "forecaster", "--metrics", "eval/second.json"])

    assert rejected.exit_code == 0, rejected.output
    assert f"{MODEL} v2 REJECTED" in rejected.output
    assert _aliases() == {"champion": "1"}
    assert MlflowClient().get_model_version(MODEL, "2").run_id == second

    again = runner.invoke(app, ["register", "forecaster"])  # the gate judged that run already
    assert again.exit_code == 1
    assert f"ERROR: run {first} is already {MODEL} v1: the gate judged it then" in again.output
    assert _aliases() == {"champion": "1"}


def test_register_refuses_a_missing_metrics_file_an_unknown_series_and_data_changed_since_training(project):
    missing = runner.invoke(app, ["register", "forecaster"])
    assert missing.exit_code == 1
    assert missing.output.strip() == (
        "ERROR: eval/forecaster/metrics.json: no such metrics file; train first (`dvc repro`) or pass --metrics"
    )

    run_id = _train_unregistered("eval/forecaster/metrics.json")
    unknown = runner.invoke(app, ["register", "forecaster", "--series", "DEMOZ"])
    assert unknown.exit_code == 1
    assert "ERROR: DEMOZ not among the series of eval/forecaster/metrics.json (DEMOA)" in unknown.output

    params = yaml.safe_load(Path("params.yaml").read_text())
    params["prices"]["demo"]["seed"] += 1  # new data: the run can no longer be judged on what it trained on
    Path("params.yaml").write_text(yaml.safe_dump(params))
    assert runner.invoke(app, ["ingest", "prices", "--source", "demo"]).exit_code == 0
    changed = runner.invoke(app, ["register", "forecaster"])

    assert changed.exit_code == 1
    [line] = [text for text in changed.output.splitlines() if text.startswith("ERROR")]
    assert line.startswith(f"ERROR: run {run_id} (forecaster DEMOA) trained on validated data with sha256 ")
    assert line.endswith("run `dvc repro` (or `lstmops train`) again")
    assert MlflowClient().search_registered_models() == []
