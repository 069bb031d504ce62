"""The seq2seq's linear autoregressive highway (LSTNet-style): what it reads, how it joins the residual."""

import keras
import numpy as np
import pytest

from lstmops.config import Seq2SeqParams
from lstmops.tasks.seq2seq.network import SeasonalResidualSeq2Seq, build_seasonal_residual_seq2seq

WINDOW, HORIZON, SEASONS, CALENDAR, HIGHWAY = 24, 6, 2, 2, 8


def inputs(rng, n=16):
    x = rng.normal(size=(n, WINDOW, 2 + CALENDAR)).astype("float32")
    decoder = rng.normal(size=(n, HORIZON, SEASONS + CALENDAR)).astype("float32")
    return x, decoder


def network(**options):
    return build_seasonal_residual_seq2seq(WINDOW, 2 + CALENDAR, HORIZON, SEASONS + CALENDAR, units=8, **options)


def test_the_highway_starts_at_zero_and_adds_a_linear_function_of_the_lags_and_naives():
    model = network(highway=HIGHWAY)
    x, decoder = inputs(np.random.default_rng(0))
    before, _ = model.predict(x, decoder)
    layer = model.model.get_layer("highway")
    assert not any(np.any(weights) for weights in layer.get_weights())  # starts as the plain network
    kernel = np.random.default_rng(1).normal(size=layer.kernel.shape).astype("float32")
    bias = np.random.default_rng(2).normal(size=HORIZON).astype("float32")

    layer.set_weights([kernel, bias])
    after, _ = model.predict(x, decoder)

    # the last HIGHWAY values of the window (channel 0), then each step's seasonal naives; no calendar
    read = np.concatenate([x[:, -HIGHWAY:, 0], decoder[:, :, :SEASONS].reshape(len(x), -1)], axis=1)
    assert kernel.shape == (HIGHWAY + HORIZON * SEASONS, HORIZON)
    np.testing.assert_allclose(after - before, read @ kernel + bias, rtol=1e-4, atol=1e-4)


def test_with_window_normalisation_the_highway_still_follows_a_shift_of_the_level():
    model = network(highway=HIGHWAY, normalise="window")
    layer = model.model.get_layer("highway")
    layer.set_weights([w + 0.1 for w in layer.get_weights()])
    x, decoder = inputs(np.random.default_rng(3))
    shifted_x, shifted_decoder = x.copy(), decoder.copy()
    shifted_x[:, :, 0] += 3.0
    shifted_decoder[:, :, :SEASONS] += 3.0

    np.testing.assert_allclose(
        model.predict(shifted_x, shifted_decoder)[0], model.predict(x, decoder)[0] + 3.0, atol=1e-3
    )


def test_each_ensemble_member_has_its_own_highway():
    model = network(highway=HIGHWAY, members=2)

    assert {layer.name for layer in model.model.layers if layer.name.startswith("highway_member")} == {
        "highway_member_0",
        "highway_member_1",
    }


def test_a_network_with_a_highway_saves_and_loads(tmp_path):
    model = network(highway=HIGHWAY)
    layer = model.model.get_layer("highway")
    layer.set_weights([w + 0.5 for w in layer.get_weights()])
    x, decoder = inputs(np.random.default_rng(4))
    model.save(tmp_path / "model.keras")

    loaded = SeasonalResidualSeq2Seq.load(tmp_path / "model.keras")

    np.testing.assert_allclose(loaded.predict(x, decoder)[0], model.predict(x, decoder)[0], rtol=1e-5)
    assert isinstance(loaded.model.get_layer("highway"), keras.layers.Dense)


def test_a_network_highway_longer_than_its_window_or_one_without_the_direct_decoder_is_refused():
    with pytest.raises(ValueError, match="highway must be in 0..24"):
        network(highway=WINDOW + 1)
    with pytest.raises(ValueError, match="highway=8 needs decoder seasonal_residual"):
        Seq2SeqParams.model_validate({"decoder": "recursive", "highway": 8})


def test_a_configured_highway_longer_than_the_window_reads_the_whole_window(tiny_params, demo_series, tmp_path):
    from lstmops.tasks.seq2seq.train import train_seq2seq

    params = tiny_params(
        tmp_path,
        "seq2seq",
        **{"models.seq2seq.window": 12, "models.seq2seq.horizon": 4, "models.seq2seq.highway": 96},
        **{"models.seq2seq.units": 4, "models.seq2seq.normalise": "series", "train.epochs": 1},
    )
    trained = train_seq2seq(demo_series(params, "sensors").prepared, params)

    assert trained.model.get_layer("highway_lags").steps == 12
