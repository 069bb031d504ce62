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
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
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
from lstmops.evaluate.baselines import seasonal_naive_at
from lstmops.tasks.seq2seq.network import (
    SeasonalResidualSeq2Seq,
    Seq2Seq,
    build_seasonal_residual_seq2seq,
    build_seq2seq,
)
from lstmops.train import live
from lstmops.train.common import MODEL_FILE, WindowBatches, device_report, fit, read_state, set_seed, write_state

CALENDAR_PERIODS = {"day": pd.Timedelta(days=1), "week": pd.Timedelta(days=7)}
# A Monday at midnight: week phase 0 is Monday 00:00 and day phase 0 is midnight.
_PHASE_ORIGIN = pd.Timestamp("1970-01-05")
NORMALISATIONS = ("series", "window")  # what models.seq2seq.normalise=auto chooses between
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


def covered_calendar(names: Sequence[str], train_timestamps: pd.Series) -> tuple[str, ...]:
    """The calendar periods the training rows span at least twice. A period seen once (a week in a
    ten-day train part) gives each phase one example: an index of time the network can memorise
    but not generalise from."""
    unknown = [name for name in names if name not in CALENDAR_PERIODS]
    if unknown:
        raise ValueError(f"unknown calendar features {unknown}; known: {sorted(CALENDAR_PERIODS)}")
    stamps = pd.to_datetime(pd.Series(train_timestamps))
    span = stamps.iloc[-1] - stamps.iloc[0] if len(stamps) else pd.Timedelta(0)
    return tuple(name for name in names if span >= 2 * CALENDAR_PERIODS[name])


def part_origins(n_rows: int, part: slice, *, horizon: int, first_origin: int) -> np.ndarray:
    """Origin rows t >= first_origin whose targets t+1..t+horizon all lie in `part`."""
    start, stop, _ = part.indices(n_rows)
    first, last = max(start - 1, first_origin), stop - 1 - horizon
    if last < first:
        raise ValueError(
            f"rows {start}..{stop} hold no origin with horizon={horizon} and {first_origin + 1} rows of "
            f"history (need {first + horizon + 1 - start} rows from the part start)"
        )
    return np.arange(first, last + 1)


