"""The SQLite store itself at fault (issue 31): a damaged `mlflow.db` is one line naming it and the way
out for `registry list` and `train`; commands started together on a new store take turns creating it."""

from __future__ import annotations

import subprocess
import sys

import mlflow
import pytest
import yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

from lstmops.cli.main import app

pytestmark = pytest.mark.faults
runner = CliRunner()


def test_a_damaged_store_is_one_line_naming_it_and_the_way_out(place, instant_task):
    MlflowClient().search_experiments()  # the store exists and works
    place.store.write_bytes(b"not a database " * 4096)  # garbage over every page
    params_file = place.root / "params.yaml"
    params_file.write_text(yaml.safe_dump(place.params.model_dump(mode="json")))

    listed = runner.invoke(app, ["registry", "list"])
    trained = runner.invoke(app, ["train", "forecaster", "--params", str(params_file)])

    for done in (listed, trained):
        assert done.exit_code == 1 and isinstance(done.exception, SystemExit), done.output
        [line] = [text for text in done.output.splitlines() if text.startswith("ERROR")]
        assert line == (
            f"ERROR: MLflow store sqlite:///{place.store} is damaged (file is not a database): restore {place.store} "
            "from a backup, or point MLFLOW_TRACKING_URI at another store"
        )
        assert "Traceback" not in done.output
    assert not (place.root / "data" / "unlogged").exists()  # refused before training, nothing kept half-done


STARTS_A_TRAINING = """
import sys
from lstmops.experiment.preflight import before_training
from lstmops.tracking.store import configure_tracking

configure_tracking(sys.argv[1])
before_training("forecaster", "forecaster-DEMOA", sys.argv[2])  # the first thing every training does
"""


def test_trainings_started_together_on_a_new_store_take_turns_creating_it(tmp_path):
    uri = f"sqlite:///{tmp_path}/new/mlflow.db"
    command = [sys.executable, "-c", STARTS_A_TRAINING, uri, str(tmp_path / "data")]
    starting = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        outcomes = [(process.wait(timeout=300), process.stderr.read()) for process in starting]
    finally:
        for process in starting:
            process.kill()  # a no-op for those that ended
            process.wait(timeout=30)

    assert [code for code, _ in outcomes] == [0, 0, 0], [err[-2000:] for _, err in outcomes]
    mlflow.set_tracking_uri(uri)
    try:
        assert [e.name for e in MlflowClient().search_experiments()] == ["lstmops-forecaster", "Default"]
    finally:
        mlflow.set_tracking_uri(None)
