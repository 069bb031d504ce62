import keras
import numpy as np
import pytest

from lstmops.config import ForecasterParams
from lstmops.tasks.forecaster.network import NETWORKS, build_forecaster

WINDOW, HORIZON = 12, 3


def sine_windows(n_windows: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of (sine, cosine) and the next HORIZON sine values."""
    t = np.arange(n_windows + WINDOW + HORIZON)
    features = np.stack([np.sin(t / 4), np.cos(t / 4)], axis=1).astype("float32")
    starts = np.arange(n_windows)[:, None]
    x = features[starts + np.arange(WINDOW)]  # (n, WINDOW, 2)
    y = features[starts + WINDOW + np.arange(HORIZON), 0]  # (n, HORIZON)
    return x, y


def test_forecasts_one_value_per_horizon_step():
    model = build_forecaster(WINDOW, 2, units=(8, 4), horizon=HORIZON)
    x, _ = sine_windows(5)
    assert keras.ops.convert_to_numpy(model(x)).shape == (5, HORIZON)
    assert model.input.name == "window"
    assert [layer.name for layer in model.layers if isinstance(layer, keras.layers.LSTM)] == [
        "lstm_1",
        "lstm_2",
    ]


def test_the_gru_variant_stacks_gru_layers_with_the_same_shapes():
    model = build_forecaster(WINDOW, 2, network="gru", units=(8, 4), horizon=HORIZON)
    x, _ = sine_windows(5)
    assert keras.ops.convert_to_numpy(model(x)).shape == (5, HORIZON)
    assert [layer.name for layer in model.layers if isinstance(layer, keras.layers.GRU)] == ["gru_1", "gru_2"]
    assert not any(isinstance(layer, keras.layers.LSTM) for layer in model.layers)


def test_params_offer_exactly_the_networks_the_builder_has():
    choices = ForecasterParams.model_fields["network"].annotation.__args__
    assert set(choices) == set(NETWORKS)
    with pytest.raises(ValueError, match="unknown forecaster network 'tcn'"):
        build_forecaster(WINDOW, 2, network="tcn")


def test_lstm_layers_stay_cudnn_eligible():
    for layer in build_forecaster(WINDOW, 2, units=(8, 4)).layers:
        if isinstance(layer, keras.layers.LSTM):
            config = layer.get_config()
            assert (config["activation"], config["recurrent_activation"]) == ("tanh", "sigmoid")
            assert config["recurrent_dropout"] == 0 and not config["unroll"] and config["use_bias"]


def test_a_tiny_model_fits_a_sine_and_beats_persistence():
    keras.utils.set_random_seed(0)
    x, y = sine_windows(300)
    model = build_forecaster(WINDOW, 2, units=(8,), dropout=0.0, learning_rate=1e-2, horizon=HORIZON)
    losses = model.fit(x, y, epochs=10, batch_size=32, verbose=0).history["loss"]
    assert losses[-1] < losses[0] / 10
    persistence_mse = np.mean((y - x[:, -1:, 0]) ** 2)
    assert model.evaluate(x, y, verbose=0)[0] < persistence_mse / 10


def test_an_empty_stack_is_rejected():
    with pytest.raises(ValueError, match="at least one recurrent layer"):
        build_forecaster(WINDOW, 2, units=())
