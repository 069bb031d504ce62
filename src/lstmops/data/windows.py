"""Chronological splits and sliding windows over a series, built as strided views (no copies).

Index convention used throughout: a row predicting position `t` sees inputs `features[t-window:t]`
(strictly before `t`) and targets `target[t:t+horizon]`. Every window lies in the past of its target,
and `supervised_windows` keeps every target inside the requested split, so training windows never
touch a validation or test value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def sliding_windows(array: np.ndarray, window: int, *, step: int = 1) -> np.ndarray:
    """Read-only windows over axis 0: (n,) -> (n_windows, window); (n, f) -> (n_windows, window, f).

    Window `i` is `array[i*step : i*step + window]`. The result is a strided view of `array`, so its
    memory cost is O(n) whatever the window length; copy it before writing to it.
    """
    array = np.asarray(array)
    if array.ndim not in (1, 2):
        raise ValueError(f"sliding_windows expects a 1-D (n,) or 2-D (n, f) array, got shape {array.shape}")
    if window < 1 or step < 1:
        raise ValueError(f"window and step must be >= 1, got window={window}, step={step}")
    if window > len(array):
        raise ValueError(f"window={window} is longer than the series ({len(array)} rows)")
    windows = sliding_window_view(array, window, axis=0)  # (n_windows, [f,] window)
    if array.ndim == 2:
        windows = np.moveaxis(windows, -1, 1)  # -> (n_windows, window, f), still a view
    return windows[::step]


@dataclass(frozen=True)
class SplitIndex:
    """Contiguous, ordered train | val | test slices covering rows 0..n of one series."""

    train: slice
    val: slice
    test: slice

    def __post_init__(self) -> None:
        parts = (self.train, self.val, self.test)
        if any(part.step not in (None, 1) for part in parts):
            raise ValueError(f"split slices must have step 1: {self}")
        if self.train.start != 0:
            raise ValueError(f"train must start at row 0, got {self.train.start}")
        if not (self.train.stop == self.val.start and self.val.stop == self.test.start):
            raise ValueError(f"train, val and test must be contiguous: {self}")
        if not (self.train.start < self.train.stop <= self.val.stop < self.test.stop):
            raise ValueError(f"train and test must be non-empty and in order: {self}")

    @property
    def n(self) -> int:
        return self.test.stop

    def to_dict(self) -> dict[str, list[int]]:
        """JSON-ready form: {'train': [start, stop], 'val': [...], 'test': [...]}."""
        return {name: [part.start, part.stop] for name, part in self._named_parts()}

    @classmethod
    def from_dict(cls, data: dict[str, list[int]]) -> SplitIndex:
        return cls(**{name: slice(int(data[name][0]), int(data[name][1])) for name in ("train", "val", "test")})

    def _named_parts(self) -> tuple[tuple[str, slice], ...]:
        return (("train", self.train), ("val", self.val), ("test", self.test))


def chronological_split(n: int, train: float, val: float, test: float) -> SplitIndex:
    """Split rows 0..n into consecutive train, val, test parts by fractions that sum to 1.

    Boundaries are rounded to the nearest row; val may be empty (fraction 0), train and test not.
    """
    if n < 2:
        raise ValueError(f"cannot split a series of {n} rows")
    if min(train, val, test) < 0 or abs(train + val + test - 1.0) > 1e-9:
        raise ValueError(f"split fractions must be >= 0 and sum to 1, got {train}, {val}, {test}")
    train_stop = round(n * train)
    val_stop = round(n * (train + val))
    try:
        return SplitIndex(slice(0, train_stop), slice(train_stop, val_stop), slice(val_stop, n))
    except ValueError as err:
        raise ValueError(f"fractions {train}/{val}/{test} of {n} rows leave a part empty: {err}") from err


class SupervisedWindows(NamedTuple):
    """Row i predicts `target[t_index[i] : t_index[i] + horizon]` from `features[t_index[i]-window : t_index[i]]`."""

    X: np.ndarray  # (rows, window, f), a read-only view of `features`
    y: np.ndarray  # (rows,) for horizon 1, else (rows, horizon); a read-only view of `target`
    t_index: np.ndarray  # (rows,) position of the first predicted value


def supervised_windows(
    features: np.ndarray,
    target: np.ndarray,
    window: int,
    horizon: int = 1,
    split: slice | None = None,
    *,
    context: bool = True,
) -> SupervisedWindows:
    """(X, y, t_index) for every target position t whose targets `target[t:t+horizon]` lie in `split`.

    `split` is a slice of rows (e.g. `SplitIndex.val`); None means the whole series. With `context=True`
    the inputs of the first rows of a val/test split reach back into the rows before it: that is
    history, known at prediction time, so no target of another split is ever predicted or used as a
    label. With `context=False` inputs must lie inside the split as well (the first `window` rows of
    the split then predict nothing). Training (split starting at 0) is the same either way.
    """
    features = np.asarray(features)
    target = np.asarray(target)
    if features.ndim != 2 or target.ndim != 1 or len(features) != len(target):
        raise ValueError(
            f"expected features (n, f) and target (n,) of equal length, got {features.shape} and {target.shape}"
        )
    if window < 1 or horizon < 1:
        raise ValueError(f"window and horizon must be >= 1, got window={window}, horizon={horizon}")
    n = len(features)
    start, stop, step = (split or slice(None)).indices(n)
    if step != 1:
        raise ValueError(f"split must be a contiguous slice, got step {step}")

    first_t = max(window, start if context else start + window)
    last_t = stop - horizon
    if last_t < first_t:
        raise ValueError(
            f"rows {start}..{stop} are too few for window={window} + horizon={horizon} (context={context})"
        )
    # Window j of the features covers rows j..j+window-1 and so predicts t = j + window.
    X = sliding_windows(features, window)[first_t - window : last_t - window + 1]
    if horizon == 1:
        y = target[first_t : last_t + 1]
        y.flags.writeable = False  # read-only like X: both alias the caller's arrays
    else:
        y = sliding_windows(target, horizon)[first_t : last_t + 1]
    return SupervisedWindows(X, y, np.arange(first_t, last_t + 1))
