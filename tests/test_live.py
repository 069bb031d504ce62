"""Training as it happens: epochs in MLflow while the run is open, one progress line per training."""

from __future__ import annotations

import mlflow
import numpy as np

from lstmops.config import TrainParams
from lstmops.train import live
from lstmops.train.common import WindowBatches, fit


def tiny_fit(epochs: int) -> dict[str, list[float]]:
    import keras

    model = keras.Sequential([keras.Input((4, 1)), keras.layers.LSTM(2), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x, y = np.random.default_rng(0).normal(size=(32, 4, 1)), np.zeros(32)
    batches = WindowBatches(x, y, batch_size=16)
    return fit(model, batches, validation=batches, params=TrainParams(epochs=epochs, patience=50), epochs=epochs)


def test_the_first_fit_of_a_training_is_logged_epoch_by_epoch_and_later_fits_are_not(mlflow_store, monkeypatch):
    monkeypatch.delenv("LSTMOPS_LOG_LEVEL", raising=False)
    with mlflow.start_run() as run, live.watching("forecaster DEMOA", run.info.run_id):
        history = tiny_fit(3)
        tiny_fit(2)  # e.g. a backtest fold: its steps 0, 1 would zigzag over the model's curve
        logged = live.epochs_logged()

    points = mlflow.MlflowClient().get_metric_history(run.info.run_id, "epoch/loss")
    assert [point.step for point in points] == [0, 1, 2] and logged == 3
    assert [point.value for point in points] == history["loss"]


def test_candidate_networks_of_one_training_each_log_their_own_curve(mlflow_store, monkeypatch):
    monkeypatch.delenv("LSTMOPS_LOG_LEVEL", raising=False)
    with mlflow.start_run() as run, live.watching("seq2seq demo/machine_a", run.info.run_id):
        with live.curve("series"):
            series = tiny_fit(3)
        with live.curve("window"):
            window = tiny_fit(2)

    client = mlflow.MlflowClient()
    assert [p.value for p in client.get_metric_history(run.info.run_id, "epoch/series/loss")] == series["loss"]
    assert [p.value for p in client.get_metric_history(run.info.run_id, "epoch/window/loss")] == window["loss"]
    assert client.get_metric_history(run.info.run_id, "epoch/loss") == []


def test_a_progress_line_stands_for_keras_epoch_lines_unless_verbose(monkeypatch):
    monkeypatch.delenv("LSTMOPS_LOG_LEVEL", raising=False)
    with live.watching("seq2seq demo/machine_a"):
        assert live.progress_shown()
    monkeypatch.setenv("LSTMOPS_LOG_LEVEL", "DEBUG")
    with live.watching("seq2seq demo/machine_a"):
        assert not live.progress_shown()
    assert live.current_callbacks() == ()


def test_piped_to_a_file_a_training_prints_its_line_as_it_starts_and_ends(monkeypatch, capfd):
    monkeypatch.delenv("LSTMOPS_LOG_LEVEL", raising=False)
    monkeypatch.setattr(live, "PIPED_LINE_EVERY_S", float("inf"))  # only the start and the end here
    with live.watching("forecaster DEMOA"):
        tiny_fit(3)

    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("forecaster DEMOA")]
    assert "epoch 0/3" in lines[0]  # printed before the first epoch: a log shows the training began
    assert "epoch 3/3" in lines[1]  # its end, printed as it ended (the last line is the display's own close)
