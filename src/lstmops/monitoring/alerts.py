"""The decay verdict of an anomaly detector (the autoencoder), from its scores and its own threshold.

Pure: arrays in, a `Verdict` out. The reference is a stretch of rows the threshold did not fit on (the
champion's hold-out, else its validation part); the new rows are those after the champion's data.
Scores are smoothed over windows, so they and the alert flags are autocorrelated: alerts come in runs.
No test here treats rows as independent:

- **alert rate**: the share of new rows above the threshold against the reference's share (what the
  threshold implies on rows it did not fit on), one-sided, with the moving-block-bootstrap p-value of
  `monitoring.drift` (reference and new flags pooled, both parts redrawn from its blocks): blocks as
  long as the scores' autocorrelation keep each run of alerts whole, so ten alerted rows of one anomaly
  weigh as one stretch, not as ten independent alerts, and an alarm that stays on for days weighs as
  the many stretches it covers. The alert *events* (flagged runs merged over `gap` rows, the model's
  window, as the detector merges its segments) are counted beside it, for the reader.
- **upper tail**: the share of new scores above the reference's 95th percentile (`TAIL_QUANTILE`)
  against the reference's own share, one-sided, with the same block-bootstrap p-value on the scores.
  It watches the scores just below the threshold, where a detector's decay shows first: more rows
  there mean more anomalies than the threshold will flag, or normal rows drifting towards it, well
  before the alert rate itself is significant. Falling scores are not called a decay: without labels,
  fewer rows near the threshold cannot be told from fewer anomalies.
- `decayed` when either test is significant at alpha split over the two (Bonferroni).
- `warning` when neither is but an upper CUSUM of the new scores crossed its level: each new score as
  its quantile in the reference (normal scores), centred and scaled by the reference's long-run
  standard deviation, with the monitoring section's allowance k and level h: scores drifting upward
  late in the new rows, before the whole sample is significant.
- `insufficient_data` below max(min_points, MIN_BLOCKS x span) new rows, or a reference below
  max(min_points, 2 x span) rows (never `healthy`). `span` is how far a score reads around its own row
  (the model's windows and, for a seasonal score, one period): scores closer than that share inputs,
  so both bootstraps draw blocks of at least 2 x span rows (or the scores' own decorrelation length
  where longer; at most a quarter of the new rows), and a verdict needs several such stretches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lstmops.evaluate.anomalies import flagged_to_segments, merge_segments
from lstmops.evaluate.significance import MIN_BLOCKS
from lstmops.monitoring.drift import RESAMPLES, block_bootstrap_p, block_length
from lstmops.monitoring.statistics import (
    DECAYED,
    HEALTHY,
    INSUFFICIENT,
    WARNING,
    Verdict,
    long_run_variance,
    upper_cusum,
)

# Scores above this quantile of the reference count as the upper tail: high enough to be near the threshold,
# common enough (one row in twenty) that a check window holds many of them.
TAIL_QUANTILE = 0.95


class AlertVerdict(Verdict):
    """A detector's verdict: the evidence line names alert rates and the upper tail of the scores."""

    def describe(self) -> str:
        e = self.evidence
        if self.status == INSUFFICIENT:
            short = "reference rows" if e.get("short") == "reference" else "new rows with final scores"
            have = e.get("reference_rows", 0) if e.get("short") == "reference" else self.n
            return f"{have} {short}, {e['needed']} needed"
        parts = [
            f"alert rate {e['alert_rate']:.3g} vs reference {e['alert_rate_reference']:.3g} "
            f"(p={e['alert_rate_p']:.2g}; {e['alert_events']} vs {e['alert_events_reference']} alert events)",
            f"scores above the reference's {100 * e['tail_quantile']:.0f}th percentile {e['tail_share']:.3g} "
            f"vs {e['tail_share_reference']:.3g} (p={e['tail_share_p']:.2g}, blocks of {e['block']})",
            f"CUSUM max {e['cusum_max']:.3g}/{e['cusum_threshold']:g}",
            f"n={self.n}",
        ]
        return ", ".join(parts)


def needed_rows(span: int, min_points: int) -> int:
    """New rows a verdict needs: several stretches of rows whose scores share inputs (module notes)."""
    return max(min_points, MIN_BLOCKS * max(span, 1), 3)


def needed_reference_rows(span: int, min_points: int) -> int:
    """Reference rows a verdict needs: two such stretches (the bootstrap pools them with the new rows)."""
    return max(min_points, 2 * max(span, 1), 3)


def alert_events(flags: np.ndarray, gap: int) -> int:
    """Flagged runs, those <= `gap` rows apart merged: one anomaly's flagged rows count once."""
    return len(merge_segments(flagged_to_segments(np.asarray(flags, dtype=bool)), gap=gap))


def _more_alerts(reference: np.ndarray, new: np.ndarray) -> float:
    return float(new.mean() - reference.mean())


def tail_shares(reference: np.ndarray, new: np.ndarray, quantile: float = TAIL_QUANTILE) -> tuple[float, float]:
    """The shares of the reference's and the new scores above the reference's `quantile`."""
    cut = np.quantile(reference, quantile)
    return float((reference > cut).mean()), float((new > cut).mean())


def _heavier_tail(reference: np.ndarray, new: np.ndarray) -> float:
    share_reference, share_new = tail_shares(reference, new)
    return share_new - share_reference


