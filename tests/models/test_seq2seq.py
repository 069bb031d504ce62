import keras
import numpy as np
import pytest

from lstmops.tasks.seq2seq.network import Seq2Seq, build_seq2seq, teacher_forcing_inputs

WINDOW, HORIZON = 12, 4
TARGET = 1  # the target is the second column, so a decoder reading column 0 would be caught


def series(n_points: int) -> np.ndarray:
    t = np.arange(n_points)
    return np.stack([np.cos(t / 3), np.sin(t / 3)], axis=1).astype("float32")  # (n, 2)


def windows_and_targets(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.arange(len(values) - WINDOW - HORIZON + 1)[:, None]
    return values[starts + np.arange(WINDOW)], values[starts + WINDOW + np.arange(HORIZON), TARGET]


# Each attention kind trains once per module; behaviour checks beyond training run on Luong only.
both_attentions = pytest.mark.parametrize("trained", ["luong", "bahdanau"], indirect=True)
luong_only = pytest.mark.parametrize("trained", ["luong"], indirect=True)


@pytest.fixture(scope="module")
def trained(request):
    keras.utils.set_random_seed(0)
    seq2seq = build_seq2seq(
        WINDOW, 2, HORIZON, units=8, attention=request.param, learning_rate=1e-2, target_index=TARGET
    )
    x, y = windows_and_targets(series(300))
    history = seq2seq.training_model.fit(
        seq2seq.training_inputs(x, y), y[:, :, None], epochs=8, batch_size=32, verbose=0
    )
    return seq2seq, x, y, history.history["loss"]


def test_teacher_forcing_inputs_shift_the_targets_behind_the_last_observation():
    y = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    inputs = teacher_forcing_inputs(y, last_observed=np.array([0.0, 3.5]))
    np.testing.assert_array_equal(inputs[:, :, 0], [[0, 1, 2], [3.5, 4, 5]])


def test_a_target_column_outside_the_features_is_rejected():
    with pytest.raises(ValueError, match="target_index 2"):
        build_seq2seq(WINDOW, 2, HORIZON, target_index=2)


def test_lstm_layers_stay_cudnn_eligible():
    seq2seq = build_seq2seq(WINDOW, 2, HORIZON, units=8)
    for name in ("encoder_lstm", "decoder_lstm"):
        config = seq2seq.model.get_layer(name).get_config()
        assert (config["activation"], config["recurrent_activation"]) == ("tanh", "sigmoid")
        assert config["recurrent_dropout"] == 0 and not config["unroll"] and config["use_bias"]


@both_attentions
def test_training_with_either_attention_reduces_the_loss(trained):
    seq2seq, x, y, losses = trained
    assert seq2seq.training_model.predict(seq2seq.training_inputs(x[:3], y[:3]), verbose=0).shape == (3, HORIZON, 1)
    assert losses[-1] < losses[0] / 20


@both_attentions
def test_recursive_forecast_and_attention_weights(trained):
    seq2seq, x, y, _ = trained
    forecast, attention = seq2seq.predict(x)
    assert forecast.shape == (len(x), HORIZON)
    assert attention.shape == (len(x), HORIZON, WINDOW)
    np.testing.assert_allclose(attention.sum(axis=2), 1.0, rtol=1e-5)
    persistence_mse = np.mean((y - x[:, -1:, TARGET]) ** 2)
    assert np.mean((forecast - y) ** 2) < persistence_mse / 10


@luong_only
def test_recursive_decoding_feeds_back_its_own_predictions_through_the_trained_layers(trained):
    seq2seq, x, _, _ = trained
    forecast, _ = seq2seq.predict(x[:20])
    # Teacher-forcing the model with its own forecast must reproduce that forecast step by step.
    replayed = seq2seq.training_model.predict(seq2seq.training_inputs(x[:20], forecast), verbose=0)
    np.testing.assert_allclose(replayed[:, :, 0], forecast, rtol=1e-4, atol=1e-5)


@luong_only
def test_teacher_forced_step_t_never_sees_targets_from_t_on(trained):
    seq2seq, x, y, _ = trained
    t = 2
    perturbed = y.copy()
    perturbed[:, t:] += 10.0
    original = seq2seq.training_model.predict(seq2seq.training_inputs(x, y), verbose=0)
    changed = seq2seq.training_model.predict(seq2seq.training_inputs(x, perturbed), verbose=0)
    np.testing.assert_allclose(changed[:, : t + 1], original[:, : t + 1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(changed[:, t + 1 :], original[:, t + 1 :])


@luong_only
def test_forecasts_do_not_depend_on_values_after_the_window(trained):
    seq2seq, _, _, _ = trained
    values = series(120)
    cut = 60  # windows ending at or before this point are in the past
    future_changed = values.copy()
    future_changed[cut:] += np.random.default_rng(0).normal(size=future_changed[cut:].shape)
    forecast, attention = seq2seq.predict(windows_and_targets(values)[0])
    forecast_changed, attention_changed = seq2seq.predict(windows_and_targets(future_changed)[0])
    past = cut - WINDOW + 1
    np.testing.assert_allclose(forecast_changed[:past], forecast[:past], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(attention_changed[:past], attention[:past], rtol=1e-5, atol=1e-6)
    assert not np.allclose(forecast_changed[past:], forecast[past:])


@luong_only
def test_a_saved_model_loads_with_identical_forecasts(trained, tmp_path):
    seq2seq, x, _, _ = trained
    seq2seq.save(tmp_path / "seq2seq.keras")
    loaded = Seq2Seq.load(tmp_path / "seq2seq.keras")
    assert (loaded.target_index, loaded.horizon) == (TARGET, HORIZON)
    for expected, actual in zip(seq2seq.predict(x[:20]), loaded.predict(x[:20])):
        np.testing.assert_array_equal(actual, expected)
