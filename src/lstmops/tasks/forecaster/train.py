"""Train the price forecaster: a window of engineered bar features -> the next bar's target
(a log return by default), mapped back to a closing price with a split-conformal interval.

Everything needed to forecast from RAW bars travels with the model (`TrainedForecaster`): the input
features and their train-only scaler, the target and its train-only scaler, the window and the
conformal quantile calibrated on the later half of the validation part (the earlier half early-stops
training, so its residuals, which picked the epoch, never calibrate).

Intervals are normalized split-conformal, in target space: `target_hat ± q * sigma_t`, where sigma_t
is the local volatility (std of the one-bar changes of the close inside the input window, in logs
for log targets: known at forecast time) and q the conformal quantile of the validation scores
|residual| / sigma. Volatility comes in regimes (real stocks, the GARCH demo): a fixed half-width
calibrated in a calm stretch under-covers a volatile one, a volatility-scaled one does not.
For a log-return target the interval maps to prices multiplicatively, close_{t-1} * exp(r_hat ± q
sigma_t); exp is monotone, so the price interval covers close_t exactly when the return interval
covers r_t, and a half-width in log units stays right wherever the price level moves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import keras
import numpy as np
import pandas as pd

from lstmops.config import Params
from lstmops.data.demo_prices import demo_prices
from lstmops.data.features import price_features
from lstmops.data.prepare import PreparedSeries
from lstmops.data.scaling import StandardScaler
from lstmops.data.windows import SupervisedWindows, sliding_windows, supervised_windows
from lstmops.evaluate.metrics import conformal_interval
from lstmops.tasks.forecaster.network import build_forecaster
from lstmops.train.common import (
    MODEL_FILE,
    WindowBatches,
    device_report,
    fit,
    predict,
    read_state,
    set_seed,
    write_state,
)

# How each supported target maps back to a closing price, given the previous close.
SUPPORTED_TARGETS = ("log_return", "log_close", "close")
LOG_TARGETS = ("log_return", "log_close")  # residuals in log units: volatility of log changes
# The validation part's later rows calibrate the conformal interval; its earlier rows early-stop.
# Residuals of rows that chose the epoch would come out a little small, and the interval too narrow.
CALIBRATION_FRACTION = 0.5
VOLATILITY_FLOOR = 1e-12  # a flat window would otherwise give a zero-width interval (and 0/0 scores)


def _to_price(values: np.ndarray, previous_close: np.ndarray, target: str) -> np.ndarray:
    if target == "log_return":
        return previous_close * np.exp(values)
    if target == "log_close":
        return np.exp(values)
    if target == "close":
        return values
    raise ValueError(f"forecaster target {target!r} has no price mapping; supported: {list(SUPPORTED_TARGETS)}")


def local_volatility(close: np.ndarray, window: int, t: np.ndarray, *, log: bool) -> np.ndarray:
    """Std of the window-1 one-bar changes of `close` in rows t-window..t-1 (the input window of row t)."""
    levels = np.log(close) if log else np.asarray(close, dtype=np.float64)
    changes = np.diff(levels)  # changes[k]: row k -> k+1
    sigma = sliding_windows(changes, window - 1)[np.asarray(t) - window].std(axis=1)
    return np.maximum(sigma, VOLATILITY_FLOOR)


@dataclass
class TrainedForecaster:
    model: keras.Model
    features: list[str]  # model input columns, in order (see lstmops.data.features.PRICE_FEATURES)
    target: str  # one of SUPPORTED_TARGETS
    window: int
    input_scaler: StandardScaler  # fitted on the training part's inputs
    target_scaler: StandardScaler  # fitted on the training part's targets
    interval_alpha: float
    interval_quantile: float  # conformal q: the interval is target_hat ± q * local volatility
    history: dict[str, list[float]]
    device: dict[str, Any]
    kind: ClassVar[str] = "forecaster"

    @property
    def table_columns(self) -> list[str]:
        """Feature-table columns a forecast reads: the inputs, the target and the close."""
        return list(dict.fromkeys([*self.features, self.target, "close"]))

    def forecast_table(self, table: pd.DataFrame, start: int, stop: int) -> pd.DataFrame:
        """Forecasts of table rows t in [max(start, window), stop), stop <= len(table) + 1.

        `table` is a price feature table (lstmops.data.features.price_features) holding
        `table_columns`. Row t is forecast from rows t-window..t-1 only. t = len(table) is the bar
        after the table (dated the next business day, holidays not known here; actual NaN).
        Columns: date, actual, predicted, lower, upper (closes), persistence (the previous close).
        """
        missing = [column for column in self.table_columns if column not in table.columns]
        if missing:
            raise ValueError(
                f"feature table lacks columns {missing} that this forecaster reads (has {list(table.columns)})"
            )
        n = len(table)
        start = max(start, self.window)
        if not start < stop <= n + 1:
            raise ValueError(f"cannot forecast rows {start}..{stop} of a {n}-row table with window {self.window}")
        inputs = self.input_scaler.transform(table[self.features].to_numpy())
        # Window j covers rows j..j+window-1 and predicts row j+window (the last one: the next bar).
        windows = sliding_windows(inputs, self.window)[start - self.window : stop - self.window]
        predicted = self.target_scaler.inverse_transform(predict(self.model, windows)[:, 0])
        close = table["close"].to_numpy()
        halfwidth = self.interval_quantile * local_volatility(
            close, self.window, np.arange(start, stop), log=self.target in LOG_TARGETS
        )

        previous_close = close[start - 1 : stop - 1]
        dates = table["date"].iloc[start:stop].tolist()
        actual = close[start:stop]
        if stop == n + 1:
            dates.append(table["date"].iloc[-1] + pd.offsets.BDay(1))
            actual = np.append(actual, np.nan)
        return pd.DataFrame(
            {
                "date": pd.to_datetime(dates),
                "actual": actual,
                "predicted": _to_price(predicted, previous_close, self.target),
                "lower": _to_price(predicted - halfwidth, previous_close, self.target),
                "upper": _to_price(predicted + halfwidth, previous_close, self.target),
                "persistence": previous_close,
            }
        )

    def predict_raw(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Raw canonical price bars (date, open, high, low, close, volume) -> one row per predictable bar.

        Every bar with `window` bars of features before it gets a row (date, actual, predicted_close,
        lower, upper), plus a last row for the next business day after the frame: the real
        forecast, with actual NaN. Each forecast reads only earlier bars.
        """
        table = price_features(frame, self.table_columns)
        if len(table) < self.window:
            raise ValueError(f"predict_raw needs at least window + 1 = {self.window + 1} bars, got {len(frame)}")
        points = self.forecast_table(table, self.window, len(table) + 1)
        return points.rename(columns={"predicted": "predicted_close"})[
            ["date", "actual", "predicted_close", "lower", "upper"]
        ]

    def input_example(self) -> pd.DataFrame:
        """A small raw frame predict_raw accepts (made-up bars, enough for one forecast)."""
        return demo_prices("EXAMPLE", n_days=self.window + 1)

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save(folder / MODEL_FILE)
        write_state(
            folder,
            self.kind,
            {
                "features": self.features,
                "target": self.target,
                "window": self.window,
                "input_scaler": self.input_scaler.to_dict(),
                "target_scaler": self.target_scaler.to_dict(),
                "interval_alpha": self.interval_alpha,
                "interval_quantile": self.interval_quantile,
                "history": self.history,
                "device": self.device,
            },
        )

    @classmethod
    def load(cls, folder: Path) -> TrainedForecaster:
        folder = Path(folder)
        state = read_state(folder, cls.kind)
        return cls(
            model=keras.saving.load_model(folder / MODEL_FILE, compile=False),
            features=list(state["features"]),
            target=state["target"],
            window=int(state["window"]),
            input_scaler=StandardScaler.from_dict(state["input_scaler"]),
            target_scaler=StandardScaler.from_dict(state["target_scaler"]),
            interval_alpha=float(state["interval_alpha"]),
            interval_quantile=float(state["interval_quantile"]),
            history=state["history"],
            device=state["device"],
        )


