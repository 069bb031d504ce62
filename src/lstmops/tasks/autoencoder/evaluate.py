"""Score a trained LSTM-AE on the hold-out part of a sensor series, beside a rolling z-score: on the
series' real labels where they can decide, else on anomalies injected into copies of the hold-out.

Detection runs over the whole series (the model is unsupervised and its threshold came from the
training part only; earlier rows are history), but only the test rows are scored (the validation
rows chose the model's epoch, so scoring them would favour it). Two ways to know what is anomalous:
- real labels (the dataset card's windows, clipped to the test part): overlapping-segment
  precision/recall/F1 and counts (Orion's event-level metric), point-wise F1 and ROC-AUC of the raw
  score, the same for the baseline (the causal rolling z-score over the model's window, thresholded
  by the model's own rule fitted on the baseline's training-part scores);
- injected anomalies (`injected`, protocol in params.models.autoencoder.evaluation.injected): the
  same segment metric pooled over seeded copies of the test part, reported as `f1_injected` beside
  `f1_injected_zscore`, never under the labels' names.
The gate is judged on real labels when the test part holds at least `min_labelled_windows` of them,
else on the injected anomalies; the primary metric's name and the run's `evaluation.judged_on` tag
say which. Both are reported whenever both can be computed. A series known to be clean (labels ==
[]) has zero labelled windows, so it is judged on injected anomalies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmops.config import Params
from lstmops.data.prepare import PreparedSeries
from lstmops.data.sensors import Window, windows_to_point_labels
from lstmops.evaluate import anomalies
from lstmops.evaluate.baselines import rolling_zscore_scores
from lstmops.evaluate.injected import protocol_id
from lstmops.evaluate.report import Evaluation
from lstmops.tasks.autoencoder.injected import event_counts_and_hits, injected_evaluation
from lstmops.tasks.autoencoder.judged import clip_windows, judgement, labelled_windows  # noqa: F401  (re-exported)
from lstmops.tasks.autoencoder.plots import reconstruction_error_figure
from lstmops.tasks.autoencoder.train import TrainedAutoencoder, segments_table


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
    return event_counts_and_hits(timestamps, windows, list(zip(detected["start"], detected["end"])))[0]


def zscore_flags(values: np.ndarray, trained: TrainedAutoencoder, train: slice) -> tuple[np.ndarray, float]:
    """Rolling z-score of every row and its threshold, fitted like the model's on the training rows."""
    scores = rolling_zscore_scores(values, trained.window)
    # The first `window` rows have no full past and score 0 by convention: not evidence of normality.
    train_scores = scores[trained.window : train.stop]
    if len(train_scores) == 0:
        raise ValueError(f"the training part ({train.stop} rows) is no longer than the window {trained.window}")
    threshold = anomalies.fit_threshold(train_scores, trained.threshold_rule, **trained.threshold_options)
    return scores, threshold


UNIT_COLUMNS = ["tp", "fp", "fn", "tp_baseline", "fp_baseline", "fn_baseline"]


