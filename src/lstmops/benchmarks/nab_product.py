"""The product's anomaly detector on a NAB series: trained, scored and thresholded exactly as
`lstmops train autoencoder` does with params.yaml (no Orion aggregation, no Orion thresholding), so that
`lstmops benchmark nab --detector product` measures what users get.

One series: the raw rows (duplicates merged as the ingest does), validated by the sensors kind's GX
rules, prepared (features, chronological split, train-only scaler) and trained by the autoencoder task;
its threshold is the one fitted on the training part. Detections are the model's flagged runs over the
whole series (merged within a window, as `TrainedAutoencoder.segments`), scored against every labelled
window, as the Orion protocols score theirs. Anomalies inside the training part stay there, as they
would in a user's data.

Beside the labels, the same trained model is judged the way a user's unlabelled series is
(`injected_evaluation`: anomalies injected into copies of the test part), together with two simpler
detectors: the reconstruction error alone (the same network, its own training-part threshold) and the
rolling z-score. `rank_agreement` then asks whether the injected-anomaly F1 ranks the detectors as the
real labels do.

Other threshold rules can be judged on the same training (`rules`): each fitted on the training rows'
product scores, never below the configured floor, exactly as training fits the configured rule, so a
rule's counts are what the product would flag had params.yaml named it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lstmops.benchmarks.inputs import BenchmarkInputError, prepare_sensor_frame
from lstmops.config import Params
from lstmops.data.prepare import PreparedSeries
from lstmops.data.sensors import SensorSeries
from lstmops.evaluate import anomalies
from lstmops.tasks.autoencoder.evaluate import zscore_flags
from lstmops.tasks.autoencoder.injected import injected_evaluation
from lstmops.tasks.autoencoder.train import (
    TrainedAutoencoder,
    anomaly_scores,
    segments_table,
    threshold_from_scores,
    train_autoencoder,
    training_threshold,
)

# The detectors compared on one trained network: the product's configured score, its reconstruction
# error alone, and the rolling z-score baseline the gate compares with.
COMPARED = ("product", "reconstruction", "zscore")
COUNTS = ("tp", "fp", "fn")
Rule = tuple[str, dict[str, float]]  # a threshold rule and its options: ("mean_std", {"k": 8.0})


class ProductInputError(ValueError):
    """A NAB series the product refuses (validation, or too short to train and judge)."""


@dataclass(frozen=True)
class ProductDetection:
    """The product's run on one series: its counts on the labels, detections (start, end, score), score and threshold per row,
    epochs trained, and each compared detector's F1 on the labels and on injected anomalies."""

    signal: pd.DataFrame
    counts: dict[str, int]  # the product's tp, fp, fn on the labels
    detections: list[tuple[Any, Any, float]]
    score: np.ndarray
    threshold: np.ndarray
    epochs: int
    f1_labels: dict[str, float]
    f1_injected: dict[str, float]
    by_rule: dict[str, dict[str, int]] = field(default_factory=dict)  # the product's tp, fp, fn under each rule


def prepared_series(series: SensorSeries, key: str, params: Params) -> PreparedSeries:
    """The series as the pipeline prepares a validated snapshot (labels on the card), in memory."""
    card = {
        "series": key,
        "kind": "sensors",
        "source": "nab",
        "labels": [[str(a), str(b)] for a, b in series.windows or []],
    }
    try:
        return prepare_sensor_frame(series.frame, card, params, Path(params.data.root), source_file=key)
    except BenchmarkInputError as err:  # the report's first line and first rule: one line in the table
        raise ProductInputError(" ".join(line.strip() for line in str(err).splitlines()[:2])) from None


def reconstruction_only(trained: TrainedAutoencoder, train_features: pd.DataFrame) -> TrainedAutoencoder:
    """The same network scored by its reconstruction error alone, thresholded by the same rule on the
    training part."""
    threshold = training_threshold(
        trained.model,
        trained.scaler,
        trained.window,
        trained.smoothing_window,
        None,
        train_features,
        trained.threshold_rule,
        trained.threshold_options,
        floor=trained.threshold_floor,
    )
    return replace(trained, period=None, threshold=threshold)


def _on_labels(times: pd.Series, scores: np.ndarray, threshold: float, window: int, labels) -> tuple[dict, list]:
    """The overlapping-segment scores of one detector's flagged runs, and the runs (start, end, score)."""
    detected = segments_table(times, scores, scores > threshold, gap=window)
    spans = list(zip(detected["start"], detected["end"], detected["score"]))
    return anomalies.overlapping_segment_scores(labels, [(a, b) for a, b, _ in spans]), spans


