"""Train the attention seq2seq forecaster on a sensor series; forecast H steps from raw frames.

One forecast ORIGIN is a row t, the last observed value. Its inputs are rows t-window+1..t: the
value MinMax-scaled with the training part's scaler, plus optional calendar columns (sin and cos of
each row's phase in the day and/or the week, computed from the row's own timestamp, so causal).
Its targets are the scaled values of rows t+1..t+H. Rows are taken as consecutive samples: a
missing sample (a gap in the timestamps) is not filled in.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import keras
import numpy as np
import pandas as pd

from lstmops.config import Params
from lstmops.data.features import sensor_features
from lstmops.data.prepare import PreparedSeries
from lstmops.data.scaling import MinMaxScaler
from lstmops.data.windows import sliding_windows, supervised_windows
from lstmops.tasks.seq2seq.network import Seq2Seq, build_seq2seq
from lstmops.train.common import MODEL_FILE, WindowBatches, device_report, fit, read_state, set_seed, write_state

CALENDAR_PERIODS = {"day": pd.Timedelta(days=1), "week": pd.Timedelta(days=7)}
# A Monday at midnight: week phase 0 is Monday 00:00 and day phase 0 is midnight.
_PHASE_ORIGIN = pd.Timestamp("1970-01-05")
_PREDICT_CHUNK = 2048  # origins per predict call: memory stays O(chunk x window), not O(series x window)


def calendar_features(timestamps: pd.Series, names: Sequence[str]) -> np.ndarray:
    """(n, 2 * len(names)): sin and cos of each timestamp's phase in each named period."""
    unknown = [name for name in names if name not in CALENDAR_PERIODS]
    if unknown:
        raise ValueError(f"unknown calendar features {unknown}; known: {sorted(CALENDAR_PERIODS)}")
    elapsed = (pd.to_datetime(pd.Series(timestamps)) - _PHASE_ORIGIN).to_numpy()
    columns = []
    for name in names:
        period = CALENDAR_PERIODS[name].to_timedelta64()
        phase = 2 * np.pi * ((elapsed % period) / period)
        columns += [np.sin(phase), np.cos(phase)]
    return np.stack(columns, axis=1) if columns else np.empty((len(elapsed), 0))


