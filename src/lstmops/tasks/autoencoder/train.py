"""Train the LSTM autoencoder on windows of a sensor's TRAINING part; flag what it cannot reconstruct.

The score of a timestamp is Orion's reconstruction error (`models.autoencoder.reconstruction_scores`:
median reconstruction over the windows covering it, |signal - reconstruction|, centred rolling mean),
with one deliberate change: the smoothing width is a fixed number of points, not Orion's 1 % of the
series, so a timestamp's score does not depend on how long the scored input is (predict_raw on a
day and on a month agree), and a spike is not averaged away over dozens of points.

With `models.autoencoder.score: seasonal` the score is the geometric mean of that error and each
row's distance to the same phase one period before or after (the smaller;
`seasonal_context.seasonal_context_scores`), where the training part has a period longer than the
window (its strongest autocorrelation peak); the period is fixed at training and kept with the
model. Without such a period the score stays the reconstruction error.

The threshold is fitted on the scores of the training part alone (rule from
params.models.autoencoder: mean_std with k, percentile, or max; never below `threshold_floor`), so
validation and test values never move it. A point is anomalous when its score exceeds the threshold; flagged points closer than one
window apart form one segment (the model sees a window at a time, so one event's error spreads
over up to a window on each side of it).

Scores are retrospective, like Orion's: the score at t reads values up to t + window - 1 +
smoothing // 2, because the windows covering t reach that far. A detection is final once those
points have arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import keras
import numpy as np
import pandas as pd

from lstmops.config import AutoencoderParams, Params
from lstmops.data.features import sensor_features
from lstmops.data.prepare import PreparedSeries
from lstmops.data.scaling import MinMaxScaler
from lstmops.data.sensors import TIMESTAMP_DTYPE
from lstmops.data.windows import sliding_windows
from lstmops.evaluate import anomalies
from lstmops.tasks.autoencoder.judged import judgement
from lstmops.tasks.autoencoder.network import build_autoencoder, reconstruction_scores
from lstmops.tasks.autoencoder.seasonal_context import (
    MIN_AUTOCORRELATION,
    PROMINENCE,
    dominant_period,
    seasonal_context_scores,
)
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

# Points in the centred rolling mean of the errors: enough to calm single-point noise, short enough
# that a one-point spike keeps a fifth of its error. Orion's 1 % would be 27 points on the demo
# series, and there demo/machine_a's hold-out F1 fell from 1.0 (5 points) to 0.5.
SMOOTHING_WINDOW = 5


def threshold_options(config: AutoencoderParams) -> dict[str, float]:
    """Keyword arguments of `anomalies.fit_threshold` for the configured rule."""
    if config.threshold_rule == "mean_std":
        return {"k": config.threshold_k}
    if config.threshold_rule == "percentile":
        return {"q": config.threshold_percentile}
    return {}


def segments_table(timestamps: pd.Series, scores: np.ndarray, flags: np.ndarray, gap: int) -> pd.DataFrame:
    """Flagged runs as rows (start, end, score = highest score inside), runs <= `gap` points apart merged."""
    runs = anomalies.merge_segments(anomalies.flagged_to_segments(flags), gap=gap)
    times = pd.Series(timestamps).reset_index(drop=True)
    return pd.DataFrame(
        {
            "start": pd.to_datetime([times[start] for start, _ in runs]),
            "end": pd.to_datetime([times[end] for _, end in runs]),
            "score": [float(np.max(scores[start : end + 1])) for start, end in runs],
        }
    )


def reconstruction_error_scores(
    model: keras.Model, scaler: MinMaxScaler, window: int, smoothing_window: int, features: pd.DataFrame
) -> np.ndarray:
    """One score per row of a sensor feature table: scale, window (step 1), reconstruct, Orion's error."""
    if len(features) < window:
        raise ValueError(f"scoring needs at least window = {window} observed rows, got {len(features)}")
    scaled = scaler.transform(features[["value"]].to_numpy(dtype=np.float64))
    windows = sliding_windows(scaled, window)  # (n - window + 1, window, 1), a view
    reconstructed = predict(model, windows)
    return reconstruction_scores(windows, reconstructed, len(scaled), smoothing_window=smoothing_window)


