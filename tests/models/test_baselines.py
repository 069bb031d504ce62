import numpy as np
import pytest

from lstmops.evaluate.baselines import drift, persistence, rolling_zscore_scores, seasonal_naive

WINDOWS = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 4.0, 4.0, 10.0]])


def test_persistence_repeats_the_last_value_for_every_step():
    np.testing.assert_array_equal(persistence(WINDOWS[:, -1], horizon=3), [[4, 4, 4], [10, 10, 10]])


def test_persistence_one_step_has_one_column():
    assert persistence(np.array([1.0, 2.0])).shape == (2, 1)


def test_drift_extends_the_line_through_first_and_last_value():
    # slopes: (4-1)/3 = 1 and (10-4)/3 = 2
    np.testing.assert_allclose(drift(WINDOWS, horizon=3), [[5, 6, 7], [12, 14, 16]])


def test_seasonal_naive_takes_the_value_one_season_back():
    windows = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])  # y[t] = 6, season 3 -> last season is 4, 5, 6
    np.testing.assert_array_equal(seasonal_naive(windows, season=3, horizon=5), [[4, 5, 6, 4, 5]])


def test_seasonal_naive_with_season_one_is_persistence():
    np.testing.assert_array_equal(seasonal_naive(WINDOWS, season=1, horizon=2), persistence(WINDOWS[:, -1], 2))


def test_seasonal_naive_needs_a_full_season_in_the_window():
    with pytest.raises(ValueError, match="season=5"):
        seasonal_naive(WINDOWS, season=5)


def test_rolling_zscore_uses_only_the_past_window():
    scores = rolling_zscore_scores(np.array([1.0, 2.0, 3.0, 10.0]), window=3)
    # past window [1, 2, 3]: mean 2, population std sqrt(2/3)
    np.testing.assert_allclose(scores, [0, 0, 0, 8 / np.sqrt(2 / 3)])


def test_rolling_zscore_is_causal():
    rng = np.random.default_rng(0)
    values = rng.normal(size=200)
    changed_future = values.copy()
    changed_future[120:] += 50.0
    original, changed = rolling_zscore_scores(values, 20), rolling_zscore_scores(changed_future, 20)
    np.testing.assert_array_equal(original[:120], changed[:120])
    assert changed[120] > 10 * original[120]


def test_rolling_zscore_scores_a_jump_after_a_flat_line_high_but_finite():
    scores = rolling_zscore_scores(np.array([5.0] * 10 + [6.0]), window=5)
    assert np.isfinite(scores).all()
    assert scores[-1] > 1e6 and scores[-2] == 0


def test_rolling_zscore_rejects_missing_values():
    with pytest.raises(ValueError, match="positions \\[2\\]"):
        rolling_zscore_scores(np.array([1.0, 2.0, np.nan, 4.0]), window=2)
