"""The data-kind contract: what every kind of data (prices, sensors, ...) provides to the pipeline.

Ingest, validation, feature preparation, the CLI and the flows ask a `DataKind` instead of branching
on its name. A kind knows its params section, its columns and time column, how to fetch series from
its sources, how to read, repair and validate a raw snapshot, and which features, window and scaler
a model gets. Storing snapshots, the validation gate and the folder layout stay generic
(`lstmops.data.ingest`, `lstmops.data.prepare`).

Importing this module is cheap: pandas, Great Expectations and the sources load inside the methods.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    import pandas as pd

    from lstmops.config import Params, PriceParams, SensorParams
    from lstmops.data.scaling import MinMaxScaler, StandardScaler
    from lstmops.data.validation import MinRows, ValidationReport

DataKindName = Literal["prices", "sensors"]  # the one spelling of the data kinds (see `DATA_KINDS`)


class Fetched(NamedTuple):
    """One series as a source delivered it, before it is stored as a raw snapshot."""

    series: str
    frame: pd.DataFrame
    meta: dict[str, Any]  # lineage for the snapshot's sidecar: origin, generator settings, labels


class FeatureTable(NamedTuple):
    """What a model of this kind is fed: the feature table, its input columns (in order), target and window."""

    table: pd.DataFrame
    columns: list[str]
    target: str
    window: int


@dataclass(frozen=True)
class DataKind:
    """One kind of data. Subclasses implement `fetch`, `validate`, `features` and `scaler`."""

    name: DataKindName
    columns: tuple[str, ...]  # the canonical raw columns, time column first
    time_format: str  # how a run name writes the newest time the data holds
    series_key: str  # the dotted params key of the configured series list

    @property
    def time_column(self) -> str:
        return self.columns[0]

    # ------------------------------------------------------------ params

    def section(self, params: Params) -> PriceParams | SensorParams:
        """This kind's section of params.yaml (`params.prices`, `params.sensors`)."""
        return getattr(params, self.name)

    def source(self, params: Params) -> str:
        return self.section(params).source

    def configured_series(self, params: Params) -> list[str]:
        return list(getattr(self.section(params), self.series_key.rsplit(".", 1)[1]))

    def one_series(self, series: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """`overrides` (dotted params keys) narrowed to one series of this kind."""
        return {**(overrides or {}), self.series_key: [series]}

    def network_retries(self, params: Params) -> tuple[int, float] | None:
        """(attempts, backoff seconds) when the configured source downloads over a network; else None."""
        return None

    def one_attempt(self, params: Params) -> Params:
        """`params` with network fetches tried once: for callers that own the retries (Prefect)."""
        return params

    # ------------------------------------------------------------ snapshot

    def fetch(
        self,
        params: Params,
        *,
        source: str,
        series: Sequence[str] = (),
        csv_paths: Sequence[Path] = (),
        nab_root: Path | None = None,
        downloader: Any = None,
    ) -> Iterable[Fetched]:
        """The series of `source` (default: the configured ones), in the canonical frame of this kind.

        `csv_paths` are the files of a csv source, `nab_root` the folder of a source in NAB's layout,
        `downloader` stands in for a network client in tests; a kind ignores what its sources do not read.
        """
        raise NotImplementedError

    # ------------------------------------------------------------ validation

    def read_raw(self, raw: Path | IO[bytes]) -> pd.DataFrame:
        """A raw snapshot (its path, or its verified bytes) as a canonical frame."""
        import pandas as pd

        return pd.read_csv(raw, parse_dates=[self.time_column])

    def repair(self, frame: pd.DataFrame, params: Params) -> tuple[pd.DataFrame, list[str]]:
        """Repairs applied before validation (recorded in the dataset card): none by default."""
        return frame, []

    def validate(self, frame: pd.DataFrame, source_file: str, params: Params) -> ValidationReport:
        """The Great Expectations rules of this kind on one frame (`lstmops.data.validation`)."""
        raise NotImplementedError

    def validation_settings(self, params: Params) -> dict[str, Any]:
        """Every setting that decides the validated content (what a cached validation is keyed on)."""
        return {**self.section(params).validation.model_dump(mode="json"), "min_rows": list(self.min_rows(params))}

    def min_rows(self, params: Params) -> MinRows:
        """The fewest rows a batch needs: the longest window + horizon a model of this kind reads
        (`longest_window`), held by the train part of the split, plus one row each for val and test."""
        from lstmops.data.validation import MinRows

        need, what = self.longest_window(params)
        split = params.windows.split
        rows = max(math.ceil((need + 1) / split.train), math.ceil(1 / split.test), 2)
        if split.val:
            rows = max(rows, math.ceil(1 / split.val))
        return MinRows(rows, f"{what} within the train part, windows.split.train = {split.train}")

    def longest_window(self, params: Params) -> tuple[int, str]:
        """(rows, what they are) of the longest input window + horizon configured for this kind."""
        raise NotImplementedError

    # ------------------------------------------------------------ features

    def features(self, frame: pd.DataFrame, params: Params) -> FeatureTable:
        """Model features from a validated frame."""
        raise NotImplementedError

    def scaler(self) -> StandardScaler | MinMaxScaler:
        """A new scaler of this kind's inputs (fitted on the training part only by `prepare`)."""
        raise NotImplementedError

    def newest_time(self, features: pd.DataFrame) -> str:
        """The newest bar or reading in `features`: what a run name says the data goes up to."""
        return features[self.time_column].max().strftime(self.time_format)
