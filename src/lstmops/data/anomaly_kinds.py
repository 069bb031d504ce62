"""The kinds of anomaly a sensor can show, written into a series in place: the demo generator's labelled
anomalies and the label-free evaluation's injected ones (`evaluate.injected`) are the same kinds."""

from __future__ import annotations

import numpy as np

ANOMALY_KINDS = ("spike", "level_shift", "drift", "flatline", "noise_burst")


def inject_anomaly(
    kind: str, values: np.ndarray, first: int, stop: int, scale: float, rng: np.random.Generator
) -> None:
    """Overwrite values[first:stop] in place with an anomaly of `kind`, sized relative to `scale`."""
    sign = rng.choice([-1.0, 1.0])
    segment = slice(first, stop)
    if kind == "spike":
        values[segment] += sign * rng.uniform(1.5, 2.0) * scale
    elif kind == "level_shift":
        values[segment] += sign * rng.uniform(0.6, 0.9) * scale
    elif kind == "drift":
        values[segment] += sign * np.linspace(0.0, rng.uniform(0.8, 1.2) * scale, stop - first + 1)[1:]
    elif kind == "flatline":
        values[segment] = values[first - 1]  # stuck at the last good reading
    elif kind == "noise_burst":
        values[segment] += rng.normal(0.0, 0.4 * scale, stop - first)
    else:
        raise ValueError(f"unknown anomaly kind {kind!r}; expected one of {ANOMALY_KINDS}")
