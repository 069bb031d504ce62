"""Seasonal context for the autoencoder's anomaly score: how far each point is from the same phase one
period earlier AND one period later, combined with the reconstruction error by a geometric mean.

Why: an autoencoder reconstructs whatever shape its window shows, and a window shorter than the
signal's period cannot show that a day's peak is missing, lower or flattened; comparing the point
with the neighbouring periods can. Taking the smaller of the two differences keeps the period after
an odd one quiet (it still matches the period after it), so only the odd period stands out.

The period is the lag of the autocorrelation's highest peak (a local maximum standing out by
`prominence`) within the first third of the series; none, and no seasonal term, when that peak's
autocorrelation is below `min_autocorrelation` or its lag is shorter than `min_period` (the
autoencoder's window: a cycle that fits in one window is already in what the window reconstructs).
A constant signal scores 0 everywhere: nothing in it deviates from anything.

Two forms: `seasonal_reconstruction_scores` for the NAB benchmark (period found on the scored series,
both terms rescaled to [0, 1] over it, as Orion rescales its scores), and `seasonal_context_scores`
for the product's autoencoder (period fixed at training, no rescaling, so a row's score does not
depend on the rest of the scored input and a threshold fitted on training scores applies anywhere).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import find_peaks

from lstmops.tasks.autoencoder.network import MAX_SMOOTHING_WINDOW, centred_rolling_mean

# The period search's settings, chosen on NAB's development groups; the same for every series.
MIN_AUTOCORRELATION = 0.3
PROMINENCE = 0.1


def autocorrelation(values: np.ndarray) -> np.ndarray:
    """Sample autocorrelation at lags 0..n-1 (FFT, zero-padded so that it does not wrap around)."""
    centred = np.asarray(values, dtype=float) - np.mean(values)
    spectrum = np.fft.rfft(centred, 2 * len(centred))
    correlation = np.fft.irfft(spectrum * np.conj(spectrum))[: len(centred)]
    return correlation / correlation[0] if correlation[0] > 0 else np.zeros(len(centred))


def dominant_period(
    values: np.ndarray, *, min_autocorrelation: float, prominence: float, min_period: int = 2
) -> int | None:
    """The signal's period in points, or None when it has none strong and long enough (module notes)."""
    correlation = autocorrelation(values)[: len(values) // 3]
    peaks, _ = find_peaks(correlation, prominence=prominence)
    if len(peaks) == 0:
        return None
    best = int(peaks[np.argmax(correlation[peaks])])
    return best if correlation[best] >= min_autocorrelation and best >= min_period else None


def seasonal_difference(values: np.ndarray, period: int) -> np.ndarray:
    """min(|x[t] - x[t - period]|, |x[t] - x[t + period]|), the one that exists at either end."""
    values = np.asarray(values, dtype=float)
    if not 0 < period < len(values):
        raise ValueError(f"period must be in 1..{len(values) - 1} for {len(values)} points, got {period}")
    earlier = np.full(len(values), np.inf)
    later = np.full(len(values), np.inf)
    earlier[period:] = np.abs(values[period:] - values[:-period])
    later[:-period] = np.abs(values[:-period] - values[period:])
    return np.minimum(earlier, later)


def _unit_range(values: np.ndarray) -> np.ndarray:
    """Rescaled to [0, 1] (a constant maps to 0)."""
    spread = np.ptp(values)
    return np.zeros_like(values) if spread == 0 else (values - values.min()) / spread


def seasonal_reconstruction_scores(
    values: np.ndarray,
    reconstruction: np.ndarray,
    *,
    smoothing_window: float,
    min_autocorrelation: float,
    prominence: float,
    min_period: int,
) -> tuple[np.ndarray, int | None]:
    """The anomaly score per point and the period used (None: the reconstruction error alone).

    Both terms are smoothed alike (a centred rolling mean over `smoothing_window` of the points,
    capped as the reconstruction error's is), rescaled to [0, 1] and combined by their geometric mean:
    a point scores high only when both are high, so neither the reconstruction error's usual peaks
    (every edge of a square wave) nor a noisy stretch of the seasonal difference stands out alone.
    (Orion's AER multiplies scores rescaled to [1, 2] instead, which lets either term dominate.)
    """
    values, reconstruction = np.asarray(values, dtype=float), np.asarray(reconstruction, dtype=float)
    if values.shape != reconstruction.shape:
        raise ValueError(f"values {values.shape} and reconstruction errors {reconstruction.shape} differ in shape")
    if np.ptp(values) == 0:
        return np.zeros_like(values), None
    period = dominant_period(
        values, min_autocorrelation=min_autocorrelation, prominence=prominence, min_period=min_period
    )
    if period is None:
        return reconstruction, None
    width = max(1, min(math.trunc(len(values) * smoothing_window), MAX_SMOOTHING_WINDOW))
    seasonal = centred_rolling_mean(seasonal_difference(values, period), width)
    return np.sqrt(_unit_range(np.nan_to_num(reconstruction)) * _unit_range(np.nan_to_num(seasonal))), period


def seasonal_context_scores(
    values: np.ndarray, reconstruction: np.ndarray, period: int, smoothing_window: int
) -> np.ndarray:
    """sqrt(reconstruction error x seasonal difference), the difference smoothed like the error (a
    centred rolling mean of `smoothing_window` points). Every row needs a neighbouring period inside
    the input, so the input must hold at least two periods."""
    values, reconstruction = np.asarray(values, dtype=float), np.asarray(reconstruction, dtype=float)
    if values.shape != reconstruction.shape or values.ndim != 1:
        raise ValueError(
            f"values {values.shape} and reconstruction errors {reconstruction.shape} must be equal and 1-D"
        )
    if len(values) < 2 * period:
        raise ValueError(
            f"the seasonal score compares each row with the rows one period ({period}) before or after, "
            f"so it needs at least {2 * period} rows, got {len(values)}"
        )
    seasonal = centred_rolling_mean(seasonal_difference(values, period), smoothing_window)
    return np.sqrt(reconstruction * seasonal)
