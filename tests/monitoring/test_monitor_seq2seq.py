"""A seq2seq champion (multi-step forecasts of a sensor) is checked like a forecaster, with its horizon:
trained on the first half of a demo sensor series, checked on the second."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from lstmops.data import ingest, prepare
from lstmops.experiment.runner import run_experiment
from lstmops.monitoring.monitor import monitor
from lstmops.registry.rule import CHAMPION
from lstmops.registry.versions import register_version

pytestmark = pytest.mark.integration


def test_a_seq2seq_champion_gets_a_horizon_aware_verdict(mlflow_store, tiny_params):
    params = tiny_params(mlflow_store.root / "data", "seq2seq", **{"train.epochs": 1, "sensors.demo.n_points": 2000})
    (result,) = ingest.validate_all(ingest.snapshot("sensors", params, source="demo"), params)
    frame, card = ingest.load_validated(result.validated_path)
    first_half = prepare.prepare_frame(frame.iloc[:1000], card, params, mlflow_store.root / "features")
    outcome = run_experiment("seq2seq", first_half, params)
    version = register_version(outcome)
    MlflowClient().set_registered_model_alias(version.name, CHAMPION, version.version)

    (checked,) = monitor([version.name], params)
    verdict = checked.result
    assert verdict.status in ("healthy", "warning", "decayed"), verdict.line()
    assert verdict.evidence["horizon"] == params.models.seq2seq.horizon
    assert verdict.evidence["baseline"] == "mae_best_baseline"
    assert verdict.n > 10 * verdict.evidence["horizon"]  # enough origins for the horizon-aware test
    assert verdict.evidence["new_from"] > MlflowClient().get_run(outcome.run_id).data.tags["data.end"]
    assert checked.run_id is not None  # recorded in lstmops-monitoring