def _validation_windows(inputs: np.ndarray, target: np.ndarray, prepared: PreparedSeries) -> SupervisedWindows:
    try:
        return supervised_windows(inputs, target, prepared.window, split=prepared.split.val)
    except ValueError as err:
        raise ValueError(
            f"{prepared.series}: the forecaster needs a validation part (early stopping and conformal "
            f"calibration), but rows {prepared.split.val.start}..{prepared.split.val.stop} hold none: {err}"
        ) from err


def train_forecaster(prepared: PreparedSeries, params: Params) -> TrainedForecaster:
    """Fit the LSTM on the training part (early stopping on the validation part's earlier rows),
    calibrate intervals on its later rows (CALIBRATION_FRACTION)."""
    if prepared.kind != "prices":
        raise ValueError(f"{prepared.series}: the forecaster trains on price series, got {prepared.kind!r}")
    if prepared.window < 3:
        raise ValueError(
            f"{prepared.series}: the forecaster needs windows.prices.window >= 3 (local "
            f"volatility is the std of the window's one-bar changes), got {prepared.window}"
        )
    if prepared.target not in SUPPORTED_TARGETS:
        raise ValueError(
            f"{prepared.series}: forecaster target {prepared.target!r} has no price mapping; "
            f"set windows.prices.target to one of {list(SUPPORTED_TARGETS)}"
        )
    set_seed(params.train.seed)
    config = params.models.forecaster
    inputs = prepared.scaled_inputs()
    target = prepared.features[prepared.target].to_numpy(dtype=np.float64)
    # A scaled target puts the output layer's scale near 1 whatever the price or return size.
    target_scaler = StandardScaler().fit(target[prepared.split.train])
    scaled_target = target_scaler.transform(target)

    train = supervised_windows(inputs, scaled_target, prepared.window, split=prepared.split.train)
    windows = _validation_windows(inputs, scaled_target, prepared)
    cut = round(len(windows.t_index) * (1 - CALIBRATION_FRACTION))
    val, calibration = (SupervisedWindows(*(part[rows] for part in windows)) for rows in (slice(cut), slice(cut, None)))
    model = build_forecaster(
        prepared.window,
        len(prepared.columns),
        network=config.network,
        units=config.units,
        dropout=config.dropout,
        learning_rate=config.learning_rate,
    )
    batch_size = params.train.batch_size
    history = fit(
        model,
        WindowBatches(train.X, train.y, batch_size=batch_size, shuffle=True, seed=params.train.seed),
        validation=WindowBatches(val.X, val.y, batch_size=batch_size),
        params=params.train,
    )
    # Calibration rows steered neither the weights nor the epoch.
    predicted = target_scaler.inverse_transform(predict(model, calibration.X)[:, 0])
    sigma = local_volatility(
        prepared.features["close"].to_numpy(), prepared.window, calibration.t_index, log=prepared.target in LOG_TARGETS
    )
    quantile = conformal_interval((target[calibration.t_index] - predicted) / sigma, config.interval_alpha)
    if not math.isfinite(quantile):
        raise ValueError(
            f"{prepared.series}: {len(calibration.t_index)} calibration windows (the later "
            f"{CALIBRATION_FRACTION:.0%} of the validation part) are too few for a "
            f"{1 - config.interval_alpha:.0%} conformal interval; lengthen the series or the val split"
        )
    return TrainedForecaster(
        model=model,
        features=list(prepared.columns),
        target=prepared.target,
        window=prepared.window,
        input_scaler=prepared.scaler,
        target_scaler=target_scaler,
        interval_alpha=config.interval_alpha,
        interval_quantile=quantile,
        history=history,
        device=device_report(),
    )
