"""From anomaly scores to flagged segments, and how to score segments against labelled windows.

- Threshold rules fitted on *training* errors only (`fit_threshold`).
- Segments are inclusive (start, end) pairs, in positions or in index units (ints, timestamps).
- `find_anomalies_orion` reproduces Orion's sliding-window detector with the fixed threshold;
  `overlapping_segment_scores` reproduces Orion's overlapping-segment confusion counts, and
  `pooled_segment_scores` its per-dataset F1 (counts summed over signals), so numbers here can be
  compared with Orion's published ones.

Orion references (sintel-dev/Orion): orion/primitives/timeseries_anomalies.py (find_anomalies,
_fixed_threshold, _find_sequences, _get_max_errors, _prune_anomalies, _compute_scores,
_merge_sequences), orion/evaluation/contextual.py (_overlap_segment, _pad; used with
weighted=False), orion/evaluation/common.py (_overlap), orion/results.py (get_f1_scores).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

ThresholdRule = Literal["mean_std", "percentile", "max"]
Segment = tuple[Any, Any]  # inclusive (start, end): ints, or timestamps when in index units


def _train_errors(train_errors: np.ndarray) -> np.ndarray:
    errors = np.asarray(train_errors, dtype=float).ravel()
    if errors.size == 0:
        raise ValueError("cannot fit a threshold on zero training errors")
    if not np.isfinite(errors).all():
        raise ValueError(
            f"training errors contain NaN/inf at positions {np.flatnonzero(~np.isfinite(errors))[:5].tolist()}"
        )
    return errors


def threshold_mean_std(train_errors: np.ndarray, k: float = 4.0) -> float:
    """mean + k * std (population std), Orion's fixed threshold with k=4."""
    errors = _train_errors(train_errors)
    return float(errors.mean() + k * errors.std())


def threshold_percentile(train_errors: np.ndarray, q: float = 99.0) -> float:
    """The q-th percentile of the training errors (linear interpolation)."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    return float(np.percentile(_train_errors(train_errors), q))


def threshold_max(train_errors: np.ndarray) -> float:
    """The largest training error: nothing seen in training is flagged."""
    return float(_train_errors(train_errors).max())


THRESHOLD_RULES: dict[str, Callable[..., float]] = {
    "mean_std": threshold_mean_std,
    "percentile": threshold_percentile,
    "max": threshold_max,
}


def fit_threshold(train_errors: np.ndarray, rule: ThresholdRule, **kwargs: float) -> float:
    """Apply the named rule: 'mean_std' (k=), 'percentile' (q=) or 'max'."""
    if rule not in THRESHOLD_RULES:
        raise ValueError(f"unknown threshold rule {rule!r}; choose one of {sorted(THRESHOLD_RULES)}")
    return THRESHOLD_RULES[rule](train_errors, **kwargs)


def flagged_to_segments(flags: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True as inclusive (start, end) positions: [F,T,T,F,T] -> [(1, 2), (4, 4)]."""
    flags = np.asarray(flags, dtype=bool)
    if flags.ndim != 1:
        raise ValueError(f"flags must be 1-D, got shape {flags.shape}")
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), ends.tolist()))


def merge_segments(segments: Iterable[tuple[int, int]], gap: int = 0) -> list[tuple[int, int]]:
    """Merge overlapping or adjacent position segments, and those separated by <= `gap` points."""
    if gap < 0:
        raise ValueError(f"gap must be >= 0, got {gap}")
    merged: list[tuple[int, int]] = []
    for start, end in sorted(_checked_segments(segments, "segments")):
        if merged and start <= merged[-1][1] + 1 + gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _dilate(flags: np.ndarray, padding: int) -> np.ndarray:
    """Mark every point within `padding` positions of a flagged one (Orion's anomaly_padding)."""
    if padding == 0:
        return flags
    counts = np.concatenate(([0], np.cumsum(flags)))
    positions = np.arange(len(flags))
    upper = np.minimum(positions + padding + 1, len(flags))
    lower = np.maximum(positions - padding, 0)
    return counts[upper] - counts[lower] > 0


