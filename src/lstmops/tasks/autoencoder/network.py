"""LSTM autoencoder for windows of a signal, and the NumPy scoring that turns its
reconstructions into one anomaly score per timestamp.

Windows are assumed to start every `step` points: window i covers points
[i * step, i * step + window). Scoring mirrors Orion's `reconstruction_errors`
(sintel-dev/Orion, orion/primitives/timeseries_errors.py): the reconstruction of
each timestamp is the MEDIAN over all windows covering it, the error is taken
against the signal, then smoothed with a centred rolling mean.
"""

from __future__ import annotations

import math
from typing import Literal

import keras
import numpy as np

# Orion caps the smoothing window at 200 points whatever the series length.
MAX_SMOOTHING_WINDOW = 200
# The recurrent layers `models.autoencoder.network` chooses from.
NETWORKS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def build_autoencoder(
    window: int,
    n_features: int = 1,
    *,
    network: str = "lstm",
    units: int = 64,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """Encoder RNN -> RepeatVector -> decoder RNN -> per-step Dense, compiled with MSE; the RNNs
    are LSTM or GRU layers (`network`).

    The encoder's last hidden state (`units` wide) is the bottleneck.
    """
    if network not in NETWORKS:
        raise ValueError(f"unknown autoencoder network {network!r}; expected one of {', '.join(NETWORKS)}")
    recurrent = NETWORKS[network]
    inputs = keras.Input(shape=(window, n_features), name="window")  # (n, window, n_features)
    code = recurrent(units, name=f"encoder_{network}")(inputs)  # (n, units)
    repeated = keras.layers.RepeatVector(window, name="repeat_code")(code)  # (n, window, units)
    decoded = recurrent(units, return_sequences=True, name=f"decoder_{network}")(repeated)
    outputs = keras.layers.TimeDistributed(keras.layers.Dense(n_features), name="reconstruction")(
        decoded
    )  # (n, window, n_features)
    model = keras.Model(inputs, outputs, name=f"{network}_autoencoder")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model


def window_errors(x: np.ndarray, x_hat: np.ndarray, kind: Literal["absolute", "squared"] = "absolute") -> np.ndarray:
    """Per-window, per-step error averaged over features: (n_windows, window)."""
    x, x_hat = _as_windows(x, "x"), _as_windows(x_hat, "x_hat")
    if x.shape != x_hat.shape:
        raise ValueError(f"x has shape {x.shape} but x_hat has shape {x_hat.shape}")
    diff = x - x_hat
    if kind == "absolute":
        return np.abs(diff).mean(axis=2)
    if kind == "squared":
        return np.square(diff).mean(axis=2)
    raise ValueError(f"kind must be 'absolute' or 'squared', got {kind!r}")


def point_scores(step_errors: np.ndarray, n_points: int, step: int = 1) -> np.ndarray:
    """Mean of the errors of all windows covering each timestamp: (n_points,)."""
    errors = np.asarray(step_errors, dtype=float)
    if errors.ndim != 2:
        raise ValueError(f"step_errors must be (n_windows, window), got shape {errors.shape}")
    return np.nanmean(_stack_by_point(errors, n_points, step), axis=0)


def reconstruction_scores(
    signal_windows: np.ndarray,
    reconstructed_windows: np.ndarray,
    n_points: int,
    *,
    step: int = 1,
    smoothing_window: float | int = 0.01,
    rec_error_type: Literal["point", "area"] = "point",
    score_window: int = 10,
) -> np.ndarray:
    """Orion-style anomaly score per timestamp: (n_points,).

    1. reconstruction of each timestamp = median over the windows covering it;
    2. error against the signal: "point" = |signal - reconstruction|; "area" =
       |trapezoid area of (signal - reconstruction)| over a centred `score_window`;
       averaged over features;
    3. centred rolling mean of `smoothing_window` points (a float is a fraction of
       the number of windows, as in Orion, capped at 200; 1 means no smoothing).
    """
    signal = _as_windows(signal_windows, "signal_windows")
    reconstructed = _as_windows(reconstructed_windows, "reconstructed_windows")
    if signal.shape != reconstructed.shape:
        raise ValueError(
            f"signal_windows has shape {signal.shape} but reconstructed_windows has shape {reconstructed.shape}"
        )
    # Every window covering a point holds the same signal value; the median just picks it.
    true = _nanmedian_by_point(_stack_by_point(signal, n_points, step))  # (n_points, n_features)
    predicted = _nanmedian_by_point(_stack_by_point(reconstructed, n_points, step))
    if rec_error_type == "point":
        errors = np.abs(true - predicted)
    elif rec_error_type == "area":
        errors = np.abs(_centred_rolling(true - predicted, score_window, _trapezoid))
    else:
        raise ValueError(f"rec_error_type must be 'point' or 'area', got {rec_error_type!r}")
    errors = errors.mean(axis=1)

    if isinstance(smoothing_window, float):
        smoothing_window = min(math.trunc(len(signal) * smoothing_window), MAX_SMOOTHING_WINDOW)
    return centred_rolling_mean(errors, max(1, int(smoothing_window)))


def centred_rolling_mean(values: np.ndarray, width: int) -> np.ndarray:
    """pandas' rolling(width, center=True, min_periods=width // 2).mean() of a 1-D array, vectorised."""
    return _centred_rolling(np.asarray(values, dtype=float)[:, None], width, _mean)[:, 0]


def _as_windows(windows: np.ndarray, name: str) -> np.ndarray:
    """(n, window) or (n, window, n_features) -> float (n, window, n_features)."""
    array = np.asarray(windows, dtype=float)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[0] == 0:
        raise ValueError(f"{name} must be non-empty (n_windows, window[, n_features]), got shape {array.shape}")
    return array


def _stack_by_point(windows: np.ndarray, n_points: int, step: int) -> np.ndarray:
    """(n_windows, window, ...) -> (window, n_points, ...): entry [j, t] is the value that
    the window starting at t - j gives to point t, NaN where no window starts there."""
    n_windows, window = windows.shape[:2]
    if step < 1 or step > window:
        raise ValueError(f"step must be in 1..window ({window}) so every point is covered, got {step}")
    expected = (n_windows - 1) * step + window
    if n_points != expected:
        raise ValueError(
            f"{n_windows} windows of {window} points every {step} cover {expected} points, but n_points is {n_points}"
        )
    stacked = np.full((window, n_points) + windows.shape[2:], np.nan)
    covered = slice(0, (n_windows - 1) * step + 1, step)  # window starts
    for offset in range(window):  # one strided copy per position in the window
        stacked[offset, offset:][covered] = windows[:, offset]
    return stacked


def _nanmedian_by_point(stacked: np.ndarray) -> np.ndarray:
    """Median over axis 0 ignoring NaN, vectorised (np.nanmedian loops in Python)."""
    ordered = np.sort(stacked, axis=0)  # NaNs sort last
    count = np.sum(~np.isnan(stacked), axis=0, keepdims=True)
    low = np.take_along_axis(ordered, (count - 1) // 2, axis=0)
    high = np.take_along_axis(ordered, count // 2, axis=0)
    return ((low + high) / 2)[0]


def _centred_rolling(values: np.ndarray, width: int, reduce) -> np.ndarray:
    """pandas' rolling(width, center=True, min_periods=width // 2) along axis 0.

    The window at i covers [i - width // 2, i + width - 1 - width // 2], cut at the ends.
    """
    n = len(values)
    index = np.arange(n)
    first = np.clip(index - width // 2, 0, n - 1)
    last = np.clip(index + width - 1 - width // 2, 0, n - 1)
    cumulative = np.vstack([np.zeros((1,) + values.shape[1:]), np.cumsum(values, axis=0)])
    sums = cumulative[last + 1] - cumulative[first]
    counts = (last - first + 1)[:, None]
    result = reduce(sums, counts, values[first], values[last])
    return np.where(counts >= width // 2, result, np.nan)


def _mean(sums, counts, _first_values, _last_values):
    return sums / counts


def _trapezoid(sums, _counts, first_values, last_values):
    # Trapezoid rule with unit spacing: every value counts once except the two ends, half.
    return sums - (first_values + last_values) / 2
