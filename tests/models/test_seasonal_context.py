import numpy as np
import pytest

from lstmops import anomalies
from lstmops.tasks.autoencoder.seasonal_context import (
    dominant_period,
    seasonal_difference,
    seasonal_reconstruction_scores,
)

PERIOD = 48
SETTINGS = {"smoothing_window": 0.01, "min_autocorrelation": 0.3, "prominence": 0.1}


def daily_square_wave(days: int = 14, noise: float = 0.02) -> np.ndarray:
    """A peak for the first third of every period."""
    steps = np.arange(days * PERIOD)
    return np.where(steps % PERIOD < PERIOD // 3, 1.0, -1.0) + np.random.default_rng(0).normal(0, noise, len(steps))


def detections(scores: np.ndarray) -> list[tuple[int, int, float]]:
    return anomalies.find_anomalies_orion(scores, anomaly_padding=5, min_percent=0.1)


def test_the_period_is_the_strongest_autocorrelation_peak_and_noise_has_none():
    assert dominant_period(daily_square_wave(), min_autocorrelation=0.3, prominence=0.1) == PERIOD
    noise = np.random.default_rng(0).normal(size=2000)
    assert dominant_period(noise, min_autocorrelation=0.3, prominence=0.1) is None


def test_the_period_after_an_odd_one_matches_the_next_and_stays_quiet():
    values = daily_square_wave()
    values[6 * PERIOD : 6 * PERIOD + PERIOD // 3] = -1.0  # day 6 has no peak
    difference = seasonal_difference(values, PERIOD)
    assert difference[6 * PERIOD : 6 * PERIOD + PERIOD // 3].min() > 1.5
    assert difference[7 * PERIOD : 7 * PERIOD + PERIOD // 3].max() < 0.2
    with pytest.raises(ValueError, match="period must be in 1..671"):
        seasonal_difference(values, len(values))


def test_a_missing_peak_that_the_reconstruction_does_not_see_is_detected():
    values = daily_square_wave()
    values[6 * PERIOD : 6 * PERIOD + PERIOD // 3] = -1.0
    flat_reconstruction_error = np.full(len(values), 0.1)

    scores, period = seasonal_reconstruction_scores(values, flat_reconstruction_error, **SETTINGS)

    assert period == PERIOD
    found = detections(scores)
    assert found and all(start <= 6 * PERIOD + PERIOD // 3 and end >= 6 * PERIOD for start, end, _ in found)


def test_a_perfectly_regular_series_gives_no_detection_and_an_aperiodic_one_keeps_the_reconstruction_error():
    values = daily_square_wave(noise=0.0)
    scores, period = seasonal_reconstruction_scores(values, np.full(len(values), 0.1), **SETTINGS)
    assert period == PERIOD and detections(scores) == []

    noise = np.random.default_rng(0).normal(size=2000)
    errors = np.abs(noise)
    scores, period = seasonal_reconstruction_scores(noise, errors, **SETTINGS)
    assert period is None and np.array_equal(scores, errors)
