"""What an autoencoder's evaluation rests on: the series' real labels, or anomalies injected into its
test part (`evaluate.injected`). Decided from the data and params alone, so training can refuse a
series that neither could judge before fitting anything."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from lstmops.config import Params
from lstmops.data.prepare import PreparedSeries
from lstmops.data.sensors import Window
from lstmops.evaluate.injected import check_room, min_test_rows


def labelled_windows(prepared: PreparedSeries) -> list[Window] | None:
    """The dataset card's anomaly windows; None when the series has no labels."""
    labels = prepared.card.get("labels")
    if labels is None:
        return None
    return [(pd.Timestamp(start), pd.Timestamp(end)) for start, end in labels]


def clip_windows(windows: Iterable[Window], start: pd.Timestamp, end: pd.Timestamp) -> list[Window]:
    """The parts of `windows` inside [start, end]; windows wholly outside are dropped."""
    return [(max(a, start), min(b, end)) for a, b in windows if b >= start and a <= end]


@dataclass(frozen=True)
class Judgement:
    judged_on: Literal["labels", "injected"]
    windows: list[Window] | None  # every labelled window of the series; None: no labels
    held_windows: list[Window] | None  # those inside the test part, clipped to it
    room: bool  # the test part holds the injection protocol


def judgement(prepared: PreparedSeries, params: Params) -> Judgement:
    """Real labels when the test part holds at least `min_labelled_windows` of them, else injected
    anomalies; real labels however few when the test part is too short to inject into, and
    TooShortToInject (naming the minimum) when it has neither."""
    config = params.models.autoencoder.evaluation
    times = prepared.features["timestamp"]
    held = times.iloc[prepared.split.test.start :]
    windows = labelled_windows(prepared)
    held_windows = None if windows is None else clip_windows(windows, held.iloc[0], held.iloc[-1])
    room = min_test_rows(config.injected, prepared.window) <= len(held)
    if not room and not held_windows:
        check_room(config.injected, prepared.window, len(held), params.windows.split.test, prepared.series)
    on_labels = held_windows is not None and len(held_windows) >= config.min_labelled_windows
    return Judgement("labels" if on_labels or not room else "injected", windows, held_windows, room)