def normal_scores(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's mid-rank quantile in the reference, as a standard normal score (bounded)."""
    ordered = np.sort(np.asarray(reference, dtype=float))
    n = len(ordered)
    ranks = (np.searchsorted(ordered, values, side="left") + np.searchsorted(ordered, values, side="right")) / 2
    return stats.norm.ppf(np.clip(ranks / n, 0.5 / n, 1 - 0.5 / n))


def score_cusum(reference: np.ndarray, new: np.ndarray, span: int, k: float) -> np.ndarray:
    """The upper CUSUM of the new scores' normal scores, centred on the reference's and scaled by their
    long-run standard deviation (lags up to `span`), so k and h mean what they mean for i.i.d. data."""
    z_reference, z_new = normal_scores(reference, reference), normal_scores(reference, new)
    scale = np.sqrt(long_run_variance(z_reference, max(span, 1)))
    if not scale > 0:
        return np.zeros(len(z_new))
    return upper_cusum((z_new - z_reference.mean()) / scale, k)


def decide(
    reference: np.ndarray,
    new: np.ndarray,
    threshold: float,
    *,
    gap: int,
    span: int,
    alpha: float = 0.05,
    min_points: int = 30,
    cusum_k: float = 0.5,
    cusum_threshold: float = 8.0,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> AlertVerdict:
    """The verdict on a detector's scores: `reference` and `new` rows in time order, flagged above `threshold`.

    `gap`: rows over which flagged runs merge into one alert event (the model's window); `span`: rows a
    score reads after (and before) its own."""
    reference, new = np.asarray(reference, dtype=float).ravel(), np.asarray(new, dtype=float).ravel()
    if not (np.isfinite(reference).all() and np.isfinite(new).all()):
        raise ValueError("anomaly scores must be finite")
    n, n_reference = len(new), len(reference)
    needed, needed_reference = needed_rows(span, min_points), needed_reference_rows(span, min_points)
    base = {"needed": needed, "reference_rows": n_reference, "gap": gap, "span": span}
    if n_reference < needed_reference:
        return AlertVerdict(INSUFFICIENT, n, {**base, "needed": needed_reference, "short": "reference"})
    if n < needed:
        return AlertVerdict(INSUFFICIENT, n, {**base, "short": "new"})

    flags_reference, flags_new = reference > threshold, new > threshold
    events_reference, events_new = alert_events(flags_reference, gap), alert_events(flags_new, gap)
    block = min(max(block_length(reference, n), 2 * span), max(1, n // 4))
    _, tail_p, _ = block_bootstrap_p(
        reference, new, resamples=resamples, seed=seed, statistic=_heavier_tail, block=block
    )
    # The flags' blocks are the scores' (rare 0/1 flags have no autocorrelation of their own to measure).
    _, rate_p, _ = block_bootstrap_p(
        flags_reference, flags_new, resamples=resamples, seed=seed, statistic=_more_alerts, block=block
    )
    path = score_cusum(reference, new, span, cusum_k)
    crossed = np.flatnonzero(path > cusum_threshold)

    level = alpha / 2  # two decay tests share alpha (Bonferroni)
    more_alerts, heavier_tail = rate_p < level, tail_p < level
    status = DECAYED if more_alerts or heavier_tail else WARNING if len(crossed) else HEALTHY
    tail_share_reference, tail_share = tail_shares(reference, new)
    evidence: dict[str, Any] = {
        **base,
        "threshold": float(threshold),
        "alert_rate": float(flags_new.mean()),
        "alert_rate_reference": float(flags_reference.mean()),
        "alert_events": events_new,
        "alert_events_reference": events_reference,
        "alert_rate_p": rate_p,
        "tail_quantile": TAIL_QUANTILE,
        "tail_share": tail_share,
        "tail_share_reference": tail_share_reference,
        "tail_share_p": tail_p,
        "block": block,
        "score_median": float(np.median(new)),
        "score_median_reference": float(np.median(reference)),
        "more_alerts": bool(more_alerts),
        "heavier_tail": bool(heavier_tail),
        "cusum_max": float(path.max()) if len(path) else 0.0,
        "cusum_threshold": float(cusum_threshold),
        "cusum_k": float(cusum_k),
        "cusum_alarm_at": int(crossed[0]) if len(crossed) else None,
        "alpha": alpha,
    }
    return AlertVerdict(status, n, evidence)


@dataclass(frozen=True)
class Parts:
    """Positions in a scored series of the reference rows and the new rows, both with final scores."""

    reference: slice
    new: slice
    reference_kind: str  # "hold-out", "validation and hold-out" or "validation"


def split_parts(
    times: pd.Series, train_end: Any, newest_seen: Any, *, lookahead: int, needed: int, validation_share: float
) -> Parts:
    """The reference and new rows of a scored series (times sorted), leaving out scores that are not final.

    A score reads `lookahead` rows ahead (the windows covering its row, a period later), so the new rows
    stop `lookahead` rows before the newest one (their scores change until those rows arrive) and the
    reference stops `lookahead` rows before the first new row (its scores must not read new rows). The
    reference is the hold-out (after `train_end`, up to `newest_seen`) when it holds `needed` rows; else
    the validation part (the last `validation_share` of the rows up to `train_end`) joins it."""
    times = pd.Series(pd.to_datetime(times)).reset_index(drop=True)
    boundary = int(times.searchsorted(pd.Timestamp(newest_seen), side="right"))  # the first new row
    holdout_start = int(times.searchsorted(pd.Timestamp(train_end), side="right"))
    reference_stop = max(0, boundary - lookahead)
    new = slice(boundary, max(boundary, len(times) - lookahead))
    start, kind = holdout_start, "hold-out"
    if reference_stop - holdout_start < needed:
        start = holdout_start - round(holdout_start * validation_share)
        kind = "validation and hold-out" if boundary > holdout_start else "validation"
    return Parts(slice(start, max(start, reference_stop)), new, kind)
