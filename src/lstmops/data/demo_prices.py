"""Synthetic daily OHLCV bars that behave like a stock, for a fresh clone with no data and no network.

Daily log-returns follow a threshold autoregression (SETAR) around a small drift: with
x = r_{t-1} - mu and sigma the ticker's unconditional daily volatility,

    r_t = mu + phi(x) * x + eps_t,   phi(x) = momentum + swing   if |x| <= threshold * sigma
                                             momentum - swing   otherwise,

small moves carry on and large ones partly revert (an overreaction story). With swing=0 this is an
AR(1) whose lag-1 autocorrelation is `momentum`, a signal a linear autoregression captures as well as
any network. With swing > 0 part of the signal is nonlinear in the last return: a linear model on
past returns cannot capture it, a forecaster that learns the threshold can (the demo uses it so that
an LSTM has something to earn over the linear baseline; momentum=swing=0 leaves only the drift).
phi(x) * x is odd in x, so the nonlinear part adds no drift.
The shocks eps_t are what makes the series look real rather than predictable: GARCH(1,1) volatility
clustering on Student-t innovations, plus rare fat-tailed jumps.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from lstmops.data.prices import DATE_DTYPE, PRICE_COLUMNS

# GARCH(1,1) on the diffusive part of the shock: var_t = omega + ALPHA * (vol_{t-1} z_{t-1})^2 +
# BETA * var_{t-1}, with z ~ t(8). These keep the fourth moment finite, return kurtosis near a single
# stock's (about 9) and sample autocorrelations close to the usual 1/sqrt(n) noise. Jumps stay out of
# the recursion: fed in, they made volatility itself fat-tailed and drowned the clustering.
GARCH_ALPHA = 0.08
GARCH_BETA = 0.90
T_DEGREES = 8
JUMP_PROBABILITY = 0.01  # about two or three jumps a year
JUMP_SCALE = 3.0  # jump size, in units of that day's volatility, Laplace-distributed (fat-tailed)
GAP_SCALE = 0.25  # overnight gap (open vs previous close), in units of that day's volatility
WICK_SCALE = 0.5  # how far high/low reach beyond open/close, in units of that day's volatility
VOLUME_RETURN_LOADING = 0.3  # log-volume rises by this much per unit of |eps_t| / volatility


def demo_prices(
    ticker: str,
    *,
    n_days: int = 1500,
    start: str = "2016-01-01",
    seed: int = 7,
    momentum: float = 0.15,
    swing: float = 0.0,
    threshold: float = 1.0,
    change_after: str | None = None,
    change_momentum: float | None = None,
    change_noise: float = 1.0,
) -> pd.DataFrame:
    """`n_days` business-day bars of a made-up `ticker`, in the canonical price frame (no adj_close).

    The same (ticker, seed) always gives the same frame; different tickers differ in price level
    (about 20 to 200), volatility, drift, volume and every path. `momentum` in (-1, 1) is the AR(1)
    coefficient of daily log-returns; `swing` >= 0 and `threshold` > 0 make it depend on the size of the
    last move (see the module docstring). Bars are consistent: open near the
    previous close, low <= min(open, close) <= max(open, close) <= high, low > 0, and volume rises
    with the size of the day's move.

    A change point (drifted demo data, for `lstmops monitor`): on the bars after `change_after` (a
    date) returns follow a plain AR(1) with `change_momentum` (default: unchanged, swing included) and the shocks are `change_noise`
    times larger. The random draws are the same with or without it, so the bars up to the change
    point are those of the unchanged series.
    """
    if n_days < 2:
        raise ValueError(f"n_days must be at least 2, got {n_days}")
    if not -1 < momentum < 1:
        raise ValueError(f"momentum must lie in (-1, 1) for a stationary AR(1), got {momentum}")
    if not 0 <= swing < 1 or not -1 < momentum - swing:
        raise ValueError(f"swing must lie in [0, 1) with momentum - swing > -1 (large moves must decay), got {swing}")
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    if change_momentum is not None and not -1 < change_momentum < 1:
        raise ValueError(f"change_momentum must lie in (-1, 1) for a stationary AR(1), got {change_momentum}")
    if change_noise <= 0:
        raise ValueError(f"change_noise must be positive, got {change_noise}")
    rng = np.random.default_rng([seed, _stable_ticker_key(ticker)])
    dates = pd.bdate_range(start, periods=n_days)
    changed = dates > pd.Timestamp(change_after) if change_after else np.zeros(n_days, dtype=bool)
    after = change_momentum is not None
    phi = np.where(changed, change_momentum if after else momentum, momentum)
    swings = np.where(changed & after, 0.0, swing)

    first_price = 20.0 * 10.0 ** rng.uniform(0, 1)
    daily_vol = rng.uniform(0.012, 0.03)
    drift = rng.uniform(-0.0002, 0.0008)
    base_volume = 10.0 ** rng.uniform(5.5, 7.5)

    shocks, vols = _garch_shocks(rng, n_days, daily_vol)
    shocks, vols = np.where(changed, shocks * change_noise, shocks), np.where(changed, vols * change_noise, vols)
    returns = np.empty(n_days)
    previous = drift
    limit = threshold * daily_vol
    for t in range(n_days):
        x = previous - drift
        coefficient = phi[t] + (swings[t] if abs(x) <= limit else -swings[t])
        previous = returns[t] = drift + coefficient * x + shocks[t]

    close = first_price * np.exp(np.cumsum(returns))
    previous_close = np.concatenate([[first_price], close[:-1]])
    open_ = previous_close * np.exp(GAP_SCALE * vols * rng.standard_normal(n_days))
    high = np.maximum(open_, close) * np.exp(WICK_SCALE * vols * np.abs(rng.standard_normal(n_days)))
    low = np.minimum(open_, close) * np.exp(-WICK_SCALE * vols * np.abs(rng.standard_normal(n_days)))
    surprise = np.abs(shocks) / vols
    log_volume = np.log(base_volume) + VOLUME_RETURN_LOADING * surprise + 0.3 * rng.standard_normal(n_days)

    frame = pd.DataFrame(
        {
            "date": dates.astype(DATE_DTYPE),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": np.round(np.exp(log_volume)),
        }
    )
    return frame[list(PRICE_COLUMNS)]


def _stable_ticker_key(ticker: str) -> int:
    """A per-ticker integer that, unlike hash(), is the same in every Python process."""
    return int.from_bytes(hashlib.sha256(ticker.encode()).digest()[:8], "little")


def _garch_shocks(rng: np.random.Generator, n_days: int, daily_vol: float) -> tuple[np.ndarray, np.ndarray]:
    """Shocks with volatility clustering and rare jumps, and each day's volatility."""
    # Student-t scaled to unit variance, so daily_vol stays the unconditional volatility.
    innovations = rng.standard_t(T_DEGREES, n_days) * np.sqrt((T_DEGREES - 2) / T_DEGREES)
    jumps = (rng.random(n_days) < JUMP_PROBABILITY) * rng.laplace(0.0, JUMP_SCALE / np.sqrt(2), n_days)
    omega = daily_vol**2 * (1 - GARCH_ALPHA - GARCH_BETA)
    shocks = np.empty(n_days)
    vols = np.empty(n_days)
    variance = daily_vol**2
    for t in range(n_days):
        vols[t] = np.sqrt(variance)
        shocks[t] = vols[t] * (innovations[t] + jumps[t])
        variance = omega + GARCH_ALPHA * (vols[t] * innovations[t]) ** 2 + GARCH_BETA * variance
    return shocks, vols
