"""An anomaly detector's decay verdict on seeded simulated scores: positive, skewed and autocorrelated
(the exponential of a smooth AR(1)), flagged above a high quantile of the reference, so alerts come in
runs as a windowed, smoothed score's do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lstmops.monitoring.alerts import alert_events, decide, split_parts
from lstmops.monitoring.statistics import DECAYED, INSUFFICIENT

GAP = SPAN = 12  # rows over which alerts merge into one event (a window); rows a score reads ahead


def scores(n: int, rng: np.random.Generator, phi: float = 0.9) -> np.ndarray:
    x, e = np.zeros(n), rng.standard_normal(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return np.exp(0.5 * x * np.sqrt(1 - phi**2))


def reference_and_new(seed: int, phi: float = 0.9, quantile: float = 0.97) -> tuple[np.ndarray, np.ndarray, float]:
    """A detector's reference and new scores and its threshold, a quantile of earlier (training) scores."""
    series = scores(1800, np.random.default_rng(seed), phi)
    training, reference, new = series[:800], series[800:1400], series[1400:]
    return reference, new, float(np.quantile(training, quantile))


def test_no_change_is_rarely_decayed():
    verdicts = [decide(*reference_and_new(seed), gap=GAP, span=SPAN, resamples=99) for seed in range(30)]
    assert all(v.status != INSUFFICIENT for v in verdicts)
    assert sum(v.status == DECAYED for v in verdicts) <= 3  # alpha 0.05 over the two tests
    assert np.median([v.evidence["alert_rate_p"] for v in verdicts]) > 0.3
    # the block bootstrap runs somewhat liberal on scores this persistent (see docs/benchmarks.md), not wildly
    assert np.median([v.evidence["tail_share_p"] for v in verdicts]) > 0.15


def test_clustered_alerts_do_not_inflate_false_decays_as_an_iid_test_would():
    iid = events = 0
    for seed in range(40):
        reference, new, threshold = reference_and_new(seed, phi=0.95)  # long runs above the threshold
        rate = max(float((reference > threshold).mean()), 1e-9)
        iid += stats.binomtest(int((new > threshold).sum()), len(new), rate, alternative="greater").pvalue < 0.025
        events += decide(reference, new, threshold, gap=GAP, span=SPAN, resamples=99).evidence["alert_rate_p"] < 0.025
    assert iid >= 8  # flagged rows treated as independent: the runs look like many alerts
    assert events <= 2


def test_a_new_regime_of_anomalies_is_decayed_by_the_alert_rate():
    reference, new, threshold = reference_and_new(3, quantile=0.995)  # a detector that rarely alerts
    new = new.copy()
    for start in range(20, 400, 40):  # an anomaly every 40 rows, 4 rows long
        new[start : start + 4] = threshold * 2
    verdict = decide(reference, new, threshold, gap=GAP, span=SPAN)
    assert verdict.status == DECAYED and verdict.evidence["more_alerts"]
    assert verdict.evidence["alert_rate_p"] < 0.01
    assert verdict.evidence["alert_events"] >= 10 > verdict.evidence["alert_events_reference"]
    assert "alert events" in verdict.describe()


def test_higher_scores_below_the_threshold_are_decayed_by_the_upper_tail():
    reference, new, threshold = reference_and_new(4)
    verdict = decide(reference, new * 2, threshold * 10, gap=GAP, span=SPAN, resamples=99)  # no alerts at all
    assert verdict.status == DECAYED and verdict.evidence["heavier_tail"]
    assert verdict.evidence["tail_share_p"] < 0.025 and verdict.evidence["alert_rate_p"] == 1.0
    assert verdict.evidence["tail_share"] > 0.5 > verdict.evidence["tail_share_reference"]
    assert "95th percentile" in verdict.describe()


def test_falling_scores_are_not_a_decay():
    reference, new, threshold = reference_and_new(4)
    verdict = decide(reference, new / 2, threshold, gap=GAP, span=SPAN, resamples=99)
    assert verdict.status != DECAYED
    assert verdict.evidence["tail_share"] < verdict.evidence["tail_share_reference"]


@pytest.mark.parametrize(
    ("n_reference", "n_new", "short", "needed"),
    [(600, 0, "new", 120), (600, 119, "new", 120), (29, 400, "reference", 30)],  # ten spans of new rows
)
def test_too_few_rows_is_insufficient_never_healthy(n_reference, n_new, short, needed):
    series = scores(n_reference + n_new, np.random.default_rng(0))
    verdict = decide(series[:n_reference], series[n_reference:], 1.0, gap=GAP, span=SPAN)
    assert verdict.status == INSUFFICIENT and verdict.evidence["short"] == short
    assert verdict.evidence["needed"] == needed
    assert f"{needed} needed" in verdict.describe()


def test_alert_events_merge_runs_within_the_gap():
    flags = np.zeros(100, dtype=bool)
    flags[[10, 11, 15, 40, 60, 61]] = True
    assert alert_events(flags, gap=0) == 4 and alert_events(flags, gap=4) == 3 and alert_events(flags, gap=20) == 2


def test_parts_leave_out_scores_that_are_not_final():
    times = pd.Series(pd.date_range("2024-01-01", periods=300, freq="1h"))
    train_end, data_end = times[99], times[199]
    parts = split_parts(times, train_end, data_end, lookahead=5, needed=50, validation_share=0.2)
    assert (parts.reference, parts.new, parts.reference_kind) == (slice(100, 195), slice(200, 295), "hold-out")
    short = split_parts(times, train_end, data_end, lookahead=5, needed=120, validation_share=0.2)
    assert short.reference == slice(80, 195) and short.reference_kind == "validation and hold-out"
    unrecorded = split_parts(times, train_end, train_end, lookahead=5, needed=50, validation_share=0.2)
    assert unrecorded.reference == slice(80, 95) and unrecorded.reference_kind == "validation"
