"""The demo price generator: deterministic, consistent bars, and a real (learnable) momentum signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmops.data.demo_prices import demo_prices


def lag1_autocorrelation(bars: pd.DataFrame) -> float:
    returns = np.diff(np.log(bars["close"].to_numpy()))
    return float(np.corrcoef(returns[1:], returns[:-1])[0, 1])


def test_same_ticker_and_seed_give_the_same_bars():
    pd.testing.assert_frame_equal(demo_prices("DEMOA", seed=3), demo_prices("DEMOA", seed=3))


def test_tickers_and_seeds_change_the_bars():
    base = demo_prices("DEMOA")

    assert not np.allclose(base["close"], demo_prices("DEMOB")["close"])
    assert not np.allclose(base["close"], demo_prices("DEMOA", seed=8)["close"])


def test_the_frame_is_canonical_business_day_bars():
    bars = demo_prices("DEMOA", n_days=300, start="2020-01-01")

    assert list(bars.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert bars["date"].dtype == "datetime64[ns]"
    assert (bars.drop(columns="date").dtypes == "float64").all()
    assert len(bars) == 300 and bars["date"].iloc[0] == pd.Timestamp("2020-01-01")
    assert bars["date"].is_monotonic_increasing and bars["date"].is_unique
    assert (bars["date"].dt.day_of_week < 5).all()


@pytest.mark.parametrize("ticker", ["DEMOA", "DEMOB", "ZZZ"])
def test_every_bar_is_consistent(ticker):
    bars = demo_prices(ticker, n_days=3000)

    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["low"] > 0).all()
    assert (bars["volume"] > 0).all() and (bars["volume"] == bars["volume"].round()).all()
    gaps = np.log(bars["open"].iloc[1:].to_numpy() / bars["close"].iloc[:-1].to_numpy())
    assert np.abs(gaps).max() < 0.1  # the open stays near the previous close
    assert 15 < bars["close"].iloc[0] < 250


def test_volume_rises_with_the_size_of_the_move():
    bars = demo_prices("DEMOA", n_days=3000)
    moves = np.abs(np.diff(np.log(bars["close"].to_numpy())))

    assert np.corrcoef(moves, bars["volume"].iloc[1:])[0, 1] > 0.2


@pytest.mark.parametrize("momentum", [0.15, 0.3])
def test_returns_carry_the_momentum_a_forecaster_can_learn(momentum):
    bars = demo_prices("DEMOA", n_days=3000, momentum=momentum)

    assert lag1_autocorrelation(bars) == pytest.approx(momentum, abs=0.08)


def test_without_momentum_returns_are_not_autocorrelated():
    bars = demo_prices("DEMOA", n_days=3000, momentum=0.0)

    assert abs(lag1_autocorrelation(bars)) < 0.08


def test_returns_have_fat_tails_and_volatility_clustering():
    returns = np.diff(np.log(demo_prices("DEMOA", n_days=3000, momentum=0.0)["close"].to_numpy()))
    standardized = (returns - returns.mean()) / returns.std()
    size = np.abs(standardized)
    size_autocorrelation = [np.corrcoef(size[lag:], size[:-lag])[0, 1] for lag in range(1, 21)]

    assert (standardized**4).mean() > 5  # kurtosis well above the normal's 3
    assert np.mean(size_autocorrelation) > 0.03  # big moves follow big moves for weeks (shuffled: ~0)


def slopes_after_small_and_large_moves(bars: pd.DataFrame) -> tuple[float, float]:
    """Least-squares slope of r_t on r_{t-1} over the smallest 40% of previous moves, and over the largest 20%."""
    returns = np.diff(np.log(bars["close"].to_numpy()))
    previous, now = returns[:-1] - returns.mean(), returns[1:] - returns.mean()
    size = np.abs(previous)
    small, large = size <= np.quantile(size, 0.4), size >= np.quantile(size, 0.8)
    return tuple(float(np.polyfit(previous[part], now[part], 1)[0]) for part in (small, large))


def test_swing_makes_small_moves_carry_on_and_large_ones_revert():
    small, large = slopes_after_small_and_large_moves(demo_prices("DEMOA", n_days=3000, momentum=0.15, swing=0.7))

    assert small > 0.5  # momentum + swing: 0.85
    assert large < -0.2  # momentum - swing: -0.55, diluted by moves near the threshold


def test_without_swing_the_slope_does_not_depend_on_the_size_of_the_move():
    small, large = slopes_after_small_and_large_moves(demo_prices("DEMOA", n_days=3000, momentum=0.15))

    assert small == pytest.approx(0.15, abs=0.2) and large == pytest.approx(0.15, abs=0.12)


def test_swing_adds_no_drift():
    returns = [
        np.diff(np.log(demo_prices("DEMOA", n_days=3000, swing=swing)["close"].to_numpy())) for swing in (0, 0.7)
    ]

    # phi(x) * x is odd: the mean return moves by less than two standard errors (an even term such as
    # swing * |x| would move it by tens of them)
    assert abs(returns[1].mean() - returns[0].mean()) < 2 * returns[0].std() / np.sqrt(len(returns[0]))


def test_a_swing_that_makes_large_moves_explode_is_refused():
    with pytest.raises(ValueError, match="swing must lie in"):
        demo_prices("DEMOA", momentum=-0.5, swing=0.6)


def test_a_non_stationary_momentum_is_refused():
    with pytest.raises(ValueError, match="momentum must lie in"):
        demo_prices("DEMOA", momentum=1.0)
