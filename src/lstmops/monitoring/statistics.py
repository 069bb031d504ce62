"""The decay verdict of a forecasting champion, from its errors and the baseline's on the same new targets.

Pure: arrays in, a `Verdict` out. Forecast losses are autocorrelated (h-step forecasts from
consecutive origins share targets, and volatility clusters), so every test here works on paired loss
differences with a long-run (horizon-aware) variance, never an i.i.d. test on raw values:

- `decayed` when, at level alpha split over the two (Bonferroni, one-sided):
  * the champion is significantly worse than the baseline (the gate's Diebold–Mariano test with the
    HLN correction, `evaluate.significance.diebold_mariano`), or
  * its error ratio to the baseline is significantly above its hold-out ratio r0: the mean of
    c_t - r0 * b_t is tested against 0. With the hold-out's own errors at hand, the uncertainty of r0
    (delta method, long-run variance) is added, so a champion that looked lucky on its hold-out is not
    called decayed for regressing to its true ratio.
- `warning` when an upper CUSUM of the standardised differences (c_t - r0 * b_t, scaled by the
  hold-out's long-run standard deviation) crosses its threshold without either test being significant:
  a drift that is starting, or too short to be significant yet.
- `insufficient_data` below `min_points` new targets: too few to say anything, never `healthy`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.tsa.stattools import acovf

from lstmops.evaluate.significance import MIN_BLOCKS, diebold_mariano

HEALTHY, WARNING, DECAYED, INSUFFICIENT = "healthy", "warning", "decayed", "insufficient_data"


@dataclass(frozen=True)
class Verdict:
    status: str
    n: int  # new targets (forecast origins) the verdict rests on
    evidence: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The evidence in one line."""
        e = self.evidence
        if self.status == INSUFFICIENT:
            return f"{self.n} new forecast origins with arrived targets, {e['needed']} needed"
        versus = (
            f"vs hold-out {e['holdout_ratio']:.3g} (p={e['ratio_p']:.2g})"
            if e["holdout_ratio"] is not None
            else "(no hold-out ratio recorded)"
        )
        parts = [
            f"error ratio {e['error_ratio']:.3g} {versus}",
            f"worse than baseline: DM p={e['dm_p']:.2g}",
            f"CUSUM max {e['cusum_max']:.3g}/{e['cusum_threshold']:g}",
            f"n={self.n}",
        ]
        if e.get("input_drift"):  # added by the check: evidence, a warning at most
            parts.append(e["input_drift"])
        return ", ".join(parts)


def long_run_variance(d: np.ndarray, horizon: int) -> float:
    """gamma_0 + 2 sum_{k<h} gamma_k of `d` (rectangular window, as the DM test); h=1 where negative."""
    gamma = acovf(np.asarray(d, dtype=float), adjusted=False, demean=True, fft=False, nlag=max(horizon, 1) - 1)
    value = float(gamma[0] + 2 * gamma[1:horizon].sum())
    return value if value > 0 or horizon == 1 else float(gamma[0])


def upper_cusum(z: np.ndarray, k: float) -> np.ndarray:
    """S_t = max(0, S_{t-1} + z_t - k), S_0 = 0: grows while the mean of z stays above k."""
    path = np.empty(len(z))
    total = 0.0
    for t, value in enumerate(z):
        total = max(0.0, total + float(value) - k)
        path[t] = total
    return path


def _one_sided_p(statistic: float, n: int) -> float:
    """P(T >= statistic) for Student's t on n-1 degrees of freedom: small when the champion is worse."""
    return float(stats.t.sf(statistic, df=n - 1))


def ratio_shift(
    champion: np.ndarray,
    baseline: np.ndarray,
    holdout_ratio: float,
    horizon: int,
    holdout: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, float]:
    """(statistic, one-sided p) of mean(c - r0 * b) > 0: the new error ratio exceeds the hold-out's r0.

    With `holdout` (its champion and baseline losses) the variance of r0 = sum(c_h) / sum(b_h) joins
    by the delta method; otherwise r0 is taken as known (the DM test of c against r0 * b)."""
    c, b = np.asarray(champion, dtype=float), np.asarray(baseline, dtype=float)
    n = len(c)
    if holdout is None:
        test = diebold_mariano(c, holdout_ratio * b, horizon)
        return test.statistic, _one_sided_p(test.statistic, n)
    c_ref, b_ref = (np.asarray(part, dtype=float) for part in holdout)
    u = c - holdout_ratio * b
    var_new = long_run_variance(u, horizon) / n
    var_ratio = long_run_variance(c_ref - holdout_ratio * b_ref, horizon) / (len(c_ref) * b_ref.mean() ** 2)
    spread = np.sqrt(var_new + b.mean() ** 2 * var_ratio)
    if spread == 0:
        mean = float(u.mean())
        return float(np.copysign(np.inf, mean)) if mean else 0.0, 0.0 if mean > 0 else 1.0
    statistic = float(u.mean() / spread)
    return statistic, _one_sided_p(statistic, n)


