"""Score a trained LSTM-AE on the hold-out part of a labelled sensor series, beside a rolling z-score.

Detection runs over the whole series (the model is unsupervised and its threshold came from the
training part only; earlier rows are history), but only the test rows are scored (the validation
rows chose the model's epoch, so scoring them would favour it), against the labelled windows clipped
to the test part:
- overlapping-segment precision/recall/F1 and counts (Orion's event-level metric, the primary one);
- point-wise F1 of the flags and ROC-AUC of the raw score (threshold-free);
- the same for the baseline: the causal rolling z-score over the model's window, thresholded by the
  model's own rule fitted on the baseline's training-part scores, segments built the same way.

Labels are required: without them nothing here can say whether a detector is any good, and a
registry gate comparing unlabelled detectors would compare noise. Series known to be clean
(labels == []) are accepted; their F1 is 0 as soon as anything is flagged.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from lstmops.config import Params
from lstmops.data.prepare import PreparedSeries
from lstmops.data.sensors import Window, windows_to_point_labels
from lstmops.evaluate import anomalies
from lstmops.evaluate.baselines import rolling_zscore_scores
from lstmops.evaluate.report import Evaluation
from lstmops.tasks.autoencoder.plots import reconstruction_error_figure
from lstmops.tasks.autoencoder.train import TrainedAutoencoder, segments_table


class MissingLabelsError(ValueError):
    """The series has no anomaly labels, so a detector cannot be scored on it."""


def labelled_windows(prepared: PreparedSeries) -> list[Window]:
    labels = prepared.card.get("labels")
    if labels is None:
        raise MissingLabelsError(
            f"{prepared.series}: no anomaly labels in the dataset card, so the autoencoder cannot be "
            "evaluated; ingest a labelled source (sensors.source demo or nab with labels/combined_windows.json)"
        )
    return [(pd.Timestamp(start), pd.Timestamp(end)) for start, end in labels]


def clip_windows(windows: Iterable[Window], start: pd.Timestamp, end: pd.Timestamp) -> list[Window]:
    """The parts of `windows` inside [start, end]; windows wholly outside are dropped."""
    return [(max(a, start), min(b, end)) for a, b in windows if b >= start and a <= end]


def detection_metrics(
    timestamps: pd.Series, scores: np.ndarray, flags: np.ndarray, windows: list[Window], gap: int
) -> tuple[dict[str, float], pd.DataFrame]:
    """Segment and point metrics of one detector on a stretch of rows, and its detected segments."""
    detected = segments_table(timestamps, scores, flags, gap=gap)
    segment = anomalies.overlapping_segment_scores(windows, list(zip(detected["start"], detected["end"])))
    point_labels = windows_to_point_labels(timestamps, windows)
    metrics = {name: float(value) for name, value in segment.items()}
    metrics["f1_point"] = anomalies.pointwise_scores(point_labels, flags)["f1"]
    metrics["roc_auc"] = anomalies.roc_auc(point_labels, scores)
    return metrics, detected


def event_counts(timestamps: pd.Series, windows: list[Window], detected: pd.DataFrame) -> np.ndarray:
    """(rows, 3) tp, fp, fn of the overlapping-segment metric, each event counted at the row where it
    starts (a labelled window: tp or fn; a detection overlapping no window: fp); columns sum to the
    detector's counts, so the gate's block bootstrap can resample rows and recompute F1."""
    counts = np.zeros((len(timestamps), 3))
    times = timestamps.to_numpy()
    spans = list(zip(detected["start"], detected["end"]))

    def row(when: pd.Timestamp) -> int:
        return min(int(np.searchsorted(times, np.datetime64(when))), len(times) - 1)

    for start, end in windows:
        hit = any(a <= end and start <= b for a, b in spans)
        counts[row(start), 0 if hit else 2] += 1
    for a, b in spans:
        if not any(a <= end and start <= b for start, end in windows):
            counts[row(a), 1] += 1
    return counts


def zscore_flags(values: np.ndarray, trained: TrainedAutoencoder, train: slice) -> tuple[np.ndarray, float]:
    """Rolling z-score of every row and its threshold, fitted like the model's on the training rows."""
    scores = rolling_zscore_scores(values, trained.window)
    # The first `window` rows have no full past and score 0 by convention: not evidence of normality.
    train_scores = scores[trained.window : train.stop]
    if len(train_scores) == 0:
        raise ValueError(f"the training part ({train.stop} rows) is no longer than the window {trained.window}")
    threshold = anomalies.fit_threshold(train_scores, trained.threshold_rule, **trained.threshold_options)
    return scores, threshold