def seasons_to_read(seasons: Sequence[int], window: int, train_rows: int) -> tuple[int, ...]:
    """The seasons a seasonal_residual model reads: those whose history (window + season) leaves at least
    half of the train part as training origins, or else the shortest. A week of history in a two-week
    series would leave too few windows to learn from; it stays a baseline all the same."""
    fitting = tuple(season for season in seasons if window + season <= train_rows // 2)
    return fitting or (min(seasons),)


def strongest_season(values: np.ndarray, part: slice, seasons: Sequence[int], horizon: int) -> int:
    """The season whose naive forecasts have the lowest MAE over the origins of `part` (the train part)."""
    origins = part_origins(len(values), part, horizon=horizon, first_origin=max(seasons) - 1)
    actual = values[origins[:, None] + np.arange(1, horizon + 1)]
    errors = {s: np.abs(actual - seasonal_naive_at(values, origins, s, horizon)).mean() for s in seasons}
    return min(errors, key=errors.get)


@dataclass
class TrainedSeq2Seq:
    seq2seq: Seq2Seq | SeasonalResidualSeq2Seq
    scaler: MinMaxScaler  # of the value, fitted on the training part
    window: int
    calendar: tuple[str, ...]
    sampling_interval: pd.Timedelta  # median interval of the training rows (input_example spacing)
    history: dict[str, list[float]]
    device: dict
    decoder: str = "recursive"  # params.models.seq2seq.decoder
    seasons: tuple[int, ...] = ()  # seasonal_residual: the naive forecasts the decoder reads, in order
    base_season: int | None = None  # seasonal_residual: the naive its output is a residual over
    normalise: str = "series"  # seasonal_residual: the input normalisation it was trained with
    # each normalisation trained: its best validation loss and epochs (normalise=auto keeps the lowest loss)
    normalise_trials: dict[str, dict[str, float]] = field(default_factory=dict)
    kind: ClassVar[str] = "seq2seq"

    @property
    def first_origin(self) -> int:
        """The first row that can be a forecast origin: a full window (and its deviations) behind it."""
        if self.decoder == "seasonal_residual":
            return max(self.window - 1 + self.base_season, max(self.seasons) - 1)
        return self.window - 1

    @property
    def model(self) -> keras.Model:
        return self.seq2seq.model

    @property
    def horizon(self) -> int:
        return self.seq2seq.horizon

    def model_inputs(self, features: pd.DataFrame) -> np.ndarray:
        """Per row: the scaled value (column 0, the target); seasonal_residual: then its change since one
        base season earlier (0 in the first season, which no window reads); then the calendar columns."""
        value = self.scaler.transform(features["value"].to_numpy(dtype="float64"))
        columns = [value]
        if self.decoder == "seasonal_residual":
            change = np.zeros_like(value)
            change[self.base_season :] = value[self.base_season :] - value[: -self.base_season]
            columns.append(change)
        return np.column_stack([*columns, calendar_features(features["timestamp"], self.calendar)])

    def decoder_inputs(self, features: pd.DataFrame, origins: np.ndarray) -> np.ndarray:
        """seasonal_residual: (n, horizon, len(seasons) + 2 * len(calendar)) per origin and step, what is
        known of the target time in advance: each season's scaled naive value, then its calendar."""
        value = self.scaler.transform(features["value"].to_numpy(dtype="float64"))
        naive = [seasonal_naive_at(value, origins, season, self.horizon) for season in self.seasons]
        steps = np.arange(1, self.horizon + 1)
        origin_times = features["timestamp"].to_numpy()[origins]
        target_times = origin_times[:, None] + steps[None, :] * self.sampling_interval.to_timedelta64()
        calendar = calendar_features(pd.Series(target_times.ravel()), self.calendar)
        calendar = calendar.reshape(len(origins), self.horizon, -1)
        return np.concatenate([np.stack(naive, axis=-1), calendar], axis=-1)

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
        if origins.min() < self.first_origin or origins.max() >= len(features):
            raise ValueError(
                f"origins must be rows {self.first_origin}..{len(features) - 1} (the history a forecast "
                f"of this model needs ends at each), got rows {origins.min()}..{origins.max()}"
            )
        windows = sliding_windows(self.model_inputs(features), self.window)  # row i ends at i + window - 1
        for start in range(0, len(origins), _PREDICT_CHUNK):
            chunk = origins[start : start + _PREDICT_CHUNK]
            x = windows[chunk - (self.window - 1)]
            if self.decoder == "seasonal_residual":
                scaled, attention = self.seq2seq.predict(x, self.decoder_inputs(features, chunk))
            else:
                scaled, attention = self.seq2seq.predict(x)
            yield self.scaler.inverse_transform(scaled), attention

    def predict_raw(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Raw `timestamp,value` frame -> one row per (origin, step): origin, step, timestamp, forecast.

        Every row with a full window behind it is an origin, the last row included (the forecast into
        the future). A forecast's timestamp is origin + step x the frame's median sampling interval.
        Missing values are forward-filled and leading missing rows dropped, as in training.
        """
        features = sensor_features(frame)
        if len(features) <= self.first_origin:
            raise ValueError(f"predict_raw needs at least {self.first_origin + 1} observed rows, got {len(features)}")
        origins = np.arange(self.first_origin, len(features))
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
        """The history of one origin, a flat signal in the middle of the training range: the smallest valid input."""
        middle = float((self.scaler.data_min[0] + self.scaler.data_max[0]) / 2)
        timestamps = pd.date_range("2024-01-01", periods=self.first_origin + 1, freq=self.sampling_interval)
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
                "decoder": self.decoder,
                "seasons": list(self.seasons),
                "base_season": self.base_season,
                "normalise": self.normalise,
                "normalise_trials": self.normalise_trials,
            },
        )

    @classmethod
    def load(cls, folder: Path) -> TrainedSeq2Seq:
        folder = Path(folder)
        preprocessing = read_state(folder, cls.kind)
        legacy = folder / "training.json"  # where versions saved before history moved kept it
        training = json.loads(legacy.read_text()) if legacy.exists() else preprocessing
        decoder = preprocessing.get("decoder", "recursive")  # versions saved before seasonal_residual
        network = SeasonalResidualSeq2Seq if decoder == "seasonal_residual" else Seq2Seq
        return cls(
            seq2seq=network.load(folder / MODEL_FILE),
            scaler=MinMaxScaler.from_dict(preprocessing["scaler"]),
            window=int(preprocessing["window"]),
            calendar=tuple(preprocessing["calendar"]),
            sampling_interval=pd.Timedelta(seconds=preprocessing["sampling_interval_seconds"]),
            history=training["history"],
            device=training["device"],
            decoder=decoder,
            seasons=tuple(preprocessing.get("seasons", ())),
            base_season=preprocessing.get("base_season"),
            normalise=preprocessing.get("normalise", "series"),
            normalise_trials=preprocessing.get("normalise_trials", {}),
        )


def train_seq2seq(prepared: PreparedSeries, params: Params, *, calendar: Sequence[str] | None = None) -> TrainedSeq2Seq:
    """Fit on the windows whose targets lie in the train part; early stopping on the val part.

    params.models.seq2seq.decoder picks the network: `recursive` (teacher forcing in training, its own
    forecasts fed back in every forecast) or `seasonal_residual` (all steps at once, a residual over the
    seasonal naive that was strongest on the train part). `calendar` names the calendar columns added
    to the inputs (see CALENDAR_PERIODS); default: params.models.seq2seq.calendar.
    """
    is_sensor_value = prepared.kind == "sensors" and prepared.columns == ["value"]
    if not is_sensor_value or not isinstance(prepared.scaler, MinMaxScaler):
        raise ValueError(
            f"{prepared.series}: seq2seq trains on sensor series (column 'value', MinMax scaler), "
            f"got kind {prepared.kind!r} with columns {prepared.columns}"
        )
    p = params.models.seq2seq
    split = prepared.split
    timestamps = prepared.features["timestamp"]
    calendar = covered_calendar(p.calendar if calendar is None else calendar, timestamps.iloc[split.train])
    trained = TrainedSeq2Seq(
        seq2seq=None,  # built below, once the input widths are known
        scaler=prepared.scaler,
        window=p.window,
        calendar=calendar,
        sampling_interval=timestamps.iloc[split.train].diff().median(),
        history={},
        device=device_report(),
        decoder=p.decoder,
    )
    if p.decoder == "seasonal_residual":
        values = prepared.features["value"].to_numpy(dtype="float64")
        trained.seasons = seasons_to_read(p.seasons, p.window, split.train.stop - split.train.start)
        try:
            trained.base_season = strongest_season(values, split.train, trained.seasons, p.horizon)
        except ValueError as err:
            raise ValueError(
                f"{prepared.series}: the train part holds no origin with the history of models.seq2seq.seasons "
                f"{list(trained.seasons)}: {err}"
            ) from err

        def build(normalise: str) -> SeasonalResidualSeq2Seq:
            return build_seasonal_residual_seq2seq(
                p.window,
                2 + 2 * len(calendar),
                p.horizon,
                len(trained.seasons) + 2 * len(calendar),
                base_channel=trained.seasons.index(trained.base_season),
                units=p.units,
                attention=p.attention,
                learning_rate=p.learning_rate,
                members=p.members,
                normalise=normalise,
                highway=min(p.highway, p.window),
            )

        candidates = NORMALISATIONS if p.normalise == "auto" else (p.normalise,)
        batches = _direct_batches
    else:

        def build(normalise: str) -> Seq2Seq:
            return build_seq2seq(
                p.window,
                1 + 2 * len(calendar),
                p.horizon,
                units=p.units,
                attention=p.attention,
                learning_rate=p.learning_rate,
                target_index=0,
            )

        candidates = ("series",)
        batches = _teacher_forced_batches
    # normalise=auto trains one network per normalisation, each from the same seed and batch order,
    # and keeps the one with the lowest validation loss (the part early stopping watches).
    trials: dict[str, dict[str, float]] = {}
    best = None
    for normalise in candidates:
        set_seed(params.train.seed)
        candidate = replace(trained, seq2seq=build(normalise), normalise=normalise)
        try:
            train = batches(candidate, prepared.features, split.train, params, shuffle=True)
        except ValueError as err:
            raise ValueError(f"{prepared.series}: the train part cannot hold one seq2seq window: {err}") from err
        try:
            validation = batches(candidate, prepared.features, split.val, params, shuffle=False)
        except ValueError:  # an empty or too short val part: early stopping watches the training loss
            validation = None
        # auto: each candidate's epochs show in MLflow as its own curve (epoch/series/..., epoch/window/...)
        with live.curve(normalise) if len(candidates) > 1 else nullcontext():
            candidate.history = fit(candidate.seq2seq.training_model, train, validation=validation, params=params.train)
        if validation is None:  # nothing to choose on honestly: the first candidate (series scaling)
            return candidate
        trials[normalise] = {"val_loss": min(candidate.history["val_loss"]), "epochs": len(candidate.history["loss"])}
        if best is None or trials[normalise]["val_loss"] < trials[best.normalise]["val_loss"]:
            best = candidate
    best.normalise_trials = trials
    return best


def _teacher_forced_batches(
    trained: TrainedSeq2Seq, features: pd.DataFrame, part: slice, params: Params, *, shuffle: bool
) -> WindowBatches:
    """Windows whose H targets all lie in `part` (inputs may reach back before it)."""
    inputs = trained.model_inputs(features)
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


def _direct_batches(
    trained: TrainedSeq2Seq, features: pd.DataFrame, part: slice, params: Params, *, shuffle: bool
) -> WindowBatches:
    """Every origin whose H targets lie in `part` and whose history the model can read."""
    inputs = trained.model_inputs(features)
    origins = part_origins(len(inputs), part, horizon=trained.horizon, first_origin=trained.first_origin)
    first = origins[0] - (trained.window - 1)  # origins are consecutive: the windows are a view
    windows = sliding_windows(inputs, trained.window)[first : first + len(origins)]
    targets = inputs[origins[:, None] + np.arange(1, trained.horizon + 1), 0]
    return WindowBatches(
        (windows, trained.decoder_inputs(features, origins)),
        SeasonalResidualSeq2Seq.training_targets(targets),
        batch_size=params.train.batch_size,
        shuffle=shuffle,
        seed=params.train.seed,
    )
