"""The data kinds and their one registry: a new kind is one module meeting `DataKind` plus one line here.

    from lstmops.data.kinds import data_kind
    data_kind("sensors").validation_settings(params)

Importing this package is cheap (no pandas, no Great Expectations): the CLI builds its choices from it.
"""

from __future__ import annotations

from typing import get_args

from lstmops.data.kinds.base import DataKind, DataKindName, FeatureTable, Fetched
from lstmops.data.kinds.prices import PRICES
from lstmops.data.kinds.sensors import SENSORS

DATA_KINDS: dict[DataKindName, DataKind] = {kind.name: kind for kind in (PRICES, SENSORS)}
assert tuple(DATA_KINDS) == get_args(DataKindName), "DataKindName must spell exactly the registered kinds"


def data_kind(name: str) -> DataKind:
    """The registered kind called `name`; an unknown name is a one-line error listing the known ones."""
    try:
        return DATA_KINDS[name]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"unknown data kind {name!r}; expected one of {', '.join(DATA_KINDS)}") from None


__all__ = ["DATA_KINDS", "DataKind", "DataKindName", "FeatureTable", "Fetched", "data_kind"]
