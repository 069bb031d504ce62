"""Naive baselines that every evaluation reports beside the model (arrays in, arrays out).

Alignment, shared with the models: row i of `windows` holds the target series' values
y[t-w+1], ..., y[t] (t = the last observed time of that row, w = window length), and column h-1
of a forecast (h = 1..horizon) predicts y[t+h]. So a baseline built from the *same* windows the
model sees is scored on exactly the same test points. Windows must be in the units the metrics
are computed in (usually the unscaled target column).

The forecast baselines return shape (n, horizon); for one-step forecasts take `[:, 0]`.
`rolling_zscore_scores` is the anomaly baseline: one causal score per point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view


def _as_windows(windows: np.ndarray) -> np.ndarray:
    windows = np.asarray(windows, dtype=float)
    if windows.ndim != 2:
        raise ValueError(f"windows must be 2-D (n, window), got shape {windows.shape}")
    return windows


def _check_horizon(horizon: int) -> None:
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")


def persistence(history_last: np.ndarray, horizon: int = 1) -> np.ndarray:
    """Repeat the last observed value y[t] for every step: shape (n, horizon)."""
    _check_horizon(horizon)
    history_last = np.asarray(history_last, dtype=float)
    if history_last.ndim != 1:
        raise ValueError(f"history_last must be 1-D (n,), got shape {history_last.shape}")
    return np.repeat(history_last[:, None], horizon, axis=1)


def drift(windows: np.ndarray, horizon: int = 1) -> np.ndarray:
    """Extend the line through the window's first and last values: y[t] + h * (y[t] - y[t-w+1]) / (w-1)."""
    _check_horizon(horizon)
    windows = _as_windows(windows)
    if windows.shape[1] < 2:
        raise ValueError("drift needs windows of at least 2 values")
    slope = (windows[:, -1] - windows[:, 0]) / (windows.shape[1] - 1)
    steps = np.arange(1, horizon + 1)
    return windows[:, -1:] + slope[:, None] * steps[None, :]


def seasonal_naive(windows: np.ndarray, season: int, horizon: int = 1) -> np.ndarray:
    """y_hat[t+h] = y[t+h-season*k] with the smallest k such that h <= season*k (k = ceil(h/season)).

    The value used is always among the last `season` values of the window, so windows must hold
    at least one full season. season=1 is persistence.
    """
    _check_horizon(horizon)
    windows = _as_windows(windows)
    if season < 1:
        raise ValueError(f"season must be >= 1, got {season}")
    width = windows.shape[1]
    if width < season:
        raise ValueError(f"seasonal_naive needs windows of at least season={season} values, got {width}")
    steps = np.arange(1, horizon + 1)
    cycles = -(-steps // season)  # ceil(h / season)
    # column of y[t+h-season*k] when column width-1 holds y[t]
    columns = width - 1 + steps - season * cycles
    return windows[:, columns]


def seasonal_naive_at(values: np.ndarray, origins: np.ndarray, season: int, horizon: int) -> np.ndarray:
    """(n, horizon) seasonal-naive forecasts of the series `values` from each origin row t (the last
    observed row; needs t >= season - 1): `seasonal_naive` of the season-long window ending at t."""
    values = np.asarray(values, dtype=float)
    origins = np.asarray(origins)
    if len(origins) and origins.min() < season - 1:
        raise ValueError(f"origins must be >= season - 1 = {season - 1}, got {origins.min()}")
    # Row i of the season-long windows ends at row i + season - 1, so origin t is row t - season + 1.
    return seasonal_naive(sliding_window_view(values, season)[origins - season + 1], season, horizon)


def rolling_zscore_scores(values: np.ndarray, window: int) -> np.ndarray:
    """Anomaly score |x_t - mean| / std over the `window` values *before* t (x_t itself excluded).

    Causal: the score at t reads only x[t-window], ..., x[t], never a later value. The first
    `window` points have no full past and score 0. std is the population std (ddof=0); a flat past
    window gets a tiny floor instead of 0, so a departure from a flat line scores huge but finite
    (ranking metrics such as ROC-AUC need finite scores).
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {values.shape}")
    if window < 2:
        raise ValueError(f"window must be >= 2, got {window}")
    if not np.isfinite(values).all():
        bad = np.flatnonzero(~np.isfinite(values))[:5].tolist()
        raise ValueError(f"values contain NaN/inf at positions {bad} (impute before scoring)")
    past = pd.Series(values).shift(1).rolling(window, min_periods=window)
    mean = past.mean().to_numpy()
    std = past.std(ddof=0).to_numpy()
    scores = np.abs(values - mean) / np.maximum(std, 1e-12)
    return np.nan_to_num(scores, nan=0.0)
