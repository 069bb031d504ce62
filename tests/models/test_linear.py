"""The linear baseline: a ridge on lags and seasonal naives, fitted on the training part only."""

import numpy as np
import pytest

from lstmops.evaluate.baselines import persistence, seasonal_naive_at
from lstmops.evaluate.linear import ALPHAS, DEFAULT_ALPHA, fit_linear_baseline, part_origins, usable_seasons

SEASON, HORIZON, LAGS = 24, 6, 12
TRAIN, VAL, TEST = slice(0, 2000), slice(2000, 2500), slice(2500, 3000)


def ar1_with_season(n: int = 3000, phi: float = 0.8, seed: int = 0) -> np.ndarray:
    """An AR(1) wandering around a daily-like cycle: persistence and the seasonal naive each miss half of it."""
    rng = np.random.default_rng(seed)
    noise = np.zeros(n)
    for t in range(1, n):
        noise[t] = phi * noise[t - 1] + rng.normal()
    return 3.0 * np.sin(2 * np.pi * np.arange(n) / SEASON) + noise


def test_it_beats_persistence_and_the_seasonal_naive_on_an_ar1_with_a_season():
    values = ar1_with_season()
    linear = fit_linear_baseline(values, TRAIN, VAL, lags=LAGS, horizon=HORIZON, seasons=[SEASON])
    origins = part_origins(TEST, HORIZON, linear.first_origin)
    actual = values[origins[:, None] + np.arange(1, HORIZON + 1)]

    def mae(forecast):
        return np.abs(actual - forecast).mean()

    naive = min(mae(persistence(values[origins], HORIZON)), mae(seasonal_naive_at(values, origins, SEASON, HORIZON)))
    assert mae(linear.predict(values, origins)) < 0.8 * naive
    assert linear.base_season == SEASON and linear.seasons == (SEASON,)


def test_it_learns_the_next_return_of_an_ar1_in_returns():
    values = ar1_with_season(phi=0.5, seed=1) - 3.0 * np.sin(2 * np.pi * np.arange(3000) / SEASON)  # no season
    linear = fit_linear_baseline(values, TRAIN, VAL, lags=5, horizon=1, residual=False)
    origins = part_origins(TEST, 1, linear.first_origin)
    actual = values[origins + 1]
    assert linear.base_season is None  # a return's naive forecast is zero
    assert np.abs(actual - linear.predict(values, origins)[:, 0]).mean() < 0.95 * np.abs(actual).mean()
    assert linear.coefficients[0, -1] > 0  # the last return carries forward, as phi > 0 says


def test_it_is_fitted_on_the_training_part_only():
    values = ar1_with_season()
    changed = values.copy()
    changed[TEST] = 100.0 + 5.0 * changed[TEST]  # a different test part: new level, new scale
    fits = [fit_linear_baseline(v, TRAIN, VAL, lags=LAGS, horizon=HORIZON, seasons=[SEASON]) for v in (values, changed)]

    np.testing.assert_array_equal(fits[0].coefficients, fits[1].coefficients)
    np.testing.assert_array_equal(fits[0].pipeline[-1].intercept_, fits[1].pipeline[-1].intercept_)
    assert fits[0].alpha == fits[1].alpha and fits[0].validation_mae == fits[1].validation_mae


def test_the_penalty_is_the_one_with_the_lowest_validation_error():
    values = ar1_with_season()
    linear = fit_linear_baseline(values, TRAIN, VAL, lags=LAGS, horizon=HORIZON, seasons=[SEASON])
    assert set(linear.validation_mae) == set(ALPHAS)
    assert linear.alpha == min(linear.validation_mae, key=linear.validation_mae.get)
    # no validation origin (a part shorter than the horizon): the recipe's default, nothing chosen
    untuned = fit_linear_baseline(values, TRAIN, slice(2000, 2003), lags=LAGS, horizon=HORIZON, seasons=[SEASON])
    assert (untuned.alpha, untuned.validation_mae) == (DEFAULT_ALPHA, {})


def test_a_season_too_long_for_the_train_part_stays_out_of_the_inputs():
    assert usable_seasons([24, 1500], lags=12, horizon=6, train_rows=2000) == (24,)
    assert usable_seasons([1500, 1800], lags=12, horizon=6, train_rows=2000) == (1500,)  # the shortest that fits
    assert usable_seasons([2500], lags=12, horizon=6, train_rows=2000) == ()
    # no season at all: the residual is over persistence (season 1)
    linear = fit_linear_baseline(ar1_with_season(), TRAIN, VAL, lags=LAGS, horizon=HORIZON, seasons=[2500])
    assert (linear.seasons, linear.base_season) == ((), 1)


def test_it_refuses_origins_without_the_history_its_inputs_read():
    linear = fit_linear_baseline(ar1_with_season(), TRAIN, VAL, lags=LAGS, horizon=HORIZON, seasons=[SEASON])
    assert linear.first_origin == SEASON - 1
    with pytest.raises(ValueError, match=f"origins must be rows >= {SEASON - 1}"):
        linear.predict(ar1_with_season(), np.array([SEASON - 2]))