def evaluate_autoencoder(
    trained: TrainedAutoencoder, prepared: PreparedSeries, params: Params, *, gate: bool = False
) -> Evaluation:
    """Overlapping-segment F1 on the hold-out rows, with the rolling z-score's beside it: on real labels
    or on injected anomalies (module notes).

    The window, threshold and rule are the trained model's own, so any model can be re-evaluated on any
    prepared series; the injection protocol and the labels rule come from `params` and the injected
    copies from the prepared series, so two versions gated on the same data see the same copies
    (`gate=True`, the registry's view: no figure, and no injected copies where real labels decide).
    """
    config = params.models.autoencoder.evaluation
    judged = judgement(prepared, params)
    judged_on, windows, held_windows, room = judged.judged_on, judged.windows, judged.held_windows, judged.room
    features = prepared.features
    timestamps = features["timestamp"].reset_index(drop=True)
    holdout = slice(prepared.split.test.start, len(features))
    held_times = timestamps.iloc[holdout].reset_index(drop=True)

    scores = trained.score_features(features)
    flags = scores > trained.threshold
    values = features["value"].to_numpy(dtype=np.float64)
    z_scores, z_threshold = zscore_flags(values, trained, prepared.split.train)
    metrics: dict[str, float] = {
        "threshold": trained.threshold,
        "seasonal_period": float(trained.period or 0),  # rows; 0: the reconstruction error alone
    }
    tables: dict[str, pd.DataFrame] = {}
    units = None
    detected = pd.DataFrame({"start": [], "end": [], "score": []})

    if held_windows is not None:
        model_metrics, detected = detection_metrics(
            held_times, scores[holdout], flags[holdout], held_windows, gap=trained.window
        )
        z_metrics, z_detected = detection_metrics(
            held_times, z_scores[holdout], z_scores[holdout] > z_threshold, held_windows, gap=trained.window
        )
        metrics |= model_metrics | {
            f"{name}_zscore": z_metrics[name] for name in ("f1", "precision", "recall", "roc_auc", "tp", "fp", "fn")
        }
        metrics["labelled_windows"] = float(len(held_windows))
        if judged_on == "labels":
            units = pd.DataFrame(
                np.hstack(
                    [
                        event_counts(held_times, held_windows, detected),
                        event_counts(held_times, held_windows, z_detected),
                    ]
                ),
                columns=UNIT_COLUMNS,
                index=pd.Index(held_times, name="timestamp"),
            )
    else:
        detected = segments_table(held_times, scores[holdout], flags[holdout], gap=trained.window)

    if room and not (gate and judged_on == "labels"):
        injected_metrics, injected_units, events = injected_evaluation(
            trained,
            prepared,
            config.injected,
            lambda copy: zscore_flags(copy, trained, prepared.split.train),
            ignore=windows or [],
        )
        metrics |= injected_metrics
        tables["injected.csv"] = events
        if judged_on == "injected":
            units = injected_units

    primary = "f1" if judged_on == "labels" else "f1_injected"
    tables["anomalies.csv"] = detected
    # threshold and labels beside each score: the reconstruction-error plot (MLflow table, DVC plot)
    tables["scores.csv"] = pd.DataFrame(
        {
            "timestamp": held_times,
            "score": scores[holdout],
            "is_anomaly": flags[holdout],
            "threshold": trained.threshold,
            "labelled": windows_to_point_labels(held_times, held_windows or []).astype(int),
        }
    )
    evaluation = Evaluation(
        metrics=metrics,
        primary_metric=primary,
        baseline_metric=f"{primary}_zscore",
        higher_is_better=True,
        tables=tables,
        units=units,
        horizon=trained.window,  # bootstrap blocks of one model window: detections are gap-merged over it
        tags={
            "evaluation.judged_on": judged_on,
            "evaluation.labelled_windows": "none" if held_windows is None else str(len(held_windows)),
            "evaluation.labels_file": prepared.card.get("labels_file", "none"),  # a user's labels (`data.labels`)
            "evaluation.injected.protocol": protocol_id(config.injected) if room else "none (test part too short)",
        },
    )
    if gate:
        return evaluation
    score_name = (
        "reconstruction error" if trained.period is None else f"seasonal-context score (period {trained.period})"
    )
    judged = "real labels" if judged_on == "labels" else "injected anomalies"
    evaluation.figures["reconstruction_error.png"] = reconstruction_error_figure(
        timestamps,
        features["value"],
        pd.Series(scores),
        trained.threshold,
        true_windows=windows or [],
        detections=detected,
        holdout_start=held_times.iloc[0],
        title=f"{prepared.series}: LSTM-AE {score_name} (F1 on {judged} {metrics[primary]:.2f}, "
        f"z-score {metrics[primary + '_zscore']:.2f} on the hold-out)",
        score_name=score_name,
    )
    return evaluation
