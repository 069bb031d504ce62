"""Input drift: has what the model sees changed since the data it trained on? Evidence, a warning at most.

What the model sees, never raw levels (a price level drifts by nature): a forecaster's input features
(returns and the like), a seq2seq's residuals after its seasonal naive (value_t - value_{t-season}).

The statistic is the two-sample Kolmogorov–Smirnov distance between the training rows (reference) and
the new rows, per input. Its usual p-value assumes independent draws; on autocorrelated inputs the
effective sample is smaller and that p-value raises false alarms. Here the p-value comes from a moving
block bootstrap under "no change": reference and new rows are pooled as one series, a pseudo-reference
and a pseudo-new sample of the same lengths are drawn from its blocks (so they carry its
autocorrelation), and p is the share of their distances at least as large as the observed one. With several inputs, the smallest p times their
number (Bonferroni).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.tsa.stattools import acf

RESAMPLES = 199
MIN_POINTS = 20  # fewer new values (or reference values): no drift test


@dataclass(frozen=True)
class Drift:
    name: str  # which input
    distance: float  # Kolmogorov–Smirnov distance, reference vs new
    p: float  # block-bootstrap p-value (see the module docstring)
    block: int  # block length in rows
    n_reference: int
    n_new: int


def ks_distance(reference_sorted: np.ndarray, new: np.ndarray) -> float:
    """sup |F_reference - F_new| over both samples' values (the two-sample KS statistic)."""
    new_sorted = np.sort(new)
    points = np.concatenate([reference_sorted, new_sorted])
    f_ref = np.searchsorted(reference_sorted, points, side="right") / len(reference_sorted)
    f_new = np.searchsorted(new_sorted, points, side="right") / len(new_sorted)
    return float(np.max(np.abs(f_ref - f_new)))


def block_length(reference: np.ndarray, n_new: int) -> int:
    """Rows per bootstrap block: twice the lag where the reference's autocorrelation becomes
    indistinguishable from zero (shorter blocks understate the spread of dependent data), at least
    n_new^(1/3), at most a quarter of the new data. The autocorrelation of the absolute deviations
    counts too: clustered volatility (returns) is dependence that the values' own ACF does not show."""
    n = len(reference)
    lags = min(n // 4, 200)
    floor = math.ceil(n_new ** (1 / 3))
    if lags < 2:
        return floor
    decorrelated = 0
    for series in (reference, np.abs(reference - np.median(reference))):
        correlations = np.abs(acf(series, nlags=lags, fft=True)[1:])
        quiet = np.flatnonzero(correlations < 2 / math.sqrt(n))
        decorrelated = max(decorrelated, 2 * (int(quiet[0]) + 1) if len(quiet) else lags)
    return int(max(1, min(max(floor, decorrelated), max(1, n_new // 4))))


def block_bootstrap_p(
    reference: np.ndarray,
    new: np.ndarray,
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    statistic: Callable[[np.ndarray, np.ndarray], float] | None = None,
    block: int | None = None,
) -> tuple[float, float, int]:
    """(statistic, block-bootstrap p, block length) of `new` against `reference` (both in time order).

    The statistic is the KS distance unless given (`statistic(reference, new)`, large when they differ);
    `block`: the block length, where the values' own autocorrelation cannot tell it (e.g. rare 0/1 flags)."""
    reference, new = np.asarray(reference, dtype=float), np.asarray(new, dtype=float)
    measure = statistic or (lambda ref, fresh: ks_distance(np.sort(ref), fresh))
    observed = measure(reference, new)
    n, m = len(new), len(reference)
    # Under no change both are stretches of one series: pool them, draw both parts afresh from its blocks.
    pooled = np.concatenate([reference, new])
    block = min(block or block_length(reference, n), m)
    rng = np.random.default_rng(seed)
    offsets = np.arange(block)

    def draw(length: int) -> np.ndarray:
        starts = rng.integers(0, len(pooled) - block + 1, size=math.ceil(length / block))
        return pooled[(starts[:, None] + offsets).ravel()[:length]]

    at_least = sum(measure(draw(m), draw(n)) >= observed for _ in range(resamples))
    return observed, (1 + at_least) / (1 + resamples), block


def input_drift(
    reference: dict[str, np.ndarray], new: dict[str, np.ndarray], *, resamples: int = RESAMPLES, seed: int = 0
) -> tuple[list[Drift], float | None]:
    """Each input's drift and the Bonferroni p over them (None: too few values to test any)."""
    drifts = []
    for name, values in reference.items():
        ref = np.asarray(values, dtype=float)
        fresh = np.asarray(new[name], dtype=float)
        ref, fresh = ref[np.isfinite(ref)], fresh[np.isfinite(fresh)]
        if len(ref) < MIN_POINTS or len(fresh) < MIN_POINTS:
            continue
        distance, p, block = block_bootstrap_p(ref, fresh, resamples=resamples, seed=seed)
        drifts.append(Drift(name, distance, p, block, len(ref), len(fresh)))
    if not drifts:
        return [], None
    return drifts, min(1.0, min(d.p for d in drifts) * len(drifts))


def model_inputs(model_kind: str, features: pd.DataFrame, columns: list[str], season: int | None) -> pd.DataFrame:
    """What a model of `model_kind` sees, row by row of `features`: a forecaster's input columns, a
    seq2seq's residual after the seasonal naive of `season` (NaN where the season has no history)."""
    if model_kind == "seq2seq":
        if not season:
            raise ValueError("a seq2seq's input drift needs the season of its seasonal naive")
        values = features["value"].astype(float)
        return pd.DataFrame({f"seasonal residual ({season})": values - values.shift(season)})
    return features[columns].astype(float)


def describe(drifts: list[Drift], p: float | None) -> str:
    """`input drift p=...` with the input that moved most (empty without a test)."""
    if p is None:
        return ""
    worst = min(drifts, key=lambda d: d.p)
    return f"input drift p={p:.2g} ({worst.name}: KS {worst.distance:.2f}, blocks of {worst.block})"
