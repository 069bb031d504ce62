"""The decay verdict on seeded simulated forecast errors: an AR(1) series forecast by a model that knows
the coefficient (the champion) and by persistence (the baseline), scored on the same targets."""

from __future__ import annotations

import numpy as np
import pytest

from lstmops.monitoring.statistics import DECAYED, HEALTHY, INSUFFICIENT, WARNING, decide, upper_cusum


def ar1_losses(n: int, seed: int, phi: float = 0.6, noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Absolute errors of the one-step forecast phi * y_{t-1} (champion) and of y_{t-1} (persistence)."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n + 1)
    for t in range(1, n + 1):
        y[t] = phi * y[t - 1] + noise * rng.standard_normal()
    return np.abs(y[1:] - phi * y[:-1]), np.abs(y[1:] - y[:-1])


HOLDOUT = ar1_losses(400, seed=2)  # the champion's hold-out: the same process, before the new data


def test_no_change_is_not_decayed():
    verdicts = [decide(*ar1_losses(150, seed), holdout_ratio=0.0, holdout=HOLDOUT) for seed in range(10, 50)]
    statuses = [v.status for v in verdicts]
    assert INSUFFICIENT not in statuses
    # alpha 0.05 over the two tests: a false decay now and then is the price of the level, never a rule
    assert statuses.count(DECAYED) <= 3
    assert statuses.count(HEALTHY) >= 34


def test_champion_errors_doubled_is_decayed():
    champion, baseline = ar1_losses(150, seed=5)
    verdict = decide(champion * 2, baseline, holdout_ratio=0.0, holdout=HOLDOUT)
    assert verdict.status == DECAYED
    assert verdict.evidence["above_holdout_ratio"]
    assert verdict.evidence["error_ratio"] > 1.5 * verdict.evidence["holdout_ratio"]
    assert "error ratio" in verdict.describe()


def test_champion_worse_than_baseline_is_decayed_without_holdout_errors():
    champion, baseline = ar1_losses(150, seed=6)
    verdict = decide(champion * 2, baseline, holdout_ratio=0.8)
    assert verdict.status == DECAYED
    assert verdict.evidence["cusum_scale"] == "new data"


@pytest.mark.parametrize("n", [0, 1, 5, 29])
def test_too_few_points_is_insufficient_never_healthy(n):
    champion, baseline = ar1_losses(max(n, 1), seed=3)
    verdict = decide(champion[:n], baseline[:n], holdout_ratio=0.8, holdout=HOLDOUT, min_points=30)
    assert verdict.status == INSUFFICIENT
    assert verdict.n == n
    assert "30 needed" in verdict.describe()


def test_horizon_raises_the_minimum():
    champion, baseline = ar1_losses(100, seed=3)
    verdict = decide(champion, baseline, holdout_ratio=0.8, min_points=10, horizon=12)
    assert verdict.status == INSUFFICIENT and verdict.evidence["needed"] == 120  # ten stretches of 12 origins
    assert decide(champion, baseline, holdout_ratio=0.8, min_points=10, horizon=1).status != INSUFFICIENT


def test_a_late_small_drift_warns_before_it_is_significant():
    champion, baseline = ar1_losses(150, seed=8)
    drifted = champion.copy()
    drifted[-25:] *= 1.8  # only the last stretch: the mean over all points barely moves
    verdict = decide(drifted, baseline, holdout_ratio=0.0, holdout=HOLDOUT, alpha=0.01)
    assert verdict.status in (WARNING, DECAYED)
    assert verdict.evidence["cusum_alarm_at"] is not None
    assert verdict.evidence["cusum_alarm_at"] >= 150 - 25


def test_upper_cusum_resets_at_zero():
    assert upper_cusum(np.array([-3.0, 1.0, 1.0, -5.0]), 0.5).tolist() == [0.0, 0.5, 1.0, 0.0]


def test_without_a_hold_out_ratio_only_the_baseline_test_decides():
    champion, baseline = ar1_losses(150, seed=9)
    same = decide(champion, baseline, holdout_ratio=float("nan"))
    assert same.status != DECAYED and same.evidence["holdout_ratio"] is None
    assert "no hold-out ratio recorded" in same.describe()
    assert decide(champion * 2, baseline, holdout_ratio=float("nan")).evidence["worse_than_baseline"]