def anomaly_scores(
    model: keras.Model,
    scaler: MinMaxScaler,
    window: int,
    smoothing_window: int,
    period: int | None,
    features: pd.DataFrame,
) -> np.ndarray:
    """The reconstruction error per row, or with a period its seasonal-context score (module notes)."""
    errors = reconstruction_error_scores(model, scaler, window, smoothing_window, features)
    if period is None:
        return errors
    scaled = scaler.transform(features[["value"]].to_numpy(dtype=np.float64))[:, 0]
    return seasonal_context_scores(scaled, errors, period, smoothing_window)


def training_threshold(
    model: keras.Model,
    scaler: MinMaxScaler,
    window: int,
    smoothing_window: int,
    period: int | None,
    train_features: pd.DataFrame,
    rule: str,
    options: dict[str, float],
    floor: float = 0.0,
) -> float:
    """The score's threshold: `rule` fitted on the training rows' scores alone, so no val/test value moves it,
    and at least `floor`."""
    scores = anomaly_scores(model, scaler, window, smoothing_window, period, train_features)
    return threshold_from_scores(scores, rule, options, floor)


def threshold_from_scores(train_scores: np.ndarray, rule: str, options: dict[str, float], floor: float) -> float:
    """`rule` fitted on the training rows' scores, never below `floor`: a near-constant training part
    scores only the network's numerical noise, which a rule alone would turn into a hair trigger."""
    return max(anomalies.fit_threshold(train_scores, rule, **options), floor)


def min_rows(window: int, period: int | None) -> int:
    """Rows a frame needs to be scored: one window, and two periods for the seasonal score."""
    return window if period is None else max(window, 2 * period)


