"""Input drift on seeded autocorrelated series: the block-bootstrap p-value keeps its level where the
i.i.d. Kolmogorov–Smirnov test raises false alarms, and a doubled noise is still found."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lstmops.monitoring.drift import block_bootstrap_p, input_drift, ks_distance, model_inputs


def ar1(n: int, phi: float, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    x, e = np.zeros(n), rng.standard_normal(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return scale * x


def test_the_distance_is_scipys_two_sample_statistic():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(300), rng.standard_normal(70) + 0.3
    assert ks_distance(np.sort(a), b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)


def test_no_change_on_an_autocorrelated_series_is_rarely_drift_where_plain_ks_cries_wolf():
    naive = bootstrap = 0
    for seed in range(30):
        series = ar1(950, 0.9, np.random.default_rng(seed))
        reference, new = series[:800], series[800:]
        naive += stats.ks_2samp(reference, new).pvalue < 0.05
        bootstrap += block_bootstrap_p(reference, new, resamples=99, seed=seed)[1] < 0.05
    assert naive >= 12  # the i.i.d. test: the effective sample is far smaller than 150
    assert bootstrap <= 5


def test_doubled_noise_is_drift():
    found = 0
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        reference, new = ar1(800, 0.6, rng), ar1(200, 0.6, rng, scale=2.0)
        found += block_bootstrap_p(reference, new, resamples=99, seed=seed)[1] < 0.05
    assert found >= 8


def test_several_inputs_share_the_level_and_short_ones_are_not_tested():
    rng = np.random.default_rng(5)
    reference = {"a": rng.standard_normal(500), "b": rng.standard_normal(500), "short": rng.standard_normal(10)}
    new = {"a": rng.standard_normal(100), "b": rng.standard_normal(100) + 1.0, "short": rng.standard_normal(5)}
    drifts, p = input_drift(reference, new, resamples=99)
    assert [d.name for d in drifts] == ["a", "b"]
    assert p == pytest.approx(min(1.0, 2 * min(d.p for d in drifts)))
    assert p < 0.05
    assert input_drift({"x": np.ones(5)}, {"x": np.ones(5)}) == ([], None)


def test_a_seq2seq_sees_seasonal_residuals_not_levels():
    values = np.sin(2 * np.pi * np.arange(96) / 24) + 50
    inputs = model_inputs("seq2seq", pd.DataFrame({"value": values}), ["value"], season=24)
    assert list(inputs.columns) == ["seasonal residual (24)"]
    assert inputs.iloc[:24].isna().all().all()
    assert np.allclose(inputs.iloc[24:].to_numpy(), 0.0)
