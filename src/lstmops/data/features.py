"""Model inputs computed from canonical frames (see `lstmops.data`), causally: row t uses rows <= t only.

Causality matters twice: a feature that peeks at t+1 leaks the target into the inputs, and the same
code runs at serving time, when row t+1 does not exist yet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from lstmops.data.prices import PRICE_COLUMNS
from lstmops.data.sensors import SENSOR_COLUMNS


def _log_return(bars: pd.DataFrame) -> pd.Series:
    return np.log(bars["close"] / bars["close"].shift(1))


def _range(bars: pd.DataFrame) -> pd.Series:
    return (bars["high"] - bars["low"]) / bars["close"]


def _volume_change(bars: pd.DataFrame) -> pd.Series:
    # log((v_t + 1) / (v_{t-1} + 1)): the +1 keeps zero-volume bars (some feeds' holidays) finite.
    return np.log1p(bars["volume"]) - np.log1p(bars["volume"].shift(1))


def _gap(bars: pd.DataFrame) -> pd.Series:
    return np.log(bars["open"] / bars["close"].shift(1))


def _close(bars: pd.DataFrame) -> pd.Series:
    return bars["close"]


def _log_close(bars: pd.DataFrame) -> pd.Series:
    return np.log(bars["close"])


PRICE_FEATURES: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "log_return": _log_return,  # log(close_t / close_{t-1})
    "range": _range,  # (high_t - low_t) / close_t
    "volume_change": _volume_change,  # log((volume_t + 1) / (volume_{t-1} + 1))
    "gap": _gap,  # log(open_t / close_{t-1})
    "close": _close,  # close_t
    "log_close": _log_close,  # log(close_t)
}


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], order_by: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing} (has {list(frame.columns)})")
    if not frame[order_by].is_monotonic_increasing or frame[order_by].duplicated().any():
        raise ValueError(f"frame must be sorted by strictly increasing '{order_by}'")


def price_features(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Columns `date` + `names` (in that order) computed from a canonical price frame.

    The first bar has no previous close, so it is dropped: the result has len(frame) - 1 rows, and
    its row k describes the bar of frame row k + 1. Known names: see PRICE_FEATURES.
    """
    unknown = [name for name in names if name not in PRICE_FEATURES]
    if unknown or not names:
        raise ValueError(f"unknown price features {unknown or '(none given)'}; known: {sorted(PRICE_FEATURES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"price features listed twice: {list(names)}")
    _require_columns(frame, PRICE_COLUMNS, order_by="date")
    if len(frame) < 2:
        raise ValueError(f"price features need at least 2 bars, got {len(frame)}")

    bars = frame.reset_index(drop=True)
    bars[list(PRICE_COLUMNS[1:])] = bars[list(PRICE_COLUMNS[1:])].astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):  # bad prices are reported below, by date
        features = pd.DataFrame({"date": bars["date"]} | {name: PRICE_FEATURES[name](bars) for name in names})
    features = features.iloc[1:].reset_index(drop=True)

    values = features[list(names)].to_numpy()
    bad_rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad_rows.size:
        dates = features["date"].iloc[bad_rows[:5]].astype(str).tolist()
        raise ValueError(
            f"price features are NaN/inf on {bad_rows.size} bars (first: {dates}): "
            "non-positive or missing prices in the input"
        )
    return features


def sensor_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns `timestamp`, `value`, `imputed` from a canonical sensor frame.

    Missing values are forward-filled (the last observed value), which is causal; linear
    interpolation would read the next observation. Leading rows with no earlier observation are
    dropped. `imputed` marks the filled rows so plots and reports can show them.
    """
    _require_columns(frame, SENSOR_COLUMNS, order_by="timestamp")
    values = frame["value"].astype("float64").reset_index(drop=True)
    if values.isna().all():
        raise ValueError(f"sensor frame has no observed value in {len(frame)} rows")
    features = pd.DataFrame(
        {
            "timestamp": frame["timestamp"].reset_index(drop=True),
            "value": values.ffill(),
            "imputed": values.isna(),
        }
    )
    first_observed = values.first_valid_index()
    return features.iloc[first_observed:].reset_index(drop=True)
