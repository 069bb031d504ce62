"""Is one model really better than another on the same hold-out points, or is the difference noise?

Paired tests on per-unit results that evaluations leave in `Evaluation.units` (see there):
- forecasts (columns `loss`, `loss_baseline`, one row per forecast origin): Diebold–Mariano on the
  loss differences d_t = loss_a - loss_b with the Harvey–Leybourne–Newbold (1997) small-sample
  correction and a horizon-aware long-run variance: h-step forecasts from consecutive origins share
  h-1 targets, so d_t is autocorrelated up to lag h-1 and the variance of its mean is
  (gamma_0 + 2 sum_{k<h} gamma_k) / n (Diebold & Mariano 1995, rectangular window). Like R's
  `forecast::dm.test`, a negative estimate (possible for h > 1) falls back to h = 1.
  The statistic is compared with Student's t on n-1 degrees of freedom (HLN).
- anomaly detection (columns `tp`, `fp`, `fn` and `*_baseline`: overlapping-segment events anchored
  at the hold-out row where each starts): a paired moving-block bootstrap of the F1 difference.
  Labelled windows are few, so a t-test on them would be meaningless; resampling contiguous blocks
  of rows (the same blocks for both detectors) keeps events and their neighbourhoods together.

Every comparison is two-sided at level `alpha`: significant means the (1 - alpha) confidence interval
of the effect excludes zero, which is the same as p < alpha with the effect's sign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.tsa.stattools import acovf

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0  # the gate's verdict on the same data must not change between calls
LOSS_COLUMNS = ("loss",)
SEGMENT_COLUMNS = ("tp", "fp", "fn")
# Fewest paired points a comparison is worth making on when the rows can be chosen (the gate's
# re-split): below ~30 pairs the DM statistic's t approximation rests on little and rarely rejects,
# and the long-run variance (h-step losses) or the bootstrap (blocks of h rows) needs several
# independent stretches of h points.
MIN_POINTS = 30
MIN_BLOCKS = 10


def minimum_points(horizon: int) -> int:
    """Paired points a test with `horizon`-dependent units needs: max(MIN_POINTS, MIN_BLOCKS * horizon)."""
    return max(MIN_POINTS, MIN_BLOCKS * max(horizon, 1))


@dataclass(frozen=True)
class Comparison:
    """One paired test: effect = metric of a minus metric of b, on the n units both were scored on."""

    test: str  # "DM-HLN h=<h>" or "block bootstrap L=<rows>"
    statistic: float  # DM statistic (t scale); for the bootstrap the effect over its bootstrap std
    p_value: float  # two-sided
    effect: float
    ci_low: float
    ci_high: float
    n: int
    alpha: float

    def significant(self, higher_is_better: bool) -> bool:
        """True when a beats b: the confidence interval lies wholly on a's better side of zero."""
        return self.ci_low > 0 if higher_is_better else self.ci_high < 0

    def describe(self) -> str:
        """`diff -0.0002, 95% CI [-0.011, 0.010], DM p=0.48` (bootstrap: `bootstrap p=...`)."""
        name = "DM" if self.test.startswith("DM") else "bootstrap"
        return (
            f"diff {self.effect:+.4g}, {1 - self.alpha:.0%} CI [{self.ci_low:.4g}, {self.ci_high:.4g}], "
            f"{name} p={self.p_value:.2g}, n={self.n}"
        )


def diebold_mariano(loss_a: np.ndarray, loss_b: np.ndarray, horizon: int = 1, alpha: float = 0.05) -> Comparison:
    """DM test with the HLN correction of mean(loss_a - loss_b) = 0 (see the module docstring)."""
    d = np.asarray(loss_a, dtype=float) - np.asarray(loss_b, dtype=float)
    n = len(d)
    if n < 3:
        raise ValueError(f"a Diebold–Mariano test needs at least 3 paired losses, got {n}")
    if not 1 <= horizon < n:
        raise ValueError(f"horizon must be in 1..{n - 1}, got {horizon}")
    mean = float(d.mean())
    gamma = acovf(d, adjusted=False, demean=True, fft=False, nlag=horizon - 1)
    long_run = gamma[0] + 2 * gamma[1:horizon].sum()
    if long_run <= 0 and horizon > 1:
        return diebold_mariano(loss_a, loss_b, 1, alpha)
    if long_run <= 0:  # the same difference at every origin: none at all, or a certain one
        certain = mean != 0
        statistic = float(np.copysign(np.inf, mean)) if certain else 0.0
        return Comparison(f"DM-HLN h={horizon}", statistic, 0.0 if certain else 1.0, mean, mean, mean, n, alpha)
    correction = np.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    std_error = np.sqrt(long_run / n) / correction  # of the mean difference, on the HLN statistic's scale
    statistic = mean / std_error
    p_value = 2 * stats.t.sf(abs(statistic), df=n - 1)
    half = stats.t.ppf(1 - alpha / 2, df=n - 1) * std_error
    return Comparison(
        f"DM-HLN h={horizon}", float(statistic), float(p_value), mean, float(mean - half), float(mean + half), n, alpha
    )