def standardised_differences(
    champion: np.ndarray,
    baseline: np.ndarray,
    holdout_ratio: float,
    holdout: tuple[np.ndarray, np.ndarray] | None,
    horizon: int,
) -> np.ndarray:
    """(c_t - r0 * b_t) in units of the hold-out's long-run standard deviation (what "normal" looked
    like; without a hold-out, the new data's own): what the CUSUM sums."""
    c, b = np.asarray(champion, dtype=float), np.asarray(baseline, dtype=float)
    if holdout is not None:
        reference = np.asarray(holdout[0], dtype=float) - holdout_ratio * np.asarray(holdout[1], dtype=float)
    else:
        reference = c - holdout_ratio * b
    scale = np.sqrt(long_run_variance(reference, horizon))
    return (c - holdout_ratio * b) / scale if scale > 0 else np.zeros(len(c))


def decide(
    champion: np.ndarray,
    baseline: np.ndarray,
    *,
    holdout_ratio: float,
    holdout: tuple[np.ndarray, np.ndarray] | None = None,
    horizon: int = 1,
    alpha: float = 0.05,
    min_points: int = 30,
    cusum_k: float = 0.5,
    cusum_threshold: float = 8.0,
) -> Verdict:
    """The verdict on the champion's and the baseline's losses at the same new forecast origins, in time order.

    `holdout_ratio`: the champion's error ratio to the same baseline on its hold-out (overridden by
    `holdout`'s own losses when given); `horizon`: forecast steps, which sets the losses' autocorrelation.
    """
    c, b = np.asarray(champion, dtype=float), np.asarray(baseline, dtype=float)
    if c.shape != b.shape or c.ndim != 1:
        raise ValueError(f"champion and baseline losses must be paired 1-d arrays, got {c.shape} and {b.shape}")
    n = len(c)
    # As the gate's re-split: h-step losses overlap, so a long horizon needs several stretches of h origins.
    needed = max(min_points, MIN_BLOCKS * horizon, horizon + 2, 3)
    if n < needed:
        return Verdict(INSUFFICIENT, n, {"needed": needed, "horizon": horizon})
    if holdout is not None:
        c_ref, b_ref = (np.asarray(part, dtype=float) for part in holdout)
        if len(c_ref) < max(horizon + 2, 3) or b_ref.sum() <= 0:
            holdout = None  # too short to estimate r0's uncertainty: r0 is taken as known
        else:
            holdout_ratio = float(c_ref.sum() / b_ref.sum())
    test = diebold_mariano(c, b, horizon, alpha)
    dm_p = _one_sided_p(test.statistic, n)
    ratio_known = holdout is not None or math.isfinite(holdout_ratio)
    if ratio_known:
        ratio_stat, ratio_p = ratio_shift(c, b, holdout_ratio, horizon, holdout)
    else:  # no hold-out ratio recorded: only the test against the baseline; CUSUM centred on parity
        ratio_stat, ratio_p, holdout_ratio = None, None, 1.0

    path = upper_cusum(standardised_differences(c, b, holdout_ratio, holdout, horizon), cusum_k)
    crossed = np.flatnonzero(path > cusum_threshold)

    level = alpha / 2  # two decay tests share alpha (Bonferroni)
    # Losing to the baseline is news only for a champion that beat it on its hold-out: one promoted before
    # the baseline it now meets (e.g. the linear one) is judged by its own hold-out ratio alone.
    lost_since_holdout = not ratio_known or holdout_ratio < 1
    worse_than_baseline = lost_since_holdout and dm_p < level
    above_holdout = ratio_p is not None and ratio_p < level
    if worse_than_baseline or above_holdout:
        status = DECAYED
    elif len(crossed):
        status = WARNING
    else:
        status = HEALTHY
    evidence = {
        "error_ratio": float(c.sum() / b.sum()) if b.sum() > 0 else float("inf"),
        "holdout_ratio": float(holdout_ratio) if ratio_known else None,
        "dm_stat": float(test.statistic),
        "dm_p": dm_p,
        "ratio_stat": ratio_stat,
        "ratio_p": ratio_p,
        "worse_than_baseline": bool(worse_than_baseline),
        "above_holdout_ratio": bool(above_holdout),
        "cusum_max": float(path.max()),
        "cusum_threshold": float(cusum_threshold),
        "cusum_k": float(cusum_k),
        "cusum_alarm_at": int(crossed[0]) if len(crossed) else None,
        "cusum_scale": "hold-out" if holdout is not None else "new data",
        "horizon": horizon,
        "alpha": alpha,
    }
    return Verdict(status, n, evidence)