@dataclass
class TrainedSeq2Seq:
    seq2seq: Seq2Seq
    scaler: MinMaxScaler  # of the value, fitted on the training part
    window: int
    calendar: tuple[str, ...]
    sampling_interval: pd.Timedelta  # median interval of the training rows (input_example spacing)
    history: dict[str, list[float]]
    device: dict
    kind: ClassVar[str] = "seq2seq"

    @property
    def model(self) -> keras.Model:
        return self.seq2seq.model

    @property
    def horizon(self) -> int:
        return self.seq2seq.horizon

    def model_inputs(self, features: pd.DataFrame) -> np.ndarray:
        """(n, 1 + 2 * len(calendar)) per row: the scaled value (column 0, the target), then calendar."""
        value = self.scaler.transform(features["value"].to_numpy(dtype="float64"))
        return np.column_stack([value, calendar_features(features["timestamp"], self.calendar)])

    def forecast(self, features: pd.DataFrame, origins: np.ndarray) -> np.ndarray:
        """Forecasts (n, H) in the value's units for the given origin rows of `features`."""
        return np.concatenate([forecast for forecast, _ in self._decode(features, origins)])

    def forecast_with_attention(self, features: pd.DataFrame, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forecasts (n, H) in the value's units and attention weights (n, H, window)."""
        chunks = list(self._decode(features, origins))
        return np.concatenate([f for f, _ in chunks]), np.concatenate([a for _, a in chunks])

    def _decode(self, features: pd.DataFrame, origins: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(forecast, attention) chunk by chunk: memory O(chunk x window), whatever the series length."""
        origins = np.asarray(origins, dtype=int)
        if origins.size == 0:
            raise ValueError("no origins to forecast")
        if origins.min() < self.window - 1 or origins.max() >= len(features):
            raise ValueError(
                f"origins must be rows {self.window - 1}..{len(features) - 1} (a full window of "
                f"{self.window} rows ending at each), got rows {origins.min()}..{origins.max()}"
            )
        windows = sliding_windows(self.model_inputs(features), self.window)  # row i ends at i + window - 1
        for start in range(0, len(origins), _PREDICT_CHUNK):
            rows = origins[start : start + _PREDICT_CHUNK] - (self.window - 1)
            scaled, attention = self.seq2seq.predict(windows[rows])
            yield self.scaler.inverse_transform(scaled), attention

    def predict_raw(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Raw `timestamp,value` frame -> one row per (origin, step): origin, step, timestamp, forecast.

        Every row with a full window behind it is an origin, the last row included (the forecast into
        the future). A forecast's timestamp is origin + step x the frame's median sampling interval.
        Missing values are forward-filled and leading missing rows dropped, as in training.
        """
        features = sensor_features(frame)
        if len(features) < self.window:
            raise ValueError(f"predict_raw needs at least window={self.window} observed rows, got {len(features)}")
        origins = np.arange(self.window - 1, len(features))
        forecast = self.forecast(features, origins)
        origin_times = features["timestamp"].to_numpy()[origins]
        steps = np.arange(1, self.horizon + 1)
        interval = features["timestamp"].diff().median()
        return pd.DataFrame(
            {
                "origin": np.repeat(origin_times, self.horizon),
                "step": np.tile(steps, len(origins)),
                "timestamp": (origin_times[:, None] + steps[None, :] * interval.to_timedelta64()).ravel(),
                "forecast": forecast.ravel(),
            }
        )

    def input_example(self) -> pd.DataFrame:
        """One window of a flat signal in the middle of the training range: the smallest valid input."""
        middle = float((self.scaler.data_min[0] + self.scaler.data_max[0]) / 2)
        timestamps = pd.date_range("2024-01-01", periods=self.window, freq=self.sampling_interval)
        return pd.DataFrame({"timestamp": timestamps.astype("datetime64[ns]"), "value": middle})

    def save(self, folder: Path) -> None:
        """folder/model.keras (weights and architecture) + preprocessing.json (state, history, device)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.seq2seq.save(folder / MODEL_FILE)
        write_state(
            folder,
            self.kind,
            {
                "window": self.window,
                "calendar": list(self.calendar),
                "sampling_interval_seconds": self.sampling_interval.total_seconds(),
                "scaler": self.scaler.to_dict(),
                "history": self.history,
                "device": self.device,
            },
        )

    @classmethod
    def load(cls, folder: Path) -> TrainedSeq2Seq:
        folder = Path(folder)
        preprocessing = read_state(folder, cls.kind)
        legacy = folder / "training.json"  # where versions saved before history moved kept it
        training = json.loads(legacy.read_text()) if legacy.exists() else preprocessing
        return cls(
            seq2seq=Seq2Seq.load(folder / MODEL_FILE),
            scaler=MinMaxScaler.from_dict(preprocessing["scaler"]),
            window=int(preprocessing["window"]),
            calendar=tuple(preprocessing["calendar"]),
            sampling_interval=pd.Timedelta(seconds=preprocessing["sampling_interval_seconds"]),
            history=training["history"],
            device=training["device"],
        )


def train_seq2seq(prepared: PreparedSeries, params: Params, *, calendar: Sequence[str] | None = None) -> TrainedSeq2Seq:
    """Fit on the windows whose targets lie in the train part; early stopping on the val part.

    Teacher forcing in training (the decoder reads the true previous value), recursive decoding in
    every forecast. `calendar` names the calendar columns added to the inputs (see CALENDAR_PERIODS);
    default: params.models.seq2seq.calendar.
    """
    is_sensor_value = prepared.kind == "sensors" and prepared.columns == ["value"]
    if not is_sensor_value or not isinstance(prepared.scaler, MinMaxScaler):
        raise ValueError(
            f"{prepared.series}: seq2seq trains on sensor series (column 'value', MinMax scaler), "
            f"got kind {prepared.kind!r} with columns {prepared.columns}"
        )
    set_seed(params.train.seed)
    p = params.models.seq2seq
    calendar = p.calendar if calendar is None else calendar
    split = prepared.split
    timestamps = prepared.features["timestamp"]
    trained = TrainedSeq2Seq(
        seq2seq=build_seq2seq(
            p.window,
            1 + 2 * len(calendar),
            p.horizon,
            units=p.units,
            attention=p.attention,
            learning_rate=p.learning_rate,
            target_index=0,
        ),
        scaler=prepared.scaler,
        window=p.window,
        calendar=tuple(calendar),
        sampling_interval=timestamps.iloc[split.train].diff().median(),
        history={},
        device=device_report(),
    )
    inputs = trained.model_inputs(prepared.features)
    try:
        train = _teacher_forced_batches(trained, inputs, split.train, params, shuffle=True)
    except ValueError as err:
        raise ValueError(f"{prepared.series}: the train part cannot hold one seq2seq window: {err}") from err
    try:
        validation = _teacher_forced_batches(trained, inputs, split.val, params, shuffle=False)
    except ValueError:  # an empty or too short val part: early stopping watches the training loss
        validation = None
    trained.history = fit(trained.seq2seq.training_model, train, validation=validation, params=params.train)
    return trained


def _teacher_forced_batches(
    trained: TrainedSeq2Seq, inputs: np.ndarray, part: slice, params: Params, *, shuffle: bool
) -> WindowBatches:
    """Windows whose H targets all lie in `part` (inputs may reach back before it)."""
    windows = supervised_windows(inputs, inputs[:, 0], trained.window, trained.horizon, split=part)
    y = windows.y.reshape(len(windows.y), trained.horizon)
    x, decoder_inputs = trained.seq2seq.training_inputs(windows.X, y)
    return WindowBatches(
        (x, decoder_inputs),
        y[:, :, None],
        batch_size=params.train.batch_size,
        shuffle=shuffle,
        seed=params.train.seed,
    )