def f1_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """2tp / (2tp + fp + fn), 0.0 where nothing was labelled or flagged (as `anomalies` does)."""
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(denominator, dtype=float), where=denominator > 0)


def block_bootstrap_f1(
    counts_a: np.ndarray,
    counts_b: np.ndarray,
    block: int,
    alpha: float = 0.05,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Comparison:
    """Paired circular moving-block bootstrap of F1(a) - F1(b); counts are (n, 3) per-row tp, fp, fn."""
    a, b = np.asarray(counts_a, dtype=float), np.asarray(counts_b, dtype=float)
    n = len(a)
    if a.shape != (n, 3) or b.shape != (n, 3):
        raise ValueError(f"counts must be (n, 3) arrays of tp, fp, fn, got {a.shape} and {b.shape}")
    block = int(min(max(block, 1), n))
    observed = float(f1_from_counts(*a.sum(axis=0)) - f1_from_counts(*b.sum(axis=0)))
    rows = _circular_block_rows(n, block, samples, seed)
    sums_a, sums_b = a[rows].sum(axis=1), b[rows].sum(axis=1)  # (samples, 3)
    diffs = f1_from_counts(*sums_a.T) - f1_from_counts(*sums_b.T)
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    # Two-sided percentile p-value: how often the resampled difference lands on the far side of zero.
    p_value = min(1.0, 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0)))
    spread = float(diffs.std())
    statistic = observed / spread if spread > 0 else 0.0
    return Comparison(
        f"block bootstrap L={block}", statistic, float(p_value), observed, float(low), float(high), n, alpha
    )


def _circular_block_rows(n: int, block: int, samples: int, seed: int) -> np.ndarray:
    """(samples, n) row indices: each resample is blocks of `block` consecutive rows, wrapping around."""
    starts = np.random.default_rng(seed).integers(0, n, size=(samples, -(-n // block)))
    return ((starts[:, :, None] + np.arange(block)) % n).reshape(samples, -1)[:, :n]


def block_bootstrap_ratio(
    numerator: np.ndarray,
    denominator: np.ndarray,
    block: int,
    alpha: float = 0.05,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """(1 - alpha) percentile interval of sum(numerator) / sum(denominator) under a circular
    moving-block bootstrap of the paired points (e.g. pooled MASE: model and persistence errors)."""
    top, bottom = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    n = len(top)
    rows = _circular_block_rows(n, int(min(max(block, 1), n)), samples, seed)
    ratios = top[rows].sum(axis=1) / bottom[rows].sum(axis=1)
    low, high = np.quantile(ratios, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def paired_units(
    a: pd.DataFrame, b: pd.DataFrame, columns: tuple[str, ...], suffix_b: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """Rows both were scored on (inner join on the index): a's `columns` and b's `columns + suffix_b`."""
    theirs = [f"{column}__b" for column in columns]
    right = b[[f"{column}{suffix_b}" for column in columns]].set_axis(theirs, axis=1)
    joined = a[list(columns)].join(right, how="inner")
    if joined.empty:
        raise ValueError("the two evaluations share no hold-out points to compare")
    return joined[list(columns)].to_numpy(), joined[theirs].to_numpy()


def compare_units(
    a: pd.DataFrame, b: pd.DataFrame, *, horizon: int, alpha: float, baseline: bool = False
) -> Comparison:
    """Paired test of evaluation units `a` against `b` (another version's), or against a's own
    baseline columns when `baseline` (then `b` is `a`)."""
    suffix = "_baseline" if baseline else ""
    if "loss" in a.columns:
        mine, theirs = paired_units(a, b, LOSS_COLUMNS, suffix)
        return diebold_mariano(mine[:, 0], theirs[:, 0], horizon, alpha)
    if all(column in a.columns for column in SEGMENT_COLUMNS):
        mine, theirs = paired_units(a, b, SEGMENT_COLUMNS, suffix)
        return block_bootstrap_f1(mine, theirs, horizon, alpha)
    raise ValueError(f"no paired test for evaluation units with columns {list(a.columns)}")
