"""Tracking: where runs go, and that one logged run carries everything a reviewer needs."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from fakes import StepForecaster
from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

from lstmops.config import load_params
from lstmops.data import ingest, prepare
from lstmops.evaluate.report import Evaluation
from lstmops.tracking.lineage import git_state, lineage_tags, params_hash, run_params
from lstmops.tracking.runs import log_training_run
from lstmops.tracking.store import artifact_location, configure_tracking, experiment_name


@pytest.fixture(scope="module")
def params(tmp_path_factory):
    return load_params(
        overrides={
            "data.root": str(tmp_path_factory.mktemp("data")),
            "prices.tickers": ["DEMOA"],
            "prices.demo.n_days": 200,
        }
    )


@pytest.fixture(scope="module")
def prepared(params):
    ingest.validate_all(ingest.snapshot_prices(params, source="demo"), params)
    (series,) = prepare.prepare_all(params, "prices", "demo")
    return series


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A private MLflow store; MLflow's process-wide URIs are reset afterwards."""
    uri = f"sqlite:///{tmp_path}/mlflow/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # recorded, so the environment is restored too
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    configure_tracking(uri)
    yield uri
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def evaluation_with_one_plot() -> Evaluation:
    figure, axes = plt.subplots()
    axes.plot([1, 2, 3])
    predictions = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=3), "predicted_close": [1.0, 2.0, 3.0]})
    return Evaluation(
        metrics={"mae": 0.8, "mae_persistence": 1.0, "mase": 0.8},
        primary_metric="mae",
        baseline_metric="mae_persistence",
        higher_is_better=False,
        figures={"forecast.png": figure},
        tables={"predictions.csv": predictions},
    )


def test_the_default_store_is_sqlite_under_mlruns_of_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")  # unset for configure_tracking, restored afterwards
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "")

    uri = configure_tracking()

    assert uri == f"sqlite:///{tmp_path.resolve()}/mlruns/mlflow.db"
    assert (tmp_path / "mlruns").is_dir()
    assert mlflow.get_tracking_uri() == uri and mlflow.get_registry_uri() == uri
    assert (
        artifact_location("lstmops-forecaster", uri)
        == (tmp_path / "mlruns/artifacts/lstmops-forecaster").resolve().as_uri()
    )


def test_mlflow_tracking_uri_overrides_the_default_and_the_registry_follows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///team/store.db")  # relative to the working directory
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "")

    elsewhere = configure_tracking()

    assert elsewhere == f"sqlite:///{tmp_path.resolve()}/team/store.db"
    assert mlflow.get_registry_uri() == elsewhere
    assert (tmp_path / "team").is_dir() and not (tmp_path / "mlruns").exists()
    assert artifact_location("x", "http://mlflow.internal:5000") is None  # a server picks its own store


