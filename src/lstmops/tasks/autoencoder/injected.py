"""The autoencoder and the rolling z-score judged on anomalies injected into copies of the test part
(`evaluate.injected` holds the protocol): overlapping-segment counts pooled over the copies.

Each copy is scored like the real series: the model's score and threshold, the z-score with its
training-part threshold, segments merged over one window, only test rows counted. Where the series
has labels, detections overlapping a labelled window are left out of the counts (neither found
injected anomalies nor false alarms: that row is a real anomaly, and neither detector should pay for
flagging it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from lstmops.config import InjectionParams
from lstmops.data.prepare import PreparedSeries
from lstmops.data.sensors import Window
from lstmops.evaluate import anomalies
from lstmops.evaluate.injected import inject_copies
from lstmops.tasks.autoencoder.train import TrainedAutoencoder, segments_table

DETECTORS = ("model", "zscore")


def scored_from(trained: TrainedAutoencoder, n_rows: int, first_scored: int) -> int:
    """The first row a frame must start at for the model's scores from `first_scored` on to equal those
    of the whole series: every window covering a scored row, the smoothing, one period either side."""
    context = max(trained.window, trained.period or 0) + trained.window + trained.smoothing_window
    return max(0, min(first_scored - context, n_rows - trained.min_rows))


def tail_scores(trained: TrainedAutoencoder, features: pd.DataFrame, first_scored: int) -> np.ndarray:
    """The model's scores of rows `first_scored`.. of `features`, reading only the rows they depend on."""
    start = scored_from(trained, len(features), first_scored)
    scores = trained.score_features(features.iloc[start:].reset_index(drop=True))
    return scores[first_scored - start :]


def _kept(detected: pd.DataFrame, ignore: list[Window]) -> list[Window]:
    spans = list(zip(detected["start"], detected["end"]))
    return [(a, b) for a, b in spans if not any(a <= end and start <= b for start, end in ignore)]


def event_counts_and_hits(times: pd.Series, events: list[Window], spans: list[Window]) -> tuple[np.ndarray, list[bool]]:
    """(rows, 3) tp, fp, fn of the overlapping-segment metric, each counted at the row where its event
    or false alarm starts (so the gate's block bootstrap can resample rows), and whether each event was found."""
    counts = np.zeros((len(times), 3))
    stamps = times.to_numpy()

    def row(when: pd.Timestamp) -> int:
        return min(int(np.searchsorted(stamps, np.datetime64(when))), len(stamps) - 1)

    found = [any(a <= end and start <= b for a, b in spans) for start, end in events]
    for (start, _), hit in zip(events, found):
        counts[row(start), 0 if hit else 2] += 1
    for a, b in spans:
        if not any(a <= end and start <= b for start, end in events):
            counts[row(a), 1] += 1
    return counts, found


def injected_evaluation(
    trained: TrainedAutoencoder,
    prepared: PreparedSeries,
    protocol: InjectionParams,
    zscore: Callable[[np.ndarray], tuple[np.ndarray, float]],
    ignore: list[Window],
) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame]:
    """(metrics, units, events) of both detectors on the protocol's copies of the test part.

    `zscore(values)` gives the baseline's scores of every row and its threshold. Metrics: `f1_injected`,
    `precision_injected`, `recall_injected`, tp/fp/fn and `recall_injected_<kind>`, each also with
    `_zscore`; units: per test row, pooled over copies, as the gate's block bootstrap takes them; events:
    one row per injected anomaly (copy, kind, start, end, found by each detector).
    """
    features = prepared.features
    test = slice(prepared.split.test.start, len(features))
    times = features["timestamp"].iloc[test].reset_index(drop=True)
    values = features["value"].to_numpy(dtype=np.float64)
    copies = inject_copies(values, prepared.split.train, test, prepared.window, protocol)

    totals = {detector: np.zeros((len(times), 3)) for detector in DETECTORS}
    rows = []
    for number, copy in enumerate(copies):
        injected = features.assign(value=copy.values)
        scores = {"model": tail_scores(trained, injected, test.start)}
        thresholds = {"model": trained.threshold}
        z_all, thresholds["zscore"] = zscore(copy.values)
        scores["zscore"] = z_all[test]
        events = [(times[a - test.start], times[b - test.start]) for a, b in copy.events]
        found = {}
        for detector in DETECTORS:
            detected = segments_table(times, scores[detector], scores[detector] > thresholds[detector], trained.window)
            counts, found[detector] = event_counts_and_hits(times, events, _kept(detected, ignore))
            totals[detector] += counts
        rows += [
            {"copy": number, "kind": kind, "start": start, "end": end, "found": hit, "found_zscore": z_hit}
            for kind, (start, end), hit, z_hit in zip(copy.kinds, events, found["model"], found["zscore"])
        ]

    table = pd.DataFrame(rows)
    metrics: dict[str, float] = {"injected_events": float(len(table))}
    for detector, suffix, column in (("model", "", "found"), ("zscore", "_zscore", "found_zscore")):
        tp, fp, fn = totals[detector].sum(axis=0)
        scored = anomalies.pooled_segment_scores([{"tp": tp, "fp": fp, "fn": fn}])
        for name in ("f1", "precision", "recall", "tp", "fp", "fn"):
            metrics[f"{name}_injected{suffix}"] = float(scored[name])
        for kind, hits in table.groupby("kind")[column]:
            metrics[f"recall_injected_{kind}{suffix}"] = float(hits.mean())
    units = pd.DataFrame(
        np.hstack([totals["model"], totals["zscore"]]),
        columns=["tp", "fp", "fn", "tp_baseline", "fp_baseline", "fn_baseline"],
        index=pd.Index(times, name="timestamp"),
    )
    return metrics, units, table