@dataclass
class TrainedAutoencoder:
    model: keras.Model
    scaler: MinMaxScaler  # fitted on the training part's values
    window: int
    smoothing_window: int
    threshold: float  # on the score, fitted on the training part's scores
    threshold_rule: str
    threshold_options: dict[str, float]  # the rule's k or q
    example: pd.DataFrame  # the first `min_rows` raw rows of the training part (MLflow input example)
    history: dict[str, list[float]]
    device: dict[str, Any]
    period: int | None = None  # rows; the seasonal score's period, None: the reconstruction error alone
    threshold_floor: float = 0.0  # the lowest threshold the rule may give
    kind: ClassVar[str] = "autoencoder"

    @property
    def min_rows(self) -> int:
        """The fewest rows a frame to score must hold."""
        return min_rows(self.window, self.period)

    @property
    def score_lookahead(self) -> int:
        """Rows after t that the score at t reads (the windows covering t, the row a period later, the
        smoothing): a score is final, the same however much later data arrives, once they have arrived."""
        return max(self.window - 1, self.period or 0) + self.smoothing_window // 2

    def score_features(self, features: pd.DataFrame) -> np.ndarray:
        """Anomaly score of every row of a sensor feature table (`data.features.sensor_features`)."""
        return anomaly_scores(self.model, self.scaler, self.window, self.smoothing_window, self.period, features)

    def predict_raw(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Raw canonical sensor rows (timestamp, value) -> timestamp, score, is_anomaly for every row.

        Missing values are forward-filled as in training; rows before the first observed value
        are dropped. Needs at least `min_rows` rows.
        """
        features = sensor_features(frame)
        scores = self.score_features(features)
        return pd.DataFrame(
            {
                "timestamp": features["timestamp"].to_numpy(),
                "score": scores,
                "is_anomaly": scores > self.threshold,
            }
        )

    def segments(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The anomalous segments of a raw frame: start, end (timestamps, inclusive), highest score."""
        points = self.predict_raw(frame)
        return segments_table(
            points["timestamp"], points["score"].to_numpy(), points["is_anomaly"].to_numpy(), gap=self.window
        )

    def input_example(self) -> pd.DataFrame:
        """A small raw frame predict_raw accepts: the first `min_rows` rows of the training data."""
        return self.example.copy()

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save(folder / MODEL_FILE)
        write_state(
            folder,
            self.kind,
            {
                "window": self.window,
                "scaler": self.scaler.to_dict(),
                "smoothing_window": self.smoothing_window,
                "threshold": self.threshold,
                "threshold_rule": self.threshold_rule,
                "threshold_options": self.threshold_options,
                "example": {
                    "timestamp": self.example["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").tolist(),
                    "value": self.example["value"].tolist(),
                },
                "history": self.history,
                "device": self.device,
                "period": self.period,
                "threshold_floor": self.threshold_floor,
            },
        )

    @classmethod
    def load(cls, folder: Path) -> TrainedAutoencoder:
        folder = Path(folder)
        state = read_state(folder, cls.kind)
        example = pd.DataFrame(
            {
                "timestamp": pd.to_datetime(state["example"]["timestamp"]).astype(TIMESTAMP_DTYPE),
                "value": np.asarray(state["example"]["value"], dtype=np.float64),
            }
        )
        return cls(
            model=keras.saving.load_model(folder / MODEL_FILE, compile=False),
            scaler=MinMaxScaler.from_dict(state["scaler"]),
            window=int(state["window"]),
            smoothing_window=int(state["smoothing_window"]),
            threshold=float(state["threshold"]),
            threshold_rule=state["threshold_rule"],
            threshold_options={key: float(value) for key, value in state["threshold_options"].items()},
            example=example,
            history=state["history"],
            device=state["device"],
            period=state.get("period"),  # absent from models saved before the seasonal score
            threshold_floor=float(state.get("threshold_floor", 0.0)),  # absent from models saved before the floor
        )


def _windows_of(scaled: np.ndarray, part: slice, window: int) -> np.ndarray | None:
    values = scaled[part]
    return sliding_windows(values, window) if len(values) >= window else None


def train_autoencoder(prepared: PreparedSeries, params: Params) -> TrainedAutoencoder:
    """Fit the LSTM-AE to reconstruct training windows (early stopping on val windows); threshold on train scores."""
    if prepared.kind != "sensors" or prepared.columns != ["value"]:
        raise ValueError(
            f"{prepared.series}: the autoencoder trains on one sensor value column, "
            f"got kind {prepared.kind!r} with columns {prepared.columns}"
        )
    judgement(prepared, params)  # a series its evaluation could not judge is refused before fitting
    config = params.models.autoencoder
    window, split = prepared.window, prepared.split
    scaled = prepared.scaled_inputs()  # (n, 1) in [-1, 1] on the training part
    train = _windows_of(scaled, split.train, window)
    if train is None:
        raise ValueError(
            f"{prepared.series}: the training part has {split.train.stop - split.train.start} rows, "
            f"fewer than one window of {window}"
        )
    # Windows wholly inside the val part: early stopping never sees a training or test value.
    val = _windows_of(scaled, split.val, window)

    set_seed(params.train.seed)
    model = build_autoencoder(window, 1, network=config.network, units=config.units, learning_rate=config.learning_rate)
    batch_size = params.train.batch_size
    history = fit(
        model,
        WindowBatches(train, train, batch_size=batch_size, shuffle=True, seed=params.train.seed),
        validation=None if val is None else WindowBatches(val, val, batch_size=batch_size),
        params=params.train,
    )

    train_features = prepared.features.iloc[split.train]
    period = None
    if config.score == "seasonal":
        period = dominant_period(
            scaled[split.train, 0], min_autocorrelation=MIN_AUTOCORRELATION, prominence=PROMINENCE, min_period=window
        )
    options = threshold_options(config)
    return TrainedAutoencoder(
        model=model,
        scaler=prepared.scaler,
        window=window,
        smoothing_window=SMOOTHING_WINDOW,
        threshold=training_threshold(
            model,
            prepared.scaler,
            window,
            SMOOTHING_WINDOW,
            period,
            train_features,
            config.threshold_rule,
            options,
            floor=config.threshold_floor,
        ),
        threshold_floor=config.threshold_floor,
        threshold_rule=config.threshold_rule,
        threshold_options=options,
        example=train_features[["timestamp", "value"]]
        .iloc[: min_rows(window, period)]
        .reset_index(drop=True)
        .astype({"timestamp": TIMESTAMP_DTYPE}),
        history=history,
        device=device_report(),
        period=period,
    )
