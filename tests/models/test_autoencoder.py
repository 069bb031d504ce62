import keras
import numpy as np
import pandas as pd
import pytest

from lstmops.config import AutoencoderParams
from lstmops.tasks.autoencoder.network import (
    NETWORKS,
    build_autoencoder,
    point_scores,
    reconstruction_scores,
    window_errors,
)

WINDOW = 16


def sliding_windows(series: np.ndarray, window: int, step: int = 1) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(series, window)[::step][:, :, None]


def sine(n_points: int) -> np.ndarray:
    return np.sin(2 * np.pi * np.arange(n_points) / 25).astype("float32")


@pytest.fixture(scope="module")
def trained_on_sine():
    keras.utils.set_random_seed(0)
    model = build_autoencoder(WINDOW, units=16, learning_rate=1e-2)
    history = model.fit(
        sliding_windows(sine(400), WINDOW), sliding_windows(sine(400), WINDOW), epochs=8, batch_size=32, verbose=0
    )
    return model, history.history["loss"]


# --- the model -------------------------------------------------------------------------


def test_reconstructs_windows_of_the_input_shape():
    model = build_autoencoder(WINDOW, 3, units=8)
    x = np.zeros((5, WINDOW, 3), dtype="float32")
    assert keras.ops.convert_to_numpy(model(x)).shape == (5, WINDOW, 3)
    assert model.input.name == "window"


def test_the_gru_variant_encodes_and_decodes_with_gru_layers():
    model = build_autoencoder(WINDOW, 3, network="gru", units=8)
    x = np.zeros((5, WINDOW, 3), dtype="float32")
    assert keras.ops.convert_to_numpy(model(x)).shape == (5, WINDOW, 3)
    assert [layer.name for layer in model.layers if isinstance(layer, keras.layers.GRU)] == [
        "encoder_gru",
        "decoder_gru",
    ]
    assert set(AutoencoderParams.model_fields["network"].annotation.__args__) == set(NETWORKS)


def test_lstm_layers_stay_cudnn_eligible():
    for layer in build_autoencoder(WINDOW, units=8).layers:
        if isinstance(layer, keras.layers.LSTM):
            config = layer.get_config()
            assert (config["activation"], config["recurrent_activation"]) == ("tanh", "sigmoid")
            assert config["recurrent_dropout"] == 0 and not config["unroll"] and config["use_bias"]


def test_training_on_a_sine_reduces_the_loss(trained_on_sine):
    _, losses = trained_on_sine
    assert losses[-1] < losses[0] / 10


def test_an_injected_spike_scores_higher_than_the_rest_of_the_signal(trained_on_sine):
    model, _ = trained_on_sine
    signal = sine(200)
    signal[120] += 1.5
    windows = sliding_windows(signal, WINDOW)
    scores = reconstruction_scores(windows, model.predict(windows, verbose=0), len(signal), smoothing_window=1)
    far_from_spike = np.r_[scores[:100], scores[140:]]
    assert scores[120] > 3 * far_from_spike.max()


# --- NumPy scoring, hand-computed ------------------------------------------------------


def test_window_errors_average_over_features_per_step():
    x = np.array([[[0.0, 0.0], [1.0, 1.0]]])  # one window, 2 steps, 2 features
    x_hat = np.array([[[1.0, 3.0], [1.0, 0.0]]])
    np.testing.assert_allclose(window_errors(x, x_hat), [[2.0, 0.5]])
    np.testing.assert_allclose(window_errors(x, x_hat, kind="squared"), [[5.0, 0.5]])


def test_point_scores_average_every_window_covering_a_point():
    errors = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_allclose(point_scores(errors, n_points=4), [1, 3, 4, 6])
    # Windows starting every 2 points: only point 2 is covered twice.
    np.testing.assert_allclose(point_scores(errors, n_points=5, step=2), [1, 2, 3.5, 5, 6])


def test_reconstruction_takes_the_median_over_overlapping_windows():
    signal = sliding_windows(np.arange(5.0), 3)  # windows [0 1 2] [1 2 3] [2 3 4]
    reconstructed = signal.copy()
    reconstructed[2, 0] = 8.0  # one of three windows covering point 2 is far off
    reconstructed[2, 2] = 6.0  # the only window covering point 4 misses by 2
    scores = reconstruction_scores(signal, reconstructed, 5, smoothing_window=1)
    np.testing.assert_allclose(scores, [0, 0, 0, 0, 2])  # a mean would give point 2 an error of 2


def test_reconstruction_scores_are_smoothed_by_a_centred_rolling_mean():
    signal = sliding_windows(np.zeros(5), 3)
    reconstructed = signal.copy()
    reconstructed[2, 2] = 3.0  # point errors [0 0 0 0 3]
    scores = reconstruction_scores(signal, reconstructed, 5, smoothing_window=3)
    np.testing.assert_allclose(scores, [0, 0, 0, 1, 1.5])  # ends average what the window holds


def test_area_error_integrates_the_difference_over_the_score_window():
    signal = sliding_windows(np.zeros(4), 2)
    reconstructed = signal.copy()
    reconstructed[0, 0] = 2.0  # differences [-2 0 0 0]; trapezoids over [i-1, i]
    scores = reconstruction_scores(signal, reconstructed, 4, smoothing_window=1, rec_error_type="area", score_window=2)
    np.testing.assert_allclose(scores, [0, 1, 0, 0])  # a lone point has no area


def test_reconstruction_scores_match_a_point_by_point_reference():
    rng = np.random.default_rng(1)
    series = rng.normal(size=300)
    signal = sliding_windows(series, 20)
    reconstructed = signal + rng.normal(scale=0.5, size=signal.shape)
    # Reference: for each point, the median of every reconstruction of it, then pandas' rolling.
    median = [
        np.median([reconstructed[t - j, j, 0] for j in range(20) if 0 <= t - j < len(signal)]) for t in range(300)
    ]
    expected = (
        pd.Series(np.abs(series - median)).rolling(2, center=True, min_periods=1).mean().to_numpy()
    )  # 1% of 281 windows
    np.testing.assert_allclose(reconstruction_scores(signal, reconstructed, 300), expected)


def test_a_series_length_that_the_windows_do_not_cover_is_rejected():
    windows = sliding_windows(np.zeros(10), 4)  # 7 windows cover 10 points
    with pytest.raises(ValueError, match="cover 10 points, but n_points is 12"):
        point_scores(windows[:, :, 0], n_points=12)
    with pytest.raises(ValueError, match="rec_error_type"):
        reconstruction_scores(windows, windows, 10, rec_error_type="dtw")