def _window_anomalies(
    window: np.ndarray, k: float, anomaly_padding: int, min_percent: float
) -> list[tuple[int, int, float]]:
    """One window of Orion's detector: threshold, padded runs, pruning, scores (window positions)."""
    threshold = window.mean() + k * window.std()  # _fixed_threshold
    padded = _dilate(window > threshold, anomaly_padding)  # _find_sequences
    runs = flagged_to_segments(padded)
    if not runs:
        return []
    max_below = 0.0 if padded.all() else float(window[~padded].max())
    run_max = np.array([window[start : end + 1].max() for start, end in runs])

    # _prune_anomalies: rank run maxima (then max_below) descending; keep the runs up to the last
    # one whose max exceeds the next ranked value by at least min_percent (relative).
    order = np.argsort(-run_max, kind="stable")
    ranked = np.append(run_max[order], max_below)
    with np.errstate(divide="ignore", invalid="ignore"):
        increase = (ranked[:-1] - ranked[1:]) / ranked[:-1]
    separated = np.flatnonzero(~(increase < min_percent))  # NaN counts as separated, as in Orion
    if separated.size == 0:
        return []
    kept = order[: separated[-1] + 1]

    denominator = window.mean() + window.std()  # _compute_scores
    return [(runs[i][0], runs[i][1], float((run_max[i] - threshold) / denominator)) for i in kept]


def _merge_scored(sequences: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """Orion's _merge_sequences: merge overlapping/adjacent sequences, length-weighted mean score.

    Weights are (end - start) as in Orion; where they sum to zero (only possible without padding)
    Orion raises, here the plain mean is used.
    """
    merged: list[tuple[int, int, float]] = []
    scores: list[float] = []
    weights: list[int] = []
    for start, end, score in sorted(sequences, key=lambda sequence: sequence[0]):
        if merged and start <= merged[-1][1] + 1:
            scores.append(score)
            weights.append(end - start)
            average = np.average(scores, weights=weights) if sum(weights) else np.mean(scores)
            merged[-1] = (merged[-1][0], max(merged[-1][1], end), float(average))
        else:
            scores, weights = [score], [end - start]
            merged.append((start, end, score))
    return merged


def find_anomalies_orion(
    errors: np.ndarray,
    index: Sequence[Any] | np.ndarray | None = None,
    *,
    window_size_portion: float | None = 0.33,
    window_step_size_portion: float | None = 0.1,
    k: float = 4.0,
    anomaly_padding: int = 50,
    min_percent: float = 0.1,
    whole_series_window: bool = False,
) -> list[tuple[Any, Any, float]]:
    """Orion's find_anomalies with fixed_threshold=True: anomalous (start, end, score) in index units.

    A window of ceil(n * window_size_portion) errors slides by ceil(window * window_step_size_portion)
    (the last windows run past the end and are shorter, as in Orion). Inside each window: threshold
    mean + k*std; every point above it, padded by `anomaly_padding` points on each side, forms
    runs; runs whose peak is not min_percent above the next-highest peak (or the highest
    unflagged error) are pruned; score = (peak - threshold) / (mean + std) of the window. Runs from
    all windows are merged when they overlap or touch. `index` (default: positions) maps positions
    to the caller's units, e.g. timestamps. window_size_portion=None uses one window for all errors.
    whole_series_window=True (not Orion's) thresholds the whole series as one more window, its runs
    merged with the others: an anomaly a tenth as wide as the sliding windows lifts their mean + k*std
    above itself, but not the whole series'.
    """
    errors = np.asarray(errors, dtype=float)
    if errors.ndim != 1 or errors.size == 0:
        raise ValueError(f"errors must be a non-empty 1-D array, got shape {errors.shape}")
    if not np.isfinite(errors).all():
        raise ValueError(f"errors contain NaN/inf at positions {np.flatnonzero(~np.isfinite(errors))[:5].tolist()}")
    index = np.arange(len(errors)) if index is None else index
    if len(index) != len(errors):
        raise ValueError(f"index has {len(index)} entries for {len(errors)} errors")
    if anomaly_padding < 0:
        raise ValueError(f"anomaly_padding must be >= 0, got {anomaly_padding}")

    sequences: list[tuple[int, int, float]] = []
    for window_start, window_end in _threshold_windows(
        len(errors), window_size_portion, window_step_size_portion, whole_series_window
    ):
        window = errors[window_start:window_end]
        for start, end, score in _window_anomalies(window, k, anomaly_padding, min_percent):
            sequences.append((start + window_start, end + window_start, score))

    return [(index[start], index[end], score) for start, end, score in _merge_scored(sequences)]


def _threshold_windows(
    n: int, window_size_portion: float | None, window_step_size_portion: float | None, whole_series: bool = False
) -> list[tuple[int, int]]:
    """find_anomalies_orion's windows as [start, end) positions; the last ones run past `n` (Orion's);
    `whole_series`: the whole series too, unless one window already holds it."""
    window_size = math.ceil(n * window_size_portion) if window_size_portion else n
    step = math.ceil(window_size * window_step_size_portion) if window_step_size_portion else window_size
    if window_size < 1 or step < 1:
        raise ValueError(f"window size {window_size} and step {step} must be >= 1")
    windows = [(0, window_size)]
    while windows[-1][1] < n:
        start = windows[-1][0] + step
        windows.append((start, start + window_size))
    if whole_series and window_size < n:
        windows.append((0, n))
    return windows


def orion_threshold(
    errors: np.ndarray,
    *,
    window_size_portion: float | None = 0.33,
    window_step_size_portion: float | None = 0.1,
    k: float = 4.0,
    whole_series_window: bool = False,
) -> np.ndarray:
    """Per error, the lowest threshold (mean + k*std) among the find_anomalies_orion windows holding it:
    an error above it is flagged by at least one window, before padding and pruning. For figures."""
    errors = np.asarray(errors, dtype=float)
    threshold = np.full(errors.shape, np.inf)
    for start, end in _threshold_windows(
        len(errors), window_size_portion, window_step_size_portion, whole_series_window
    ):
        window = errors[start:end]
        threshold[start:end] = np.minimum(threshold[start:end], window.mean() + k * window.std())
    return threshold


def _checked_segments(segments: Iterable[Segment], name: str) -> list[Segment]:
    checked = [tuple(segment) for segment in segments]
    for segment in checked:
        if len(segment) != 2 or segment[0] > segment[1]:
            raise ValueError(f"{name}: {segment!r} is not an inclusive (start, end) pair with start <= end")
    return checked


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _scores_from_counts(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * precision * recall, precision + recall),
    }


