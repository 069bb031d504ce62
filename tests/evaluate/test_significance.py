"""The gate's paired tests: Diebold–Mariano (HLN) for forecasts, a block bootstrap of F1 for detectors."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from lstmops.evaluate.significance import block_bootstrap_f1, block_bootstrap_ratio, compare_units, diebold_mariano


def overlapping_losses(n: int, horizon: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Squared errors of h-step forecasts from consecutive origins (MA(h-1) errors: autocorrelated)."""
    rng = np.random.default_rng(seed)
    shocks = rng.normal(size=n + horizon - 1)
    errors_a = np.convolve(shocks, np.ones(horizon), "valid")
    errors_b = errors_a + rng.normal(0, 1.5, n)
    return errors_a**2, errors_b**2


@pytest.mark.parametrize("horizon", [1, 4])
def test_diebold_mariano_matches_statsmodels_hac_t_value_with_the_hln_correction(horizon):
    loss_a, loss_b = overlapping_losses(120, horizon, seed=3)
    d = loss_a - loss_b
    # statsmodels: OLS of d on a constant, HAC variance with the rectangular kernel over h-1 lags.
    hac = sm.OLS(d, np.ones_like(d)).fit(
        cov_type="HAC", cov_kwds={"maxlags": horizon - 1, "kernel": "uniform", "use_correction": False}
    )
    n = len(d)
    hln = np.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    expected = hac.tvalues[0] * hln

    result = diebold_mariano(loss_a, loss_b, horizon)

    assert result.statistic == pytest.approx(expected, rel=1e-9)
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(expected), df=n - 1), rel=1e-9)
    assert result.effect == pytest.approx(d.mean()) and result.n == 120
    assert result.ci_low < result.effect < result.ci_high


def test_one_step_diebold_mariano_with_hln_is_the_paired_t_test():
    loss_a, loss_b = overlapping_losses(60, 1, seed=5)
    paired = stats.ttest_rel(loss_a, loss_b)
    result = diebold_mariano(loss_a, loss_b, 1)
    assert result.statistic == pytest.approx(paired.statistic) and result.p_value == pytest.approx(paired.pvalue)


def test_diebold_mariano_on_equal_and_on_uniformly_better_losses():
    losses = np.linspace(1.0, 2.0, 30)
    assert diebold_mariano(losses, losses).p_value == 1.0
    better = diebold_mariano(losses - 0.1, losses)
    assert better.p_value == 0.0 and better.effect == pytest.approx(-0.1) and better.ci_high < 0


def test_diebold_mariano_needs_enough_points_and_a_sensible_horizon():
    with pytest.raises(ValueError, match="at least 3"):
        diebold_mariano([1.0, 2.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="horizon"):
        diebold_mariano(np.ones(5), np.zeros(5), horizon=5)


def events(rows: int, found: int, missed: int, false_alarms: int) -> np.ndarray:
    """(rows, 3) tp, fp, fn counts, the events spread evenly over the rows."""
    counts = np.zeros((rows, 3))
    kinds = [0] * found + [2] * missed + [1] * false_alarms
    for row, kind in zip(np.linspace(0, rows - 1, len(kinds)).astype(int), kinds):
        counts[row, kind] += 1
    return counts


def test_block_bootstrap_of_f1_separates_a_clear_win_from_a_tie():
    perfect, blind = events(1000, 10, 0, 0), events(1000, 0, 10, 0)
    win = block_bootstrap_f1(perfect, blind, block=50)
    assert win.effect == pytest.approx(1.0) and win.p_value < 0.05 and win.ci_low > 0
    # One more window found out of ten, one more false alarm: F1 0.55 vs 0.5, within the noise.
    close = block_bootstrap_f1(events(1000, 6, 4, 6), events(1000, 5, 5, 5), block=50)
    assert close.effect == pytest.approx(12 / 22 - 10 / 20)
    assert close.p_value > 0.05 and close.ci_low < 0 < close.ci_high
    assert close == block_bootstrap_f1(events(1000, 6, 4, 6), events(1000, 5, 5, 5), block=50)  # seeded


def test_compare_units_pairs_versions_on_the_points_both_scored():
    index = pd.date_range("2024-01-01", periods=50, freq="D")
    mine = pd.DataFrame({"loss": np.full(50, 1.0), "loss_baseline": np.full(50, 2.0)}, index=index)
    theirs = pd.DataFrame({"loss": np.full(45, 1.5), "loss_baseline": np.full(45, 2.0)}, index=index[5:])
    versus_champion = compare_units(mine, theirs, horizon=1, alpha=0.05)
    assert versus_champion.n == 45 and versus_champion.effect == pytest.approx(-0.5)
    versus_baseline = compare_units(mine, mine, horizon=1, alpha=0.05, baseline=True)
    assert versus_baseline.n == 50 and versus_baseline.effect == pytest.approx(-1.0)


def test_block_bootstrap_ratio_brackets_the_pooled_ratio():
    rng = np.random.default_rng(1)
    persistence = rng.exponential(1.0, 300)
    model = 0.9 * persistence + rng.normal(0, 0.05, 300)
    low, high = block_bootstrap_ratio(model, persistence, block=10)
    assert low < model.sum() / persistence.sum() < high and high - low < 0.1
    assert block_bootstrap_ratio(0.5 * persistence, persistence, block=10) == pytest.approx((0.5, 0.5))
