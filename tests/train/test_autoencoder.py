import json
from functools import partial

import numpy as np
import pandas as pd
import pytest

from lstmops.data.prepare import prepare_frame
from lstmops.evaluate.anomalies import fit_threshold
from lstmops.tasks.autoencoder.train import (
    SMOOTHING_WINDOW,
    TrainedAutoencoder,
    reconstruction_error_scores,
    threshold_options,
    train_autoencoder,
    training_threshold,
)
from lstmops.train.common import PREPROCESSING_FILE

WINDOW = 16


@pytest.fixture(scope="module")
def params(tiny_params, tmp_path_factory):
    return tiny_params(
        tmp_path_factory.mktemp("data"),
        "autoencoder",
        **{
            "windows.sensors.window": WINDOW,
            "train.epochs": 5,
            "train.batch_size": 32,
        },
    )


@pytest.fixture(scope="module")
def demo(demo_series, params):
    return demo_series(params, "sensors")


@pytest.fixture(scope="module")
def prepared(demo):
    return demo.prepared


@pytest.fixture(scope="module")
def trained(prepared, params):
    return train_autoencoder(prepared, params)


@pytest.fixture(scope="module")
def raw(demo):
    return demo.raw


def test_training_drives_the_reconstruction_loss_down_and_reports_the_device(trained):
    losses = trained.history["loss"]
    assert losses[-1] < losses[0] / 2
    assert "val_loss" in trained.history  # early stopping watched the val part
    assert trained.device["backend"] and trained.device["device"] in ("cpu", "gpu")


def test_threshold_is_the_configured_rule_over_scores_of_the_training_rows_alone(trained, prepared, params):
    train_rows = prepared.features.iloc[prepared.split.train]
    k = params.models.autoencoder.threshold_k
    assert (trained.threshold_rule, trained.threshold_options) == ("mean_std", {"k": k})
    fitted = fit_threshold(trained.score_features(train_rows), "mean_std", k=k)
    assert trained.threshold == pytest.approx(max(fitted, params.models.autoencoder.threshold_floor))


def test_no_rule_thresholds_below_the_floor(trained, prepared, params, tmp_path):
    # A flat or noise-free training part scores ~0, and mean + k * std of ~0 would flag numerical noise.
    config = params.models.autoencoder
    train_rows = prepared.features.iloc[prepared.split.train]
    fit = partial(
        training_threshold,
        trained.model,
        trained.scaler,
        trained.window,
        trained.smoothing_window,
        trained.period,
        train_rows,
        config.threshold_rule,
        threshold_options(config),
    )
    fitted = fit()
    assert fit(floor=fitted * 2) == fitted * 2 and fit(floor=fitted / 2) == fitted

    trained.save(tmp_path / "model")
    assert TrainedAutoencoder.load(tmp_path / "model").threshold_floor == config.threshold_floor


def test_changing_the_test_part_does_not_move_the_scaler_or_the_threshold(trained, prepared, raw, params, tmp_path):
    # Retraining is not bit-reproducible on TensorFlow's multi-threaded CPU kernels (two runs in one
    # busy session differed by 3 % in the threshold), so the trained model is reused: everything the
    # threshold is computed from must be blind to the test rows.
    changed = raw.copy()
    changed.loc[prepared.split.test.start :, "value"] *= 3.0
    changed_prepared = prepare_frame(changed, prepared.card, params, tmp_path)
    split = changed_prepared.split

    assert changed_prepared.scaler.to_dict() == prepared.scaler.to_dict()
    train_scores = reconstruction_error_scores(
        trained.model,
        changed_prepared.scaler,
        trained.window,
        SMOOTHING_WINDOW,
        changed_prepared.features.iloc[split.train],
    )
    config = params.models.autoencoder
    fitted = fit_threshold(train_scores, config.threshold_rule, **threshold_options(config))
    assert max(fitted, config.threshold_floor) == trained.threshold