def evaluate_autoencoder(
    trained: TrainedAutoencoder, prepared: PreparedSeries, params: Params, *, gate: bool = False
) -> Evaluation:
    """Overlapping-segment F1 on the hold-out rows, with the rolling z-score's beside it.

    `params` is not read: window, threshold and rule are the trained model's own, so any model can
    be re-evaluated on any prepared series (the registry's champion/challenger check, `gate=True`:
    no figure).
    """
    windows = labelled_windows(prepared)
    features = prepared.features
    timestamps = features["timestamp"].reset_index(drop=True)
    holdout = slice(prepared.split.test.start, len(features))
    held_times = timestamps.iloc[holdout].reset_index(drop=True)
    held_windows = clip_windows(windows, held_times.iloc[0], held_times.iloc[-1])

    scores = trained.score_features(features)
    flags = scores > trained.threshold
    model_metrics, detected = detection_metrics(
        held_times, scores[holdout], flags[holdout], held_windows, gap=trained.window
    )

    values = features["value"].to_numpy(dtype=np.float64)
    z_scores, z_threshold = zscore_flags(values, trained, prepared.split.train)
    z_metrics, z_detected = detection_metrics(
        held_times, z_scores[holdout], z_scores[holdout] > z_threshold, held_windows, gap=trained.window
    )

    metrics = {
        **model_metrics,
        **{f"{name}_zscore": z_metrics[name] for name in ("f1", "precision", "recall", "roc_auc")},
        "threshold": trained.threshold,
        "labelled_windows": float(len(held_windows)),
        "seasonal_period": float(trained.period or 0),  # rows; 0: the reconstruction error alone
    }
    evaluation = Evaluation(
        metrics=metrics,
        primary_metric="f1",
        baseline_metric="f1_zscore",
        higher_is_better=True,
        tables={
            "anomalies.csv": detected,
            # threshold and labels beside each score: the reconstruction-error plot (MLflow table, DVC plot)
            "scores.csv": pd.DataFrame(
                {
                    "timestamp": held_times,
                    "score": scores[holdout],
                    "is_anomaly": flags[holdout],
                    "threshold": trained.threshold,
                    "labelled": windows_to_point_labels(held_times, held_windows).astype(int),
                }
            ),
        },
        units=pd.DataFrame(
            np.hstack(
                [event_counts(held_times, held_windows, detected), event_counts(held_times, held_windows, z_detected)]
            ),
            columns=["tp", "fp", "fn", "tp_baseline", "fp_baseline", "fn_baseline"],
            index=pd.Index(held_times, name="timestamp"),
        ),
        horizon=trained.window,  # bootstrap blocks of one model window: detections are gap-merged over it
    )
    if gate:
        return evaluation
    score_name = (
        "reconstruction error" if trained.period is None else f"seasonal-context score (period {trained.period})"
    )
    evaluation.figures["reconstruction_error.png"] = reconstruction_error_figure(
        timestamps,
        features["value"],
        pd.Series(scores),
        trained.threshold,
        true_windows=windows,
        detections=detected,
        holdout_start=held_times.iloc[0],
        title=f"{prepared.series}: LSTM-AE {score_name} (F1 {model_metrics['f1']:.2f}, "
        f"z-score {z_metrics['f1']:.2f} on the hold-out)",
        score_name=score_name,
    )
    return evaluation
