"""A deterministic synthetic sensor with labelled anomalies of every kind, for offline demos and tests.

The clean signal is a level plus daily and weekly seasonality, a slow trend and Gaussian noise.
`cycle` > 0 adds structure a linear model on the series' own lags cannot capture: a thermostat-like
relay, `cycle` x the daily amplitude from bottom to top, that rises while on and falls while off and
switches at fixed bounds. How fast it falls follows the time of day (warmer surroundings by day), so
its period depends on the hour: when it next switches is a nonlinear function of where it stands, which
way it moves and the hour, which a network with calendar inputs can learn and a ridge on lags and
yesterday's values cannot. Its draws come from their own random stream, so the anomalies' kinds and
places do not depend on it (off: the series is exactly the plain one).
Five anomalies (one of each kind in `ANOMALY_KINDS`, in a seeded order) are injected into the last
60% of the series, one per equal slot so they stay apart; the first 40% is clean so an unsupervised
model can learn normal behaviour. Each anomaly gets a NAB-style label window: the anomalous points
plus a little padding, never reaching into a neighbouring slot.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstmops.data.anomaly_kinds import ANOMALY_KINDS
from lstmops.data.anomaly_kinds import inject_anomaly as _inject
from lstmops.data.sensors import TIMESTAMP_DTYPE, SensorSeries, Window

CLEAN_FRACTION = 0.4
# Anomaly length as a fraction of the series (a spike is always one point).
_LENGTH_FRACTION = {"level_shift": 0.015, "drift": 0.025, "flatline": 0.015, "noise_burst": 0.015}
_PAD_FRACTION = 0.002
MIN_POINTS = 100
CYCLE_JITTER = 0.05  # default relative spread of the relay's speed from step to step


# eq=False: the generated __eq__ would compare arrays and DataFrames, which has no truth value.
@dataclass(frozen=True, eq=False)
class DemoSensor:
    """The generated series plus what a test needs to check its labels.

    `clean` is the signal before injection (same length as the frame); `kinds[i]` names the anomaly
    labelled by `series.windows[i]`.
    """

    series: SensorSeries
    clean: np.ndarray
    kinds: list[str]


def _name_seed(name: str) -> int:
    # Python's hash() of a str changes between processes; crc32 does not.
    return zlib.crc32(name.encode("utf-8"))


def generate_demo_sensor(
    name: str,
    *,
    n_points: int = 4032,
    freq: str = "5min",
    start: str = "2024-01-01",
    seed: int = 11,
    cycle: float = 0.0,
    cycle_jitter: float = CYCLE_JITTER,
) -> DemoSensor:
    """Build the clean signal, inject the five anomalies and label them; same inputs, same output."""
    if n_points < MIN_POINTS:
        raise ValueError(f"demo sensor {name!r}: n_points must be >= {MIN_POINTS}, got {n_points}")
    rng = np.random.default_rng([seed, _name_seed(name)])
    timestamps = pd.date_range(start=start, periods=n_points, freq=freq).astype(TIMESTAMP_DTYPE)
    days = np.asarray((timestamps - timestamps[0]) / pd.Timedelta(days=1), dtype="float64")

    if cycle < 0:
        raise ValueError(f"demo sensor {name!r}: cycle must be >= 0, got {cycle}")
    daily_amplitude = rng.uniform(8.0, 12.0)
    noise_sd = 0.04 * daily_amplitude
    relay = cycle * daily_amplitude * _relay(days, freq, [seed, _name_seed(name), 1], cycle_jitter) if cycle else 0.0
    clean = (
        rng.uniform(40.0, 60.0)
        + relay
        + daily_amplitude * np.sin(2 * np.pi * days + rng.uniform(0, 2 * np.pi))
        + rng.uniform(0.2, 0.4) * daily_amplitude * np.sin(2 * np.pi * days / 7 + rng.uniform(0, 2 * np.pi))
        + rng.uniform(-0.3, 0.3) * daily_amplitude * days / max(days[-1], 1.0)
        + rng.normal(0.0, noise_sd, n_points)
    )

    values = clean.copy()
    windows: list[Window] = []
    kinds = [str(kind) for kind in rng.permutation(ANOMALY_KINDS)]
    pad = max(1, round(_PAD_FRACTION * n_points))
    slot_starts = np.linspace(round(CLEAN_FRACTION * n_points), n_points, len(kinds) + 1).astype(int)
    for kind, slot_start, slot_stop in zip(kinds, slot_starts[:-1], slot_starts[1:]):
        length = 1 if kind == "spike" else max(3, round(_LENGTH_FRACTION[kind] * n_points))
        # Padding stays inside the slot, so windows never overlap or touch.
        first = int(rng.integers(slot_start + pad, slot_stop - pad - length + 1))
        stop = first + length
        _inject(kind, values, first, stop, daily_amplitude, rng)
        windows.append((timestamps[first - pad], timestamps[stop - 1 + pad]))

    frame = pd.DataFrame({"timestamp": timestamps, "value": values})
    return DemoSensor(series=SensorSeries(name=name, frame=frame, windows=windows), clean=clean, kinds=kinds)


def _relay(days: np.ndarray, freq: str, seed: list[int], jitter: float) -> np.ndarray:
    """A thermostat-like relay in [-0.5, 0.5]: rises while on, falls while off, switching at fixed
    bounds, about an hour up; its falling speed follows the time of day (0.2 to 1.8 x 0.8 x the rise),
    so its period depends on the hour. Each step's speed varies by up to `jitter` (relative)."""
    rng = np.random.default_rng(seed)
    step_days = pd.Timedelta(freq) / pd.Timedelta(days=1)
    rise = step_days / 0.04  # about an hour from bottom to top
    out = np.empty(len(days))
    level, on = 0.0, True
    for t, day in enumerate(days):
        fall = rise * 0.8 * (1.0 + 0.8 * np.sin(2 * np.pi * day))
        speed = (rise if on else -fall) * rng.uniform(1 - jitter, 1 + jitter)
        level += speed
        if level >= 1.0:
            level, on = 1.0, False
        elif level <= 0.0:
            level, on = 0.0, True
        out[t] = level - 0.5
    return out


def demo_sensor(
    name: str,
    *,
    n_points: int = 4032,
    freq: str = "5min",
    start: str = "2024-01-01",
    seed: int = 11,
    cycle: float = 0.0,
    cycle_jitter: float = CYCLE_JITTER,
) -> SensorSeries:
    """The demo series with its label windows (see `generate_demo_sensor` for kinds and clean signal)."""
    return generate_demo_sensor(
        name,
        n_points=n_points,
        freq=freq,
        start=start,
        seed=seed,
        cycle=cycle,
        cycle_jitter=cycle_jitter,
    ).series
