"""Stacked recurrent forecaster (LSTM or GRU): a window of past steps (several features) -> the
next `horizon` values. `NETWORKS` names the recurrent layers `models.forecaster.network` chooses from."""

from __future__ import annotations

from collections.abc import Sequence

import keras

NETWORKS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def build_forecaster(
    window: int,
    n_features: int,
    *,
    network: str = "lstm",
    units: Sequence[int] = (64, 32),
    dropout: float = 0.1,
    learning_rate: float = 1e-3,
    horizon: int = 1,
    loss: str = "mse",
) -> keras.Model:
    """Recurrent stack (`network`: lstm or gru) -> Dense(horizon), compiled with Adam and `loss` (MSE by default: the
    evaluation reports RMSE; pass "huber" for heavy-tailed targets), metric MAE.

    Dropout sits between layers, never inside the recurrent layer (recurrent_dropout would rule out cuDNN).
    """
    if not units:
        raise ValueError("units must name at least one recurrent layer")
    if network not in NETWORKS:
        raise ValueError(f"unknown forecaster network {network!r}; expected one of {', '.join(NETWORKS)}")
    recurrent = NETWORKS[network]
    inputs = keras.Input(shape=(window, n_features), name="window")  # (n, window, n_features)
    hidden = inputs
    for depth, width in enumerate(units, start=1):
        last = depth == len(units)
        # Only the last recurrent layer collapses the sequence; the ones below feed it every step.
        hidden = recurrent(width, return_sequences=not last, name=f"{network}_{depth}")(hidden)
        if dropout:
            hidden = keras.layers.Dropout(dropout, name=f"dropout_{depth}")(hidden)
    outputs = keras.layers.Dense(horizon, name="forecast")(hidden)  # (n, horizon)
    model = keras.Model(inputs, outputs, name=f"{network}_forecaster")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=["mae"])
    return model
