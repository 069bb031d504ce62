import numpy as np
import pytest

from lstmops.evaluate import anomalies
from lstmops.tasks.autoencoder.seasonal_context import (
    dominant_period,
    seasonal_context_scores,
    seasonal_difference,
    seasonal_reconstruction_scores,
)

PERIOD = 48
SETTINGS = {"smoothing_window": 0.01, "min_autocorrelation": 0.3, "prominence": 0.1, "min_period": 24}
ODD_DAY = slice(6 * PERIOD, 6 * PERIOD + PERIOD // 3)  # the peak of day 6


def daily_square_wave(days: int = 14, noise: float = 0.02) -> np.ndarray:
    """A peak for the first third of every period."""
    steps = np.arange(days * PERIOD)
    return np.where(steps % PERIOD < PERIOD // 3, 1.0, -1.0) + np.random.default_rng(0).normal(0, noise, len(steps))


def edge_errors(values: np.ndarray) -> np.ndarray:
    """What an autoencoder's reconstruction error looks like on a square wave: a peak at every edge."""
    edges = np.abs(np.diff(values, prepend=values[0])) > 1.0
    return np.convolve(edges.astype(float), np.ones(5), mode="same") + np.random.default_rng(1).uniform(
        0, 0.05, len(values)
    )


def detections(scores: np.ndarray) -> list[tuple[int, int, float]]:
    return anomalies.find_anomalies_orion(scores, anomaly_padding=5, min_percent=0.1)


def test_the_period_is_the_strongest_autocorrelation_peak_and_noise_or_a_short_cycle_has_none():
    assert dominant_period(daily_square_wave(), min_autocorrelation=0.3, prominence=0.1) == PERIOD
    assert dominant_period(daily_square_wave(), min_autocorrelation=0.3, prominence=0.1, min_period=PERIOD + 1) is None
    noise = np.random.default_rng(0).normal(size=2000)
    assert dominant_period(noise, min_autocorrelation=0.3, prominence=0.1) is None


def test_the_period_after_an_odd_one_matches_the_next_and_stays_quiet():
    values = daily_square_wave()
    values[ODD_DAY] = -1.0
    difference = seasonal_difference(values, PERIOD)
    assert difference[ODD_DAY].min() > 1.5
    assert difference[ODD_DAY.start + PERIOD : ODD_DAY.stop + PERIOD].max() < 0.2
    with pytest.raises(ValueError, match="period must be in 1..671"):
        seasonal_difference(values, len(values))


def test_an_odd_day_stands_out_once_the_edges_every_day_has_are_discounted():
    values = daily_square_wave()
    values[ODD_DAY] = 0.0  # a flat middle level the wave never takes
    errors = edge_errors(values)
    errors[ODD_DAY] += 0.5  # the reconstruction is off there, but less than at any edge

    scores, period = seasonal_reconstruction_scores(values, errors, **SETTINGS)

    assert period == PERIOD
    found = detections(scores)
    assert found and all(start <= ODD_DAY.stop and end >= ODD_DAY.start for start, end, _ in found)
    # ...though the reconstruction error is larger at every edge of every day.
    assert errors[ODD_DAY.start + 3 : ODD_DAY.stop - 3].max() < errors.max() / 2


def test_regular_and_constant_series_give_no_detection_and_an_aperiodic_one_keeps_the_reconstruction_error():
    values = daily_square_wave()
    scores, period = seasonal_reconstruction_scores(values, edge_errors(values), **SETTINGS)
    assert period == PERIOD and detections(scores) == []

    scores, period = seasonal_reconstruction_scores(np.ones(500), np.random.default_rng(0).random(500), **SETTINGS)
    assert period is None and not scores.any() and detections(scores) == []

    noise = np.random.default_rng(0).normal(size=2000)
    errors = np.abs(noise)
    scores, period = seasonal_reconstruction_scores(noise, errors, **SETTINGS)
    assert period is None and np.array_equal(scores, errors)


def test_the_products_score_flags_the_odd_day_alone_and_a_rows_score_does_not_depend_on_the_rest():
    values = daily_square_wave()
    values[ODD_DAY] = 0.0
    errors = edge_errors(values)
    errors[ODD_DAY] += 0.5

    scores = seasonal_context_scores(values, errors, PERIOD, smoothing_window=5)

    elsewhere = np.ones(len(values), dtype=bool)
    elsewhere[ODD_DAY.start - 2 : ODD_DAY.stop + 2] = False  # the smoothing's reach
    assert scores[ODD_DAY].max() > 3 * scores[elsewhere].max()
    # No rescaling over the input: the same rows scored inside six days give the same scores.
    part = slice(3 * PERIOD, 9 * PERIOD)
    inside = seasonal_context_scores(values[part], errors[part], PERIOD, smoothing_window=5)
    np.testing.assert_allclose(inside[PERIOD : 5 * PERIOD], scores[4 * PERIOD : 8 * PERIOD])


def test_the_products_score_needs_two_periods_so_that_every_row_has_a_neighbouring_one():
    values = daily_square_wave(days=2)
    with pytest.raises(ValueError, match=f"needs at least {2 * PERIOD} rows, got {2 * PERIOD - 1}"):
        seasonal_context_scores(values[:-1], edge_errors(values)[:-1], PERIOD, smoothing_window=5)
