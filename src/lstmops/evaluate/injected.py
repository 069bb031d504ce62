"""Anomalies of known kinds injected into copies of a series' test part: how a detector is judged on a
user's own series when it has no labels ("F1 on injected anomalies", never mixed with F1 on real labels).

The protocol is fixed by `params.models.autoencoder.evaluation.injected` and logged with every run, so
two versions are scored on the very same copies and the gate's paired test applies:
- the scale is the standard deviation of the training part's values times `magnitude`: anomalies are as
  large relative to this series as the demo generator's are relative to its daily swing;
- the test part is cut into `events` equal slots; each copy puts one anomaly in each slot, at a seeded
  place at least one window from the slot's edges, so every anomaly has a window of untouched rows on
  either side (a detector sees normal context before it, and two anomalies never share a window);
- copy c's anomaly e is of kind kinds[(c * events + e) % len(kinds)], so the kinds take turns;
- an anomaly lasts `length` windows (a spike one row); positions, signs and sizes come from a generator
  seeded with (seed, c): the same protocol on the same series gives the same copies anywhere.
Rows outside the test part are never changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from lstmops.config import InjectionParams
from lstmops.data.anomaly_kinds import inject_anomaly

# A drift or a flatline needs a few rows to be one (a flatline of one row is no change at all).
MIN_ANOMALY_ROWS = 3


class TooShortToInject(ValueError):
    """The test part cannot hold the protocol's anomalies with normal rows around each."""


@dataclass(frozen=True, eq=False)
class InjectedCopy:
    values: np.ndarray  # the whole series, anomalies written into its test part
    events: list[tuple[int, int]]  # inclusive (first, last) row positions of each anomaly
    kinds: list[str]


def anomaly_rows(protocol: InjectionParams, window: int) -> int:
    """Rows of a non-spike anomaly."""
    return max(MIN_ANOMALY_ROWS, round(protocol.length * window))


def min_test_rows(protocol: InjectionParams, window: int) -> int:
    """The shortest test part that holds `events` anomalies, each with a window of normal rows either side."""
    return protocol.events * (anomaly_rows(protocol, window) + 2 * window)


def check_room(protocol: InjectionParams, window: int, test_rows: int, split_test: float, series: str) -> None:
    """TooShortToInject naming the minimum when a test part of `test_rows` rows cannot hold the protocol."""
    needed = min_test_rows(protocol, window)
    if test_rows >= needed:
        return
    series_rows = int(np.ceil(needed / split_test))
    raise TooShortToInject(
        f"{series}: the test part has {test_rows} rows, but injecting {protocol.events} anomalies of up to "
        f"{anomaly_rows(protocol, window)} rows, each with a window ({window} rows) of normal rows on either side, "
        f"needs at least {needed} (a series of about {series_rows} rows at windows.split.test {split_test:g}); "
        "ingest a longer series, or lower models.autoencoder.evaluation.injected.events or windows.sensors.window"
    )


def protocol_id(protocol: InjectionParams) -> str:
    """A short hash of the protocol: equal ids, equal injections on the same series."""
    text = json.dumps(protocol.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def inject_copies(
    values: np.ndarray, train: slice, test: slice, window: int, protocol: InjectionParams
) -> list[InjectedCopy]:
    """The protocol's copies of `values` (see the module notes); `train` and `test` are row slices."""
    values = np.asarray(values, dtype=np.float64)
    start, stop = test.start, len(values) if test.stop is None else test.stop
    needed = min_test_rows(protocol, window)
    if stop - start < needed:
        raise TooShortToInject(f"the test part has {stop - start} rows, the protocol needs {needed}")
    scale = protocol.magnitude * float(np.std(values[train]))
    if scale == 0:  # a constant training part: size anomalies by its level instead, or by one unit
        scale = protocol.magnitude * (abs(float(values[train][0])) or 1.0)
    length = anomaly_rows(protocol, window)
    slots = np.linspace(start, stop, protocol.events + 1).astype(int)
    copies = []
    for copy in range(protocol.copies):
        rng = np.random.default_rng([protocol.seed, copy])
        injected = values.copy()
        events, kinds = [], []
        for event, (slot_start, slot_stop) in enumerate(zip(slots[:-1], slots[1:])):
            kind = protocol.kinds[(copy * protocol.events + event) % len(protocol.kinds)]
            rows = 1 if kind == "spike" else length
            first = int(rng.integers(slot_start + window, slot_stop - window - rows + 1))
            inject_anomaly(kind, injected, first, first + rows, scale, rng)
            events.append((first, first + rows - 1))
            kinds.append(kind)
        copies.append(InjectedCopy(injected, events, kinds))
    return copies