def test_a_run_records_params_curves_metrics_with_baselines_lineage_and_artifacts(store, prepared, params):
    trained = StepForecaster(
        math.log(1.01),  # a drift of 1% a day
        history={"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.7, 0.75]},
        device={"backend": "tensorflow", "device": "cpu", "gpus": []},
    )
    evaluation = evaluation_with_one_plot()
    figure = evaluation.figures["forecast.png"]

    logged = log_training_run(trained, evaluation, prepared, params, run_name="unit", tags={"trigger": "test"})

    client = mlflow.MlflowClient()
    run = client.get_run(logged.run_id)
    experiment = client.get_experiment(logged.experiment_id)
    assert experiment.name == experiment_name("forecaster") == "lstmops-forecaster"
    store_folder = Path(store.removeprefix("sqlite:///")).parent
    assert experiment.artifact_location == (store_folder / "artifacts" / "lstmops-forecaster").as_uri()
    assert run.info.run_name == "unit" and logged.model_uri.startswith("models:/m-")
    assert mlflow.get_logged_model(logged.model_uri.removeprefix("models:/")).source_run_id == logged.run_id

    logged_params = run.data.params
    assert logged_params["windows.prices.window"] == str(params.windows.prices.window)
    assert logged_params["windows.split.train"] == str(params.windows.split.train)
    assert logged_params["train.seed"] == str(params.train.seed)
    assert logged_params["models.forecaster.units"] == json.dumps(params.models.forecaster.units)
    assert logged_params["prices.source"] == "demo" and logged_params["data.series"] == "DEMOA"
    assert not any(key.startswith("models.autoencoder") for key in logged_params)

    val_loss = client.get_metric_history(logged.run_id, "epoch/val_loss")
    assert [(point.step, point.value) for point in val_loss] == [(0, 1.0), (1, 0.7), (2, 0.75)]
    assert run.data.metrics["mae"] == 0.8 and run.data.metrics["mae_persistence"] == 1.0
    assert run.data.metrics["epochs_trained"] == 3

    tags = run.data.tags
    assert tags["kind"] == "forecaster" and tags["series"] == "DEMOA" and tags["trigger"] == "test"
    assert tags["data.sha256"] == prepared.card["sha256"]
    assert tags["data.raw_snapshot"] == prepared.card["raw_snapshot"]
    assert tags["data.validation.success"] == "true"
    assert tags["params.hash"] == params_hash(params)
    assert tags["version.mlflow"] == mlflow.__version__ and tags["version.tensorflow"] != "not installed"
    assert tags["device.backend"] == "tensorflow" and tags["git.commit"]

    artifacts = Path(mlflow.artifacts.download_artifacts(run_id=logged.run_id))
    assert (artifacts / "plots/forecast.png").read_bytes().startswith(b"\x89PNG")
    table = pd.read_csv(artifacts / "tables/predictions.csv")
    assert table["predicted_close"].tolist() == [1.0, 2.0, 3.0]
    assert (
        yaml.safe_load((artifacts / "config/params.yaml").read_text())["windows"]["prices"]["window"]
        == params.windows.prices.window
    )
    assert json.loads((artifacts / "data/card.json").read_text())["sha256"] == prepared.card["sha256"]
    assert not plt.fignum_exists(figure.number), "figures are closed once logged"


def test_lineage_names_the_data_and_a_config_change_changes_the_params_hash(prepared, params):
    tags = lineage_tags(prepared, params)
    changed = params.model_copy(update={"train": params.train.model_copy(update={"epochs": 3})})

    assert tags["data.sha256"] == prepared.card["sha256"] and tags["data.kind"] == "prices"
    assert len(tags["params.hash"]) == 64
    assert params_hash(changed) != params_hash(params)


def test_git_state_reads_the_commit_and_dirty_flag_and_is_unknown_outside_git(tmp_path, monkeypatch):
    monkeypatch.delenv("LSTMOPS_GIT_COMMIT", raising=False)
    assert git_state(tmp_path) == {"git.commit": "unknown", "git.dirty": "unknown"}
    monkeypatch.setenv("LSTMOPS_GIT_COMMIT", "0123abcd")  # what an image built with GIT_COMMIT carries
    assert git_state(tmp_path) == {"git.commit": "0123abcd", "git.dirty": "unknown"}
    monkeypatch.delenv("LSTMOPS_GIT_COMMIT")

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", "code.py")
    git("commit", "-q", "-m", "one")
    assert git_state(tmp_path) == {"git.commit": git("rev-parse", "HEAD"), "git.dirty": "false"}
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_state(tmp_path)["git.dirty"] == "true"


def test_overlong_parameter_values_are_cut_to_mlflows_limit(prepared, params):
    many = params.model_copy(
        update={"prices": params.prices.model_copy(update={"tickers": [f"T{i:05d}" for i in range(2000)]})}
    )

    value = run_params(prepared, many, "forecaster")["prices.tickers"]
    assert len(value) == MAX_PARAM_VAL_LENGTH and value.endswith("...")
    assert np.isclose(
        float(run_params(prepared, params, "forecaster")["models.forecaster.dropout"]), params.models.forecaster.dropout
    )


@pytest.mark.faults
def test_a_password_in_the_tracking_uri_is_never_shown():
    from lstmops.common.masking import masked

    assert masked("http://alice:S3cretPW@mlflow.internal:5000") == "http://alice:***@mlflow.internal:5000"
    assert masked("https://bob:pw@host/path") == "https://bob:***@host/path"
    assert masked("sqlite:////srv/mlruns/mlflow.db") == "sqlite:////srv/mlruns/mlflow.db"
    assert masked("http://mlflow:5000") == "http://mlflow:5000"
