"""Per-feature (column) scalers that travel with a model as JSON.

Fit on the TRAINING part only (e.g. `features[split.train]`), then transform every part with the
fitted statistics: statistics taken from validation or test rows would leak the future into training.
Scalers are immutable: `fit` returns a new, fitted instance.

Arrays are (n, f), or (n,) for a single feature. A scaler fitted on f > 1 features accepts any array
whose last axis has f entries (rows, windows (b, window, f), ...); one fitted on a single feature
accepts any shape. Constant training columns get a scale of 1, so they never divide by zero.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np


def _training_columns(train: np.ndarray) -> np.ndarray:
    train = np.asarray(train, dtype=np.float64)
    if train.ndim == 1:
        train = train[:, None]
    if train.ndim != 2 or len(train) == 0:
        raise ValueError(f"fit expects a non-empty (n, f) or (n,) array, got shape {train.shape}")
    bad_columns = np.flatnonzero(~np.isfinite(train).all(axis=0))
    if bad_columns.size:
        raise ValueError(f"fit: training columns {bad_columns.tolist()} contain NaN or inf")
    return train


class _JsonScaler(ABC):
    kind: ClassVar[str]  # tag in the JSON, so loading the wrong scaler type fails loudly

    @abstractmethod
    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    @abstractmethod
    def from_dict(cls, data: dict[str, Any]) -> Self: ...

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: Path | str) -> Self:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (ValueError, KeyError) as err:
            raise ValueError(f"{path}: not a saved {cls.__name__}: {err!r}") from err

    @classmethod
    def _check_kind(cls, data: dict[str, Any]) -> None:
        if data.get("kind") != cls.kind:
            raise ValueError(f"expected kind {cls.kind!r}, got {data.get('kind')!r}")

    @staticmethod
    def _check_width(x: np.ndarray, stats: np.ndarray) -> None:
        if stats.size > 1 and (x.ndim == 0 or x.shape[-1] != stats.size):
            raise ValueError(f"scaler was fitted on {stats.size} features, got an array of shape {x.shape}")


@dataclass(frozen=True, eq=False)
class StandardScaler(_JsonScaler):
    """(x - mean) / std per column; `StandardScaler().fit(train)`."""

    kind: ClassVar[str] = "standard"
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None

    def fit(self, train: np.ndarray) -> StandardScaler:
        train = _training_columns(train)
        std = train.std(axis=0)
        return replace(self, mean=train.mean(axis=0), scale=np.where(std > 0, std, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        mean, scale = self._fitted()
        x = np.asarray(x, dtype=np.float64)
        self._check_width(x, mean)
        return (x - mean) / scale

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        mean, scale = self._fitted()
        x = np.asarray(x, dtype=np.float64)
        self._check_width(x, mean)
        return x * scale + mean

    def to_dict(self) -> dict[str, Any]:
        mean, scale = self._fitted()
        return {"kind": self.kind, "mean": mean.tolist(), "scale": scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StandardScaler:
        cls._check_kind(data)
        return cls(mean=np.asarray(data["mean"], dtype=np.float64), scale=np.asarray(data["scale"], dtype=np.float64))

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.mean is None or self.scale is None:
            raise ValueError("StandardScaler is not fitted: call .fit(train) first")
        return self.mean, self.scale


@dataclass(frozen=True, eq=False)
class MinMaxScaler(_JsonScaler):
    """Maps each column's training [min, max] onto `feature_range`; `MinMaxScaler((-1, 1)).fit(train)`.

    Values outside the training range (common in later, unseen data) map outside `feature_range`:
    nothing is clipped. A constant training column maps to the low end of the range.
    """

    kind: ClassVar[str] = "minmax"
    feature_range: tuple[float, float] = (-1.0, 1.0)
    data_min: np.ndarray | None = None
    data_max: np.ndarray | None = None

    def __post_init__(self) -> None:
        low, high = self.feature_range
        if not low < high:
            raise ValueError(f"feature_range must be (low, high) with low < high, got {self.feature_range}")

    def fit(self, train: np.ndarray) -> MinMaxScaler:
        train = _training_columns(train)
        return replace(self, data_min=train.min(axis=0), data_max=train.max(axis=0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        data_min, span = self._fitted()
        x = np.asarray(x, dtype=np.float64)
        self._check_width(x, data_min)
        low, high = self.feature_range
        return low + (x - data_min) * ((high - low) / span)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        data_min, span = self._fitted()
        x = np.asarray(x, dtype=np.float64)
        self._check_width(x, data_min)
        low, high = self.feature_range
        return (x - low) * (span / (high - low)) + data_min

    def to_dict(self) -> dict[str, Any]:
        self._fitted()
        return {
            "kind": self.kind,
            "feature_range": list(self.feature_range),
            "data_min": self.data_min.tolist(),
            "data_max": self.data_max.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MinMaxScaler:
        cls._check_kind(data)
        low, high = data["feature_range"]
        return cls(
            feature_range=(float(low), float(high)),
            data_min=np.asarray(data["data_min"], dtype=np.float64),
            data_max=np.asarray(data["data_max"], dtype=np.float64),
        )

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        """(data_min, span) with a span of 1 for constant columns."""
        if self.data_min is None or self.data_max is None:
            raise ValueError("MinMaxScaler is not fitted: call .fit(train) first")
        span = self.data_max - self.data_min
        return self.data_min, np.where(span > 0, span, 1.0)
