"""Forecast metrics, split-conformal intervals and the model-vs-baselines report.

Arrays of equal shape in, floats out. A 1-D array is also accepted beside an (n, 1) array
(one-step forecasts), because the baselines return (n, horizon); any other shape mismatch is an
error rather than a silent NumPy broadcast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np


def _paired(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y_true.ndim == 1 and y_pred.shape == (len(y_true), 1):
        y_pred = y_pred[:, 0]
    elif y_pred.ndim == 1 and y_true.shape == (len(y_pred), 1):
        y_true = y_true[:, 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true shape {y_true.shape} does not match y_pred shape {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("cannot score empty arrays")
    return y_true, y_pred


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true, y_pred = _paired(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true, y_pred = _paired(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute percentage error, in percent, over the points whose actual is not zero.

    Zero actuals are skipped (the ratio is undefined there); NaN when every actual is zero.
    Meaningless for targets that hover around zero (returns): prefer MASE there.
    """
    y_true, y_pred = _paired(y_true, y_pred)
    nonzero = y_true != 0
    if not nonzero.any():
        return math.nan
    return float(100.0 * np.mean(np.abs((y_true[nonzero] - y_pred[nonzero]) / y_true[nonzero])))


def directional_accuracy(y_true: np.ndarray, y_pred: np.ndarray, y_prev: np.ndarray) -> float:
    """Share of points where the predicted change from y_prev has the sign of the actual change.

    y_prev is the last actual value before each target (for a price level, the previous close;
    for a target that is already a change, such as a log return, pass zeros). Points whose actual
    change is exactly zero have no direction to get right and are skipped; a predicted change of
    zero never matches a real move (so persistence scores 0). NaN when no point moved.
    (n, H) targets take y_prev of shape (n,): every step is compared with the last observed value.
    """
    y_true, y_pred = _paired(y_true, y_pred)
    y_prev = np.asarray(y_prev, dtype=float)
    if y_true.ndim == 2 and y_prev.shape == (len(y_true),):
        y_prev = y_prev[:, None]
    actual = np.sign(y_true - y_prev)
    predicted = np.sign(y_pred - y_prev)
    moved = actual != 0
    if not moved.any():
        return math.nan
    return float(np.mean(actual[moved] == predicted[moved]))


def mase(y_true: np.ndarray, y_pred: np.ndarray, y_naive: np.ndarray) -> float:
    """MAE of the model divided by the MAE of the naive (persistence) forecast on the SAME points.

    This is the "relative to naive on the test points" variant: < 1 means the model beats
    persistence where it was evaluated. It is not Hyndman's MASE, which scales by the in-sample
    naive error (see `mase_insample`). NaN when the naive forecast is perfect.
    """
    naive_error = mae(y_true, y_naive)
    if naive_error == 0:
        return math.nan
    return mae(y_true, y_pred) / naive_error


def mase_insample(y_true: np.ndarray, y_pred: np.ndarray, y_train: np.ndarray, season: int = 1) -> float:
    """Hyndman & Koehler's MASE: test MAE over the in-sample MAE of the seasonal naive forecast.

    The scale is mean |y_train[i] - y_train[i - season]| over the training series.
    """
    y_train = np.asarray(y_train, dtype=float)
    if y_train.ndim != 1 or len(y_train) <= season:
        raise ValueError(f"y_train must be 1-D with more than season={season} values, got shape {y_train.shape}")
    scale = float(np.mean(np.abs(y_train[season:] - y_train[:-season])))
    if scale == 0:
        return math.nan
    return mae(y_true, y_pred) / scale


def _per_step_errors(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    y_true, y_pred = _paired(y_true, y_pred)
    if y_true.ndim != 2:
        raise ValueError(f"per-step metrics need (n, horizon) arrays, got shape {y_true.shape}")
    return y_true - y_pred


def per_step_mae(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """MAE of each horizon step: shape (horizon,)."""
    return np.mean(np.abs(_per_step_errors(y_true, y_pred)), axis=0)


def per_step_rmse(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """RMSE of each horizon step: shape (horizon,)."""
    return np.sqrt(np.mean(_per_step_errors(y_true, y_pred) ** 2, axis=0))


def conformal_interval(calibration_residuals: np.ndarray, alpha: float = 0.1) -> float:
    """Split-conformal half-width q: y_hat ± q covers a new point with probability >= 1 - alpha.

    Residuals are y - y_hat on a calibration set the model did not train on (absolute values are
    taken). q is the ceil((n+1)(1-alpha))-th smallest absolute residual, i.e. the empirical
    quantile at level ceil((n+1)(1-alpha))/n (the finite-sample correction); inf when n is too small
    for that level (ceil((n+1)(1-alpha)) > n).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    scores = np.abs(np.asarray(calibration_residuals, dtype=float)).ravel()
    n = len(scores)
    if n == 0:
        raise ValueError("conformal_interval needs at least one calibration residual")
    rank = math.ceil((n + 1) * (1 - alpha))
    if rank > n:
        return math.inf
    return float(np.partition(scores, rank - 1)[rank - 1])


def coverage(y_true: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actuals inside the closed interval [lower, upper]."""
    y_true, lower = _paired(y_true, lower)
    y_true, upper = _paired(y_true, upper)
    return float(np.mean((lower <= y_true) & (y_true <= upper)))


def _point_metrics(y_true: np.ndarray, y_pred: np.ndarray, y_prev: np.ndarray, y_naive: np.ndarray) -> dict[str, float]:
    return {
        "rmse": rmse(y_true, y_pred),
        "mae": mae(y_true, y_pred),
        "mape": mape(y_true, y_pred),
        "directional_accuracy": directional_accuracy(y_true, y_pred, y_prev),
        "mase": mase(y_true, y_pred, y_naive),
    }


def forecast_report(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_prev: np.ndarray,
    baselines: Mapping[str, np.ndarray],
) -> dict[str, float]:
    """The model's metrics with every baseline's beside them, as one flat dict of floats.

    Keys: `rmse`, `mae`, `mape`, `directional_accuracy`, `mase` for the model and the same names
    suffixed `_<baseline>` (e.g. `rmse_persistence`, `mase_drift`). `baselines` must contain
    'persistence': MASE of everything is measured against it on these same points (so
    `mase_persistence` is 1 by construction).
    """
    if "persistence" not in baselines:
        raise ValueError(f"baselines must include 'persistence' (MASE is relative to it); got {sorted(baselines)}")
    naive = baselines["persistence"]
    report = _point_metrics(y_true, y_pred, y_prev, naive)
    for name, predictions in baselines.items():
        for metric, value in _point_metrics(y_true, predictions, y_prev, naive).items():
            report[f"{metric}_{name}"] = value
    return report