def overlapping_segment_scores(expected: Iterable[Segment], observed: Iterable[Segment]) -> dict[str, float]:
    """Orion's overlapping-segment counts (contextual_* with weighted=False) and the ratios.

    A labelled window overlapped by any detection is one TP (however many detections touch it);
    a labelled window overlapped by none is an FN; a detection overlapping no labelled window is
    an FP (so one detection spanning two windows gives 2 TP, 0 FP). Segments are inclusive, and
    touching counts as overlap: Orion pads ends by +1 unit and tests strict overlap, which for
    integer positions/seconds is the same as inclusive overlap. Works on numbers or timestamps.
    Zero denominators give 0.0 (sklearn's zero_division=0); Orion returns NaN there. The counts
    are returned too, so `pooled_segment_scores` can reproduce Orion's per-dataset F1.
    """
    expected = _checked_segments(expected, "expected")
    observed = _checked_segments(observed, "observed")

    def overlaps(a: Segment, b: Segment) -> bool:
        return a[0] <= b[1] and b[0] <= a[1]

    tp = sum(any(overlaps(window, detection) for detection in observed) for window in expected)
    fp = sum(not any(overlaps(window, detection) for window in expected) for detection in observed)
    return _scores_from_counts(tp, fp, len(expected) - tp)


def pooled_segment_scores(per_signal: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Sum tp/fp/fn over signals, then precision/recall/F1: Orion's per-dataset score (results.py)."""
    tp = fp = fn = 0
    for scores in per_signal:
        tp, fp, fn = tp + int(scores["tp"]), fp + int(scores["fp"]), fn + int(scores["fn"])
    return _scores_from_counts(tp, fp, fn)


def _paired_flags(labels: np.ndarray, other: np.ndarray, other_name: str) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels).astype(bool)
    other = np.asarray(other)
    if labels.ndim != 1 or labels.shape != other.shape:
        raise ValueError(f"labels shape {labels.shape} and {other_name} shape {other.shape} must be equal and 1-D")
    return labels, other


def pointwise_scores(labels: np.ndarray, flags: np.ndarray) -> dict[str, float]:
    """Point-by-point precision/recall/F1 of boolean flags against boolean labels (0.0 when undefined)."""
    labels, flags = _paired_flags(labels, flags, "flags")
    flags = flags.astype(bool)
    tp = int(np.sum(labels & flags))
    precision = _ratio(tp, int(flags.sum()))
    recall = _ratio(tp, int(labels.sum()))
    return {"precision": precision, "recall": recall, "f1": _ratio(2 * precision * recall, precision + recall)}


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of continuous scores against boolean labels; NaN if one class only.

    Computed as the Mann-Whitney statistic with tied scores given their average rank (equal to
    sklearn's roc_auc_score), so a threshold-free view of the anomaly score needs no extra package.
    """
    labels, scores = _paired_flags(labels, scores, "scores")
    scores = scores.astype(float)
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN/inf")
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    _, group, counts = np.unique(scores, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2  # 1-based ranks, ties share their mean
    rank_sum = average_rank[group][labels].sum()
    return float((rank_sum - positives * (positives + 1) / 2) / (positives * negatives))
