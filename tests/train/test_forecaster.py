"""Training the price forecaster: learning, train-only preprocessing, save/load, forecasting from raw bars."""

import numpy as np
import pandas as pd
import pytest

from lstmops.tasks.forecaster.train import train_forecaster

WINDOW = 8
SETTINGS = {"prices.demo.n_days": 260, "windows.prices.window": WINDOW, "train.epochs": 3, "train.batch_size": 32}


@pytest.fixture(scope="module")
def trained(tiny_params, demo_series, tmp_path_factory):
    params = tiny_params(tmp_path_factory.mktemp("data"), "forecaster", **SETTINGS)
    demo = demo_series(params, "prices")
    return train_forecaster(demo.prepared, params), demo.prepared, demo.raw


def test_loss_falls_on_a_series_with_strong_momentum(tiny_params, demo_series, tmp_path):
    # momentum 0.9: 81% of the return variance is predictable from the previous return
    params = tiny_params(
        tmp_path,
        "forecaster",
        **{
            **SETTINGS,
            "prices.demo.n_days": 200,
            "prices.demo.momentum": 0.9,
            "prices.demo.swing": 0.0,
            "windows.prices.window": 5,
            "models.forecaster.dropout": 0.0,
            "models.forecaster.learning_rate": 0.003,
            "train.epochs": 15,
            "train.patience": 15,
        },
    )
    prepared = demo_series(params, "prices").prepared

    history = train_forecaster(prepared, params).history

    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert min(history["val_loss"]) < 0.5 * history["val_loss"][0]


def test_preprocessing_is_fitted_on_the_training_part_only(trained):
    model, prepared, _ = trained
    train_targets = prepared.features["log_return"].to_numpy()[prepared.split.train]

    assert model.input_scaler is prepared.scaler
    np.testing.assert_allclose(model.target_scaler.mean, [train_targets.mean()])
    np.testing.assert_allclose(model.target_scaler.scale, [train_targets.std()])
    assert model.features == prepared.columns and model.target == "log_return"
    assert 0.5 < model.interval_quantile < 5  # in units of local volatility
    assert model.device["backend"] and model.history["val_loss"]


def test_predict_raw_forecasts_every_bar_with_history_and_the_next_business_day(trained):
    model, _, frame = trained
    last_friday = frame.index[frame["date"].dt.day_name() == "Friday"][-1]
    last_bars = frame.loc[:last_friday]

    forecasts = model.predict_raw(last_bars)

    assert list(forecasts.columns) == ["date", "actual", "predicted_close", "lower", "upper"]
    # bar k is forecast from the features of bars k-WINDOW..k-1, and features need a previous bar
    assert forecasts["date"].iloc[:-1].tolist() == last_bars["date"].iloc[WINDOW + 1 :].tolist()
    np.testing.assert_array_equal(forecasts["actual"].iloc[:-1], last_bars["close"].iloc[WINDOW + 1 :])
    future = forecasts.iloc[-1]
    assert future["date"] == last_bars["date"].iloc[-1] + pd.Timedelta(days=3) and np.isnan(future["actual"])
    assert (forecasts["lower"] < forecasts["predicted_close"]).all()
    assert (forecasts["predicted_close"] < forecasts["upper"]).all()


def recent_volatility(changes):
    """At bar k: std of the WINDOW - 1 changes up to bar k (what a forecast of bar k + 1 may use)."""
    return changes.rolling(WINDOW - 1).std(ddof=0).iloc[WINDOW:].to_numpy()


def test_log_return_intervals_scale_with_recent_volatility_multiplicatively(trained):
    model, _, frame = trained

    forecasts = model.predict_raw(frame)

    halfwidth = model.interval_quantile * recent_volatility(np.log(frame["close"]).diff())
    np.testing.assert_allclose(np.log(forecasts["upper"] / forecasts["predicted_close"]), halfwidth, rtol=1e-6)
    np.testing.assert_allclose(np.log(forecasts["predicted_close"] / forecasts["lower"]), halfwidth, rtol=1e-6)


def test_changing_later_bars_never_changes_earlier_forecasts(trained):
    model, _, frame = trained
    cut = 150  # bars from here on get a different future
    changed = frame.copy()
    changed.loc[cut:, ["open", "high", "low", "close"]] *= 1.5
    changed.loc[cut:, "volume"] *= 3

    before, after = model.predict_raw(frame), model.predict_raw(changed)

    columns = ["predicted_close", "lower", "upper"]
    known = before["date"] <= frame["date"].iloc[cut]  # bar `cut` is forecast from bars before it
    pd.testing.assert_frame_equal(before.loc[known, columns], after.loc[known, columns])
    first_affected = before.index[~known][0]
    assert before.loc[first_affected, "predicted_close"] != after.loc[first_affected, "predicted_close"]


def test_input_example_is_accepted_by_predict_raw(trained):
    model, _, _ = trained

    forecasts = model.predict_raw(model.input_example())

    assert len(forecasts) == 1 and np.isnan(forecasts["actual"].iloc[0])


def test_too_few_bars_are_rejected_with_the_needed_count(trained):
    model, _, frame = trained

    with pytest.raises(ValueError, match=f"at least window \\+ 1 = {WINDOW + 1} bars, got {WINDOW}"):
        model.predict_raw(frame.iloc[:WINDOW])


def test_a_target_without_a_price_mapping_is_rejected(tiny_params, demo_series, tmp_path):
    params = tiny_params(tmp_path, "forecaster", **{**SETTINGS, "windows.prices.target": "range"})
    prepared = demo_series(params, "prices").prepared

    with pytest.raises(ValueError, match="target 'range' has no price mapping"):
        train_forecaster(prepared, params)


def test_close_target_is_forecast_as_a_price_directly(tiny_params, demo_series, tmp_path):
    params = tiny_params(tmp_path, "forecaster", **{**SETTINGS, "windows.prices.target": "close", "train.epochs": 1})
    demo = demo_series(params, "prices")
    prepared, frame = demo.prepared, demo.raw

    model = train_forecaster(prepared, params)
    forecasts = model.predict_raw(frame)

    # the interval is additive in price units, scaled by the volatility of price changes
    halfwidth = model.interval_quantile * recent_volatility(frame["close"].diff())
    np.testing.assert_allclose(forecasts["upper"] - forecasts["predicted_close"], halfwidth, rtol=1e-6)
    np.testing.assert_allclose(forecasts["predicted_close"] - forecasts["lower"], halfwidth, rtol=1e-6)


def test_a_window_too_short_for_local_volatility_is_rejected(tiny_params, demo_series, tmp_path):
    params = tiny_params(tmp_path, "forecaster", **{**SETTINGS, "windows.prices.window": 2})
    prepared = demo_series(params, "prices").prepared

    with pytest.raises(ValueError, match="window >= 3"):
        train_forecaster(prepared, params)
