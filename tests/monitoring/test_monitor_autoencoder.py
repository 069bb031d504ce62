"""An autoencoder champion is checked by its alerts and scores (not skipped): trained on the first half of
a demo sensor series, checked on the second half as it is, and with the second half's noise made larger."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts

from lstmops.data import ingest, prepare
from lstmops.experiment.runner import run_experiment
from lstmops.monitoring import check
from lstmops.monitoring.history import checks, table
from lstmops.monitoring.monitor import monitor
from lstmops.registry.rule import CHAMPION
from lstmops.registry.versions import register_version

pytestmark = pytest.mark.integration

WINDOW = 16  # no period in 700 training rows of 5-minute data: a score reads a window and its smoothing ahead


@pytest.fixture(scope="module")
def champion(mlflow_store, tiny_params):
    params = tiny_params(
        mlflow_store.root / "data",
        "autoencoder",
        **{"train.epochs": 1, "sensors.demo.n_points": 2000, "windows.sensors.window": WINDOW},
    )
    (result,) = ingest.validate_all(ingest.snapshot("sensors", params, source="demo"), params)
    frame, card = ingest.load_validated(result.validated_path)
    first_half = prepare.prepare_frame(frame.iloc[:1000], card, params, mlflow_store.root / "features")
    outcome = run_experiment("autoencoder", first_half, params)
    version = register_version(outcome)
    MlflowClient().set_registered_model_alias(version.name, CHAMPION, version.version)
    data_end = MlflowClient().get_run(outcome.run_id).data.tags["data.end"]
    return version, params, data_end


def test_an_autoencoder_champion_gets_a_verdict_from_its_alerts_and_scores(champion):
    version, params, data_end = champion
    (checked,) = monitor([version.name], params)
    verdict = checked.result
    assert verdict.status in ("healthy", "warning", "decayed"), verdict.line()
    evidence = verdict.evidence
    assert evidence["reference"] == "hold-out"  # 150 rows, less the 17 whose scores read new rows
    assert evidence["reference_rows"] == 150 - evidence["span"] and evidence["span"] == WINDOW + 1
    assert evidence["new_from"] > data_end and verdict.n >= 10 * evidence["span"]
    assert {"alert_rate", "alert_rate_reference", "alert_rate_p", "tail_share_p", "threshold"} <= set(evidence)
    assert "alert events" in verdict.detail and "percentile" in verdict.detail
    parts = verdict.scores["part"].value_counts()
    assert parts["new"] == verdict.n and parts["reference"] == evidence["reference_rows"]

    run = MlflowClient().get_run(checked.run_id)  # recorded in lstmops-monitoring, charted like the others
    assert {"monitor.alert_rate", "monitor.alert_rate_reference", "monitor.tail_share_p"} <= set(run.data.metrics)
    page = open(download_artifacts(run_id=checked.run_id, artifact_path="monitor/report.html")).read()
    assert "data:image/png;base64," in page and "new rows with final scores" in page
    headings, rows = table(checks(version.name, str(version.version)))
    assert "alert rate" in headings and "error ratio" not in headings and rows[-1][2] == verdict.status


def test_louder_noise_after_the_champions_data_is_decayed(champion, monkeypatch):
    version, params, data_end = champion
    load = check.load_validated

    def louder(path):
        frame, card = load(path)
        after = frame["timestamp"] > np.datetime64(data_end)
        noise = np.random.default_rng(0).normal(0, 3 * frame["value"].std(), int(after.sum()))
        frame.loc[after, "value"] = frame.loc[after, "value"] + noise
        return frame, card

    monkeypatch.setattr(check, "load_validated", louder)
    verdict = check.check_model(version.name, params)
    assert verdict.status == "decayed", verdict.line()
    assert verdict.evidence["heavier_tail"] or verdict.evidence["more_alerts"]