def rule_counts(
    trained: TrainedAutoencoder,
    train_features: pd.DataFrame,
    times: pd.Series,
    scores: np.ndarray,
    labels,
    rules: Mapping[str, Rule],
) -> dict[str, dict[str, int]]:
    """The product's counts on the labels under each of `rules` (by name), its score unchanged."""
    if not rules:
        return {}
    train_scores = anomaly_scores(
        trained.model, trained.scaler, trained.window, trained.smoothing_window, trained.period, train_features
    )
    counts = {}
    for name, (rule, options) in rules.items():
        threshold = threshold_from_scores(train_scores, rule, options, trained.threshold_floor)
        found, _ = _on_labels(times, scores, threshold, trained.window, labels)
        counts[name] = {count: int(found[count]) for count in COUNTS}
    return counts


def detect_product(
    series: SensorSeries, key: str, params: Params, *, seed: int, rules: Mapping[str, Rule] | None = None
) -> ProductDetection:
    """Train the product's autoencoder on `series` with `params` (seed `seed`) and judge it (module notes),
    also under each of `rules` (by name)."""
    params = params.model_copy(update={"train": params.train.model_copy(update={"seed": seed})})
    try:
        prepared = prepared_series(series, key, params)
        trained = train_autoencoder(prepared, params)
    except ValueError as err:  # too short to train and judge: the product's own one-line refusal
        raise ProductInputError(str(err).splitlines()[0]) from None
    features = prepared.features
    times = features["timestamp"].reset_index(drop=True)
    values = features["value"].to_numpy(dtype=np.float64)
    labels = series.windows or []
    variant = reconstruction_only(trained, features.iloc[prepared.split.train])
    z_scores, z_threshold = zscore_flags(values, trained, prepared.split.train)

    scores = {"product": trained.score_features(features), "reconstruction": variant.score_features(features)}
    thresholds = {"product": trained.threshold, "reconstruction": variant.threshold, "zscore": z_threshold}
    scores["zscore"] = z_scores
    on_labels = {name: _on_labels(times, scores[name], thresholds[name], trained.window, labels) for name in COMPARED}

    def zscore(copy: np.ndarray) -> tuple[np.ndarray, float]:
        return zscore_flags(copy, trained, prepared.split.train)

    protocol = params.models.autoencoder.evaluation.injected
    product, _, _ = injected_evaluation(trained, prepared, protocol, zscore, ignore=labels)
    reconstruction, _, _ = injected_evaluation(variant, prepared, protocol, zscore, ignore=labels)
    f1_injected = {
        "product": product["f1_injected"],
        "reconstruction": reconstruction["f1_injected"],
        "zscore": product["f1_injected_zscore"],
    }
    return ProductDetection(
        signal=features[["timestamp", "value"]].reset_index(drop=True),
        counts={name: int(on_labels["product"][0][name]) for name in COUNTS},
        detections=on_labels["product"][1],
        score=scores["product"],
        threshold=np.full(len(features), trained.threshold),
        epochs=len(trained.history.get("loss", [])),
        f1_labels={name: float(found[0]["f1"]) for name, found in on_labels.items()},
        f1_injected=f1_injected,
        by_rule=rule_counts(
            trained, features.iloc[prepared.split.train], times, scores["product"], labels, rules or {}
        ),
    )


def rank_agreement(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether injected-anomaly F1 ranks the `COMPARED` detectors as labelled F1 does, over the series
    rows that have labelled windows (`f1_labels`, `f1_injected` by detector): Kendall's tau over every (series, detector) pair,
    the mean of the per-series Spearman correlations (series where either side ties everywhere are
    left out and counted), and the share of series where both name the same best detector."""
    # A series without labelled windows has no labelled F1 to rank by (every detector scores 0 there).
    judged = [row for row in rows if row.get("f1_labels") and row["tp"] + row["fn"] > 0]
    labelled = [[row["f1_labels"][d] for d in COMPARED] for row in judged]
    injected = [[row["f1_injected"][d] for d in COMPARED] for row in judged]
    if not labelled:
        return {"series": 0}
    tau = stats.kendalltau(np.ravel(labelled), np.ravel(injected))  # nan where one side is constant
    per_series, constant = [], 0
    for a, b in zip(labelled, injected):
        if len(set(a)) == 1 or len(set(b)) == 1:
            constant += 1
            continue
        per_series.append(float(stats.spearmanr(a, b).statistic))
    same_best = [int(np.argmax(a) == np.argmax(b)) for a, b in zip(labelled, injected)]
    return {
        "series": len(labelled),
        "kendall_tau_pairs": None if np.isnan(tau.statistic) else float(tau.statistic),
        "kendall_p": None if np.isnan(tau.pvalue) else float(tau.pvalue),
        "spearman_per_series_mean": float(np.mean(per_series)) if per_series else None,
        "series_with_ties_everywhere": constant,
        "same_best_detector": float(np.mean(same_best)),
        "mean_f1": {
            side: {d: float(np.mean([row[side][d] for row in judged])) for d in COMPARED}
            for side in ("f1_labels", "f1_injected")
        },
    }
