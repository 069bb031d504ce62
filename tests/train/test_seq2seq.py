import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from lstmops.data.features import sensor_features
from lstmops.data.windows import sliding_windows
from lstmops.tasks.seq2seq import train as seq2seq_training
from lstmops.tasks.seq2seq.evaluate import evaluate_seq2seq
from lstmops.tasks.seq2seq.network import build_seasonal_residual_seq2seq
from lstmops.tasks.seq2seq.train import (
    TrainedSeq2Seq,
    calendar_features,
    seasons_to_read,
    strongest_season,
    train_seq2seq,
)

WINDOW, HORIZON = 12, 4


@pytest.fixture(scope="module")
def params(tiny_params, tmp_path_factory):
    return tiny_params(
        tmp_path_factory.mktemp("data"),
        "seq2seq",
        **{
            "models.seq2seq.window": WINDOW,
            "models.seq2seq.horizon": HORIZON,
            "models.seq2seq.units": 8,
            "models.seq2seq.learning_rate": 1e-2,
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


@pytest.fixture(scope="module", params=["seasonal_residual", "recursive"])
def trained(request, prepared, params):
    seq2seq = params.models.seq2seq.model_copy(update={"decoder": request.param})
    return train_seq2seq(
        prepared, params.model_copy(update={"models": params.models.model_copy(update={"seq2seq": seq2seq})})
    )


@pytest.fixture(scope="module")
def raw(demo):
    return demo.raw


def test_training_drives_the_loss_down_and_reports_the_device(trained):
    losses = trained.history["loss"]
    assert losses[-1] < losses[0] / 2
    assert "val_loss" in trained.history  # early stopping watched the val part
    assert trained.device["backend"] and trained.device["device"] in ("cpu", "gpu")


def test_the_residual_decoder_reads_the_seasons_that_leave_half_the_train_part_to_learn_from(prepared, params):
    one_epoch = params.model_copy(update={"train": params.train.model_copy(update={"epochs": 1})})
    trained = train_seq2seq(prepared, one_epoch)
    # 420 training rows: a day (288) of history would leave fewer than half of them as origins.
    assert (trained.decoder, trained.seasons, trained.base_season) == ("seasonal_residual", (48,), 48)
    assert trained.first_origin == WINDOW - 1 + 48  # a window of changes since one base season earlier
    assert seasons_to_read([48, 288], WINDOW, train_rows=600) == (48, 288)
    assert seasons_to_read([288, 2016], 96, train_rows=400) == (288,)  # none fits: the shortest


def test_the_base_season_is_the_strongest_seasonal_naive_of_the_part():
    steps = np.arange(2000)
    weekly = np.sin(2 * np.pi * steps / 24) + 0.3 * np.sin(2 * np.pi * steps / 168)  # a week of 7 days
    assert strongest_season(weekly, slice(0, 2000), [24, 168], horizon=6) == 168
    assert strongest_season(np.sin(2 * np.pi * steps / 24), slice(0, 2000), [12, 24], horizon=6) == 24


def test_predict_raw_forecasts_every_origin_with_its_full_history_including_the_last(trained, raw):
    predictions = trained.predict_raw(raw)
    origins = raw["timestamp"].iloc[trained.first_origin :].to_numpy()
    assert list(predictions.columns) == ["origin", "step", "timestamp", "forecast"]
    assert len(predictions) == len(origins) * HORIZON
    np.testing.assert_array_equal(predictions["origin"].unique(), origins)
    last = predictions[predictions["origin"] == raw["timestamp"].iloc[-1]]
    assert list(last["step"]) == [1, 2, 3, 4]
    five_minutes = pd.Timedelta(minutes=5)
    first_forecast = raw["timestamp"].iloc[-1] + five_minutes
    expected_times = pd.date_range(first_forecast, periods=HORIZON, freq=five_minutes)
    np.testing.assert_array_equal(last["timestamp"].to_numpy(), expected_times.to_numpy())
    assert np.isfinite(predictions["forecast"]).all()
    # Forecasts are in the sensor's units (the demo signal lives around 30..80), not scaled to [-1, 1].
    assert predictions["forecast"].between(20, 90).all()


def test_changing_the_future_does_not_change_earlier_forecasts(trained, raw):
    cut = 450
    changed = raw.copy()
    changed.loc[cut:, "value"] += 25.0
    before, after = trained.predict_raw(raw), trained.predict_raw(changed)
    past = before["origin"] < raw["timestamp"].iloc[cut]
    np.testing.assert_array_equal(before.loc[past, "forecast"], after.loc[past, "forecast"])
    assert not np.allclose(before.loc[~past, "forecast"], after.loc[~past, "forecast"])


def test_forecasts_decoded_in_chunks_match_one_pass(trained, raw, monkeypatch):
    one_pass = trained.predict_raw(raw)
    monkeypatch.setattr(seq2seq_training, "_PREDICT_CHUNK", 100)  # several chunks for either decoder
    np.testing.assert_allclose(trained.predict_raw(raw)["forecast"], one_pass["forecast"], rtol=1e-6)


def test_the_input_example_is_one_origin_s_history_that_predict_raw_accepts(trained):
    example = trained.input_example()
    assert list(example.columns) == ["timestamp", "value"] and len(example) == trained.first_origin + 1
    assert len(trained.predict_raw(example)) == HORIZON


def test_a_frame_shorter_than_one_origin_s_history_is_refused(trained, raw):
    with pytest.raises(ValueError, match=f"at least {trained.first_origin + 1} observed rows"):
        trained.predict_raw(raw.iloc[: trained.first_origin])


def test_a_price_series_is_refused(prepared, params):
    with pytest.raises(ValueError, match="seq2seq trains on sensor series"):
        train_seq2seq(replace(prepared, kind="prices"), params)


def test_calendar_features_encode_the_phase_of_day_and_week():
    times = pd.Series(pd.to_datetime(["2024-01-01 00:00", "2024-01-01 06:00", "2024-01-04 12:00"]))
    features = calendar_features(times, ["day", "week"])  # 2024-01-01 is a Monday
    np.testing.assert_allclose(features[0], [0, 1, 0, 1], atol=1e-12)
    np.testing.assert_allclose(features[1, :2], [1, 0], atol=1e-12)  # a quarter of the day
    np.testing.assert_allclose(features[2, 2:], [0, -1], atol=1e-12)  # Thursday noon: half the week
    assert calendar_features(times, []).shape == (3, 0)
    with pytest.raises(ValueError, match="unknown calendar features \\['month'\\]"):
        calendar_features(times, ["month"])


def test_a_model_saved_with_its_history_in_training_json_still_loads(trained, tmp_path):
    """The layout of versions registered before history moved into preprocessing.json."""
    trained.save(tmp_path)
    state = json.loads((tmp_path / "preprocessing.json").read_text())
    (tmp_path / "training.json").write_text(
        json.dumps({"history": state.pop("history"), "device": state.pop("device")})
    )
    (tmp_path / "preprocessing.json").write_text(json.dumps(state))

    assert TrainedSeq2Seq.load(tmp_path).history == trained.history


@pytest.fixture(scope="module")
def ensemble(prepared, params):
    seq2seq = params.models.seq2seq.model_copy(update={"decoder": "seasonal_residual", "members": 2})
    return train_seq2seq(
        prepared, params.model_copy(update={"models": params.models.model_copy(update={"seq2seq": seq2seq})})
    )


def _first_origins(trained, raw, n):
    """The network's inputs for the first n forecast origins of `raw`: windows, decoder inputs, scaled targets."""
    features = sensor_features(raw)
    origins = np.arange(trained.first_origin, trained.first_origin + n)
    inputs = trained.model_inputs(features)
    windows = sliding_windows(inputs, trained.window)[origins - (trained.window - 1)]
    targets = inputs[origins[:, None] + np.arange(1, trained.horizon + 1), 0]
    return windows, trained.decoder_inputs(features, origins), targets


def _member_forecasts(network, x, decoder_inputs):
    """Each member's forecast (n, horizon, members), read from the training model's side-by-side output."""
    return np.asarray(network.training_model.predict([x, decoder_inputs], verbose=0))


def test_an_ensemble_forecasts_the_mean_of_members_that_learnt_apart(ensemble, raw):
    windows, decoder_inputs, _ = _first_origins(ensemble, raw, 50)
    members = _member_forecasts(ensemble.seq2seq, windows, decoder_inputs)
    forecast, attention = ensemble.seq2seq.predict(windows, decoder_inputs)

    assert ensemble.seq2seq.members == 2 and members.shape == (50, HORIZON, 2)
    assert np.abs(members[..., 0] - members[..., 1]).mean() > 1e-4  # initialised apart, not one network twice
    np.testing.assert_allclose(forecast, members.mean(axis=-1), atol=1e-5)
    np.testing.assert_allclose(attention.sum(axis=-1), 1.0, atol=1e-4)  # the mean of two distributions


def test_each_member_is_trained_on_its_own_error(ensemble, raw):
    windows, decoder_inputs, targets = _first_origins(ensemble, raw, 64)
    members = _member_forecasts(ensemble.seq2seq, windows, decoder_inputs)

    loss = ensemble.seq2seq.training_model.evaluate(
        [windows, decoder_inputs], type(ensemble.seq2seq).training_targets(targets), verbose=0
    )
    mean_member_mae = np.mean([np.abs(members[..., m] - targets).mean() for m in range(2)])
    assert loss == pytest.approx(mean_member_mae, rel=1e-4)
    assert loss != pytest.approx(np.abs(members.mean(axis=-1) - targets).mean(), rel=1e-4)  # not the mean's error


def test_an_ensemble_saves_and_loads_as_one_model(ensemble, raw, tmp_path):
    ensemble.save(tmp_path / "model")
    loaded = TrainedSeq2Seq.load(tmp_path / "model")
    assert loaded.seq2seq.members == 2
    pd.testing.assert_frame_equal(loaded.predict_raw(raw.tail(200)), ensemble.predict_raw(raw.tail(200)))


def test_an_ensemble_and_window_normalisation_need_the_direct_decoder(params):
    with pytest.raises(ValueError, match="members=3 needs decoder seasonal_residual"):
        type(params.models.seq2seq).model_validate({"decoder": "recursive", "members": 3})
    with pytest.raises(ValueError, match="normalise='window' needs decoder seasonal_residual"):
        type(params.models.seq2seq).model_validate({"decoder": "recursive", "normalise": "window"})
    # the default, auto, has one choice with the recursive decoder: series scaling
    assert type(params.models.seq2seq).model_validate({"decoder": "recursive", "normalise": "auto"})


def test_window_normalisation_makes_the_forecast_follow_a_shift_of_the_level():
    window, horizon, seasons, calendar = 24, 6, 2, 2
    network = build_seasonal_residual_seq2seq(
        window, 2 + calendar, horizon, seasons + calendar, units=8, normalise="window", members=2
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, window, 2 + calendar)).astype("float32")
    decoder_inputs = rng.normal(size=(16, horizon, seasons + calendar)).astype("float32")
    shifted_x, shifted_decoder = x.copy(), decoder_inputs.copy()
    shifted_x[:, :, 0] += 3.0  # the value; its change since a season earlier and the calendar stay as they were
    shifted_decoder[:, :, :seasons] += 3.0  # every seasonal-naive value

    forecast, _ = network.predict(x, decoder_inputs)
    shifted, _ = network.predict(shifted_x, shifted_decoder)
    np.testing.assert_allclose(shifted, forecast + 3.0, atol=1e-4)
    series_scaled = build_seasonal_residual_seq2seq(window, 2 + calendar, horizon, seasons + calendar, units=8)
    plain, _ = series_scaled.predict(x, decoder_inputs)
    assert np.abs(series_scaled.predict(shifted_x, shifted_decoder)[0] - (plain + 3.0)).max() > 1e-3


def test_auto_normalisation_keeps_the_network_with_the_lower_validation_loss(prepared, params, tmp_path):
    seq2seq = params.models.seq2seq.model_copy(update={"decoder": "seasonal_residual", "normalise": "auto"})
    trained = train_seq2seq(
        prepared, params.model_copy(update={"models": params.models.model_copy(update={"seq2seq": seq2seq})})
    )

    trials = trained.normalise_trials
    assert set(trials) == {"series", "window"}
    assert trained.normalise == min(trials, key=lambda name: trials[name]["val_loss"])
    assert min(trained.history["val_loss"]) == trials[trained.normalise]["val_loss"]
    layer_names = {layer.name for layer in trained.model.layers}
    assert ("window_scale" in layer_names) == (trained.normalise == "window")
    trained.save(tmp_path / "model")
    assert TrainedSeq2Seq.load(tmp_path / "model").normalise_trials == trials
    table = evaluate_seq2seq(trained, prepared, params).tables["normalisation.csv"]  # logged with the run
    assert table.loc[table["kept"], "normalise"].tolist() == [trained.normalise]


def test_a_calendar_period_the_train_part_spans_fewer_than_twice_is_left_out():
    ten_days = pd.Series(pd.date_range("2024-01-01", periods=10 * 288, freq="5min"))
    three_weeks = pd.Series(pd.date_range("2024-01-01", periods=21 * 24, freq="h"))

    assert seq2seq_training.covered_calendar(["day", "week"], ten_days) == ("day",)
    assert seq2seq_training.covered_calendar(["day", "week"], three_weeks) == ("day", "week")
    assert seq2seq_training.covered_calendar(["day"], ten_days.iloc[:300]) == ()  # ~1 day
    with pytest.raises(ValueError, match="unknown calendar features"):
        seq2seq_training.covered_calendar(["month"], ten_days)
