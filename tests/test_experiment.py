"""run_experiment: train -> evaluate -> log, for a stand-in kind and once for the real forecaster."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pytest
from fakes import StepForecaster

from lstmops import tasks
from lstmops.config import Params, load_params
from lstmops.data import ingest, prepare
from lstmops.data.prepare import PreparedSeries
from lstmops.data.snapshots import file_sha256
from lstmops.evaluate.report import Evaluation
from lstmops.experiment.runner import run_experiment, training_run_name
from lstmops.tasks import get_task
from lstmops.tasks.contract import LazyTask
from lstmops.tracking.pyfunc import load_trained


def train_mean_return(prepared: PreparedSeries, params: Params) -> StepForecaster:
    """The stand-in's training: the next close moves by the training part's mean log return."""
    returns = prepared.features["log_return"].to_numpy()[prepared.split.train]
    history = {"loss": [1.0, 0.5], "batch_size": [float(params.train.batch_size)]}
    return StepForecaster(float(np.mean(returns)), history=history, device={"backend": "numpy"})


def evaluate_mean_return(
    trained: StepForecaster, prepared: PreparedSeries, params: Params, *, gate: bool = False
) -> Evaluation:
    close = prepared.features["close"].to_numpy()
    test = np.arange(prepared.split.test.start, prepared.split.test.stop)
    predicted = close[test - 1] * np.exp(trained.step)
    metrics = {
        "mae": float(np.mean(np.abs(predicted - close[test]))),
        "mae_persistence": float(np.mean(np.abs(close[test - 1] - close[test]))),
    }
    figure, axes = plt.subplots()
    axes.plot(close[test])
    return Evaluation(metrics, "mae", "mae_persistence", higher_is_better=False, figures={"forecast.png": figure})


# The stand-in as a model task, registered under the forecaster's name by the `mean_return_task` fixture.
TASK = LazyTask(
    name="forecaster",
    data_kind="prices",
    trainer=f"{__name__}:train_mean_return",
    evaluator=f"{__name__}:evaluate_mean_return",
    trained="fakes:StepForecaster",
)


@pytest.fixture
def mean_return_task(monkeypatch):
    monkeypatch.setitem(tasks.REGISTRY, "forecaster", __name__)


@pytest.fixture(scope="module")
def params(tmp_path_factory) -> Params:
    return load_params(
        overrides={
            "data.root": str(tmp_path_factory.mktemp("data")),
            "prices.tickers": ["DEMOA"],
            "prices.demo.n_days": 220,
            "windows.prices.window": 10,
            "train.epochs": 2,
            "train.batch_size": 32,
            "train.verbose": 0,
            "models.forecaster.units": [4],
            "models.forecaster.backtest_folds": 0,
        }
    )


@pytest.fixture(scope="module")
def ingested(params) -> ingest.IngestResult:
    (result,) = ingest.validate_all(ingest.snapshot_prices(params, source="demo"), params)
    return result


@pytest.fixture(scope="module")
def prepared(params, ingested) -> PreparedSeries:
    return prepare.prepare_series(ingested.validated_path, params)


def test_an_experiment_trains_evaluates_logs_and_reports_against_the_baseline(
    mlflow_store, prepared, params, mean_return_task, capsys
):
    outcome = run_experiment("forecaster", prepared, params, tags={"trigger": "test"})

    e = outcome.evaluation
    assert outcome.kind == "forecaster" and outcome.series == "DEMOA" and outcome.seconds > 0
    assert outcome.beats_baseline == (e.metrics["mae"] < e.metrics["mae_persistence"])
    assert (
        f"mae {e.metrics['mae']:.4g} vs mae_persistence {e.metrics['mae_persistence']:.4g}" in capsys.readouterr().out
    )
    run = mlflow.get_run(outcome.run_id)
    newest = prepared.features["date"].max().date().isoformat()
    assert run.info.run_name == f"forecaster-DEMOA-{newest}" == training_run_name("forecaster", prepared)
    assert run.data.tags["trigger"] == "test" and run.info.status == "FINISHED"
    assert run.data.metrics["mae"] == e.metrics["mae"]
    phases = {phase: run.data.metrics[f"seconds/{phase}"] for phase in ("open", "train", "evaluate", "log")}
    assert phases == pytest.approx(outcome.phase_seconds) and all(seconds > 0 for seconds in phases.values())
    assert sum(phases.values()) <= outcome.seconds
    restored = load_trained(outcome.model_uri)
    assert isinstance(restored, StepForecaster)
    assert restored.step == pytest.approx(np.mean(prepared.features["log_return"].to_numpy()[prepared.split.train]))


def test_the_task_trains_with_its_own_train_overrides_and_the_run_logs_them(
    mlflow_store, prepared, params, mean_return_task
):
    overridden = params.model_copy(deep=True)
    overridden.models.forecaster.train.batch_size = 16

    outcome = run_experiment("forecaster", prepared, overridden)

    run = mlflow.get_run(outcome.run_id)
    assert run.data.metrics["epoch/batch_size"] == 16.0  # what the trainer was given
    assert run.data.params["train.batch_size"] == "16"


def test_the_run_names_its_training_data_and_its_experiment_says_what_it_holds(
    mlflow_store, prepared, params, ingested, mean_return_task
):
    outcome = run_experiment("forecaster", prepared, params)

    run = mlflow.get_run(outcome.run_id)
    (data,) = run.inputs.dataset_inputs
    sha256 = file_sha256(ingested.validated_path)
    assert data.dataset.name == "prices/DEMOA" and data.dataset.digest == sha256[:36]
    assert json.loads(data.dataset.source)["uri"] == str(ingested.validated_path.resolve())
    assert {tag.key: tag.value for tag in data.tags}["sha256"] == sha256
    description = mlflow.get_experiment(run.info.experiment_id).tags["mlflow.note.content"]
    assert description.startswith("LSTM forecaster") and "forecaster-<series>" in description


@pytest.mark.faults
def test_a_training_that_fails_leaves_its_run_failed_not_running(mlflow_store, prepared, params, monkeypatch):
    def broken_trainer(prepared, params):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(__name__ + ".train_mean_return", broken_trainer)
    monkeypatch.setitem(tasks.REGISTRY, "forecaster", __name__)

    with pytest.raises(RuntimeError, match="out of memory"):
        run_experiment("forecaster", prepared, params, run_name="doomed")

    (run,) = mlflow.search_runs(search_all_experiments=True, filter_string="run_name = 'doomed'", output_format="list")
    assert run.info.status == "FAILED" and run.info.end_time is not None


def test_unknown_tasks_and_mismatched_data_are_refused_by_name(prepared, params):
    with pytest.raises(ValueError, match="unknown model task 'lstm'.*forecaster, autoencoder, seq2seq"):
        get_task("lstm")
    with pytest.raises(ValueError, match="'autoencoder' trains on sensors data, got a prepared prices series"):
        get_task("autoencoder").train(prepared, params)


def test_the_real_forecaster_served_from_the_store_predicts_what_was_evaluated(
    mlflow_store, prepared, params, ingested
):
    outcome = run_experiment("forecaster", prepared, params)
    raw, _ = ingest.load_validated(ingested.validated_path)

    # the epochs went to MLflow while the run was open, one point per epoch
    run = mlflow.get_run(outcome.run_id)
    losses = mlflow.MlflowClient().get_metric_history(outcome.run_id, "epoch/loss")
    assert [point.step for point in losses] == list(range(int(run.data.metrics["epochs_trained"])))
    assert all(run.info.start_time <= point.timestamp <= run.info.end_time for point in losses)

    served = mlflow.pyfunc.load_model(outcome.model_uri).predict(raw)

    evaluated = outcome.evaluation.tables["predictions.csv"]
    served = served.assign(date=served["date"].astype(evaluated["date"].dtype)).set_index("date")
    on_test_dates = served.loc[evaluated["date"], "predicted_close"].to_numpy()
    np.testing.assert_allclose(on_test_dates, evaluated["predicted"].to_numpy(), rtol=1e-5)
    assert {"mae", "mae_persistence", "mase"} <= set(mlflow.get_run(outcome.run_id).data.metrics)
