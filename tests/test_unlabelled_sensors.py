"""A user's own sensor CSV without labels, through the CLI: ingest -> train autoencoder -> judged on
injected anomalies, logged, gated, promoted -> scored (issue 29)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

from lstmops.cli.main import app
from lstmops.data.windows import chronological_split

runner = CliRunner()
DAY = 48  # rows per cycle of the pump's signal, half-hourly


@pytest.fixture(scope="module")
def project(mlflow_store, tiny_params):
    """A project folder (the store's, the working directory) with tiny params and an unlabelled pump.csv."""
    rows = 25 * DAY
    steps = np.arange(rows)
    pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=rows, freq="30min").strftime("%Y-%m-%d %H:%M:%S"),
            "value": 10 + 3 * np.sin(2 * np.pi * steps / DAY) + np.random.default_rng(0).normal(0, 0.1, rows),
        }
    ).to_csv(mlflow_store.root / "pump.csv", index=False)
    params = tiny_params(mlflow_store.root / "data", "autoencoder", **{"windows.sensors.window": 16, "train.epochs": 2})
    (mlflow_store.root / "params.yaml").write_text(yaml.safe_dump(params.model_dump(mode="json")))
    return mlflow_store.root, params


def invoke(*command: str) -> str:
    result = runner.invoke(app, list(command))
    assert result.exit_code == 0, result.output
    return result.output


def test_an_unlabelled_csv_is_trained_judged_on_injected_anomalies_promoted_and_scored(project):
    root, params = project
    invoke("ingest", "sensors", "--source", "csv", "--path", "pump.csv")
    trained = invoke("train", "autoencoder", "--set", "sensors.source=csv")

    assert "autoencoder pump: f1_injected" in trained and "vs f1_injected_zscore" in trained
    assert "autoencoder-pump v1 PROMOTED to @champion: first version: f1_injected" in trained
    client = MlflowClient()
    version = client.get_model_version("autoencoder-pump", "1")
    assert (version.tags["gate.metric"], version.tags["gate.significant"]) == ("f1_injected", "true")
    run = client.get_run(version.run_id)
    protocol = params.models.autoencoder.evaluation.injected
    assert run.data.tags["evaluation.judged_on"] == "injected"
    assert run.data.tags["evaluation.labelled_windows"] == "none"
    assert run.data.params["models.autoencoder.evaluation.injected.copies"] == str(protocol.copies)
    assert run.data.params["models.autoencoder.evaluation.injected.magnitude"] == str(protocol.magnitude)
    metrics = run.data.metrics
    assert metrics["injected_events"] == protocol.copies * protocol.events
    assert metrics["f1_injected"] > metrics["f1_injected_zscore"] and "f1" not in metrics

    scored = invoke("score", "autoencoder-pump")
    assert "autoencoder-pump v1 (@champion) scored 1,200 rows" in scored
    predictions = pd.read_parquet(root / "data" / "predictions" / "autoencoder-pump.parquet")
    assert len(predictions) == 25 * DAY and {"score", "is_anomaly"} <= set(predictions.columns)


def test_a_second_version_is_compared_with_the_champion_on_the_same_injected_anomalies(project):
    again = invoke("train", "autoencoder", "--set", "sensors.source=csv")

    # Trained alike on the same data: the same injected copies give the same counts, so no significant change.
    assert "autoencoder-pump v2 REJECTED: f1_injected" in again
    assert "vs champion v1" in again and "no significant improvement" in again
    version = MlflowClient().get_model_version("autoencoder-pump", "2")
    assert version.tags["gate.metric"] == "f1_injected" and version.tags["gate.champion_version"] == "1"


def test_a_series_too_short_to_inject_into_is_one_line_naming_the_minimum_and_trains_nothing(project):
    root, params = project
    rows = 13 * DAY  # enough for validation (the seq2seq's history), too few test rows for the injected anomalies
    test_rows = rows - chronological_split(rows, 0.7, 0.15, 0.15).test.start
    pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-03-01", periods=rows, freq="30min").strftime("%Y-%m-%d %H:%M:%S"),
            "value": np.sin(2 * np.pi * np.arange(rows) / DAY),
        }
    ).to_csv(root / "short.csv", index=False)
    invoke("ingest", "sensors", "--source", "csv", "--path", "short.csv")
    result = runner.invoke(app, ["train", "autoencoder", "--set", "sensors.source=csv", "--series", "short"])

    assert result.exit_code == 1 and "Traceback" not in result.output
    [line] = [text for text in result.output.splitlines() if text.startswith("ERROR")]
    protocol = params.models.autoencoder.evaluation.injected
    needed = protocol.events * (round(protocol.length * 16) + 2 * 16)
    assert test_rows < needed
    assert line.startswith(
        f"ERROR: short: the test part has {test_rows} rows, but injecting {protocol.events} anomalies"
    )
    assert f"needs at least {needed}" in line and "models.autoencoder.evaluation.injected.events" in line
    runs = MlflowClient().search_runs(
        [e.experiment_id for e in MlflowClient().search_experiments()], "tags.series = 'short'"
    )
    assert runs == []  # refused before any MLflow run or training