def test_an_obvious_spike_is_flagged_and_becomes_one_segment(trained, raw):
    spiked = raw.copy()
    at = len(raw) - 60
    spiked.loc[at, "value"] += 100.0  # ~10 daily amplitudes
    points = trained.predict_raw(spiked)
    assert list(points.columns) == ["timestamp", "score", "is_anomaly"]
    assert len(points) == len(raw)
    assert points["is_anomaly"].iloc[at]
    assert abs(int(points["score"].to_numpy().argmax()) - at) <= SMOOTHING_WINDOW // 2
    segments = trained.segments(spiked)
    assert list(segments.columns) == ["start", "end", "score"]
    spike_time = raw["timestamp"].iloc[at]
    holding = segments[(segments["start"] <= spike_time) & (segments["end"] >= spike_time)]
    assert len(holding) == 1 and holding["score"].iloc[0] == points["score"].max()


def test_scores_read_the_future_only_up_to_one_window_plus_the_smoothing(trained, raw):
    cut = 450
    changed = raw.copy()
    changed.loc[cut:, "value"] += 25.0
    before = trained.predict_raw(raw)["score"].to_numpy()
    after = trained.predict_raw(changed)["score"].to_numpy()
    reach = WINDOW - 1 + SMOOTHING_WINDOW // 2  # windows covering t end at t + window - 1, then smoothing
    np.testing.assert_allclose(after[: cut - reach], before[: cut - reach], rtol=1e-6)
    assert not np.allclose(after[cut - reach : cut], before[cut - reach : cut])


def test_the_input_example_is_raw_rows_that_predict_raw_accepts(trained):
    example = trained.input_example()
    assert list(example.columns) == ["timestamp", "value"] and len(example) == WINDOW
    assert len(trained.predict_raw(example)) == WINDOW


def test_too_short_input_names_the_window(trained, raw):
    with pytest.raises(ValueError, match=f"window = {WINDOW}"):
        trained.predict_raw(raw.iloc[: WINDOW - 1])


def test_price_series_are_refused(prepared, params):
    prices = prepared.__class__(**{**prepared.__dict__, "kind": "prices", "columns": ["log_return"]})
    with pytest.raises(ValueError, match="one sensor value column"):
        train_autoencoder(prices, params)


DAY = 48  # rows per cycle of the seasonal sensor below: longer than WINDOW


@pytest.fixture(scope="module")
def seasonal(params, tmp_path_factory):
    """A daily cycle with noise, 25 days at 30 minutes, trained with `models.autoencoder.score: seasonal`."""
    rows = 25 * DAY
    steps = np.arange(rows)
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=rows, freq="30min"),
            "value": np.sin(2 * np.pi * steps / DAY) + np.random.default_rng(0).normal(0, 0.05, rows),
        }
    )
    card = {"series": "cycle", "kind": "sensors", "source": "csv"}
    prepared = prepare_frame(frame, card, params, tmp_path_factory.mktemp("cycle"))
    seasonal_params = params.model_copy(
        update={
            "models": params.models.model_copy(
                update={"autoencoder": params.models.autoencoder.model_copy(update={"score": "seasonal"})}
            )
        }
    )
    return frame, train_autoencoder(prepared, seasonal_params)


def test_the_seasonal_score_keeps_the_training_parts_period_with_the_model(seasonal, tmp_path):
    frame, trained = seasonal
    assert trained.period == DAY
    assert trained.min_rows == 2 * DAY
    assert len(trained.input_example()) == 2 * DAY  # the MLflow input example can be scored

    trained.save(tmp_path)
    loaded = TrainedAutoencoder.load(tmp_path)
    assert loaded.period == DAY
    np.testing.assert_allclose(loaded.predict_raw(frame)["score"], trained.predict_raw(frame)["score"], rtol=1e-5)

    with pytest.raises(ValueError, match=f"needs at least {2 * DAY} rows"):
        trained.predict_raw(frame.iloc[: 2 * DAY - 1])


def test_a_model_saved_before_the_seasonal_score_loads_as_the_reconstruction_error(trained, tmp_path):
    trained.save(tmp_path)
    state = json.loads((tmp_path / PREPROCESSING_FILE).read_text())
    del state["period"]
    (tmp_path / PREPROCESSING_FILE).write_text(json.dumps(state))
    loaded = TrainedAutoencoder.load(tmp_path)
    assert loaded.period is None and trained.period is None
    assert loaded.min_rows == trained.window
