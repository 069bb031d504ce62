"""Ingest flow: snapshot every series of one data kind -> validation gate -> features.

    python flows/ingest.py prices          # or sensors; params.yaml in the working directory

A batch that fails validation is quarantined (by the library) and fails this flow with the
validation message; nothing downstream runs.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal

from prefect import flow, runtime
from tasks import (
    features_on_disk,
    prepare_features,
    snapshot_task_for,
    started_from_a_shell,
    validate_batch,
    validated_on_disk,
)

from lstmops.config import Params, load_params

if TYPE_CHECKING:
    from lstmops.data.ingest import IngestResult
    from lstmops.data.prepare import PreparedSeries

DataKind = Literal["prices", "sensors"]


def snapshot_and_validate(
    kind: DataKind, params: Params, *, csv_paths: list[str] | None = None, nab_root: str | None = None
) -> list[IngestResult]:
    """Snapshot each configured series (side by side), then pass them all through the validation gate."""
    snapshot = snapshot_task_for(kind, params)
    if csv_paths:
        fetches = [snapshot.submit(kind, params, csv_path=path) for path in csv_paths]
    else:
        names = params.prices.tickers if kind == "prices" else params.sensors.series
        fetches = [snapshot.submit(kind, params, series=name, nab_root=nab_root) for name in names]
    results = [fetch.result() for fetch in fetches]  # the first failed fetch fails the flow
    return validate_batch.with_options(refresh_cache=not validated_on_disk(results, params))(kind, results, params)


def one_series(kind: DataKind, series: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """`overrides` narrowed to one ticker or sensor series."""
    return {**(overrides or {}), "prices.tickers" if kind == "prices" else "sensors.series": [series]}


def _run_name() -> str:
    return f"ingest-{runtime.flow_run.parameters.get('kind', '?')}"


@flow(name="ingest", flow_run_name=_run_name, log_prints=True)
def ingest(
    kind: DataKind,
    params_file: str = "params.yaml",
    overrides: dict[str, Any] | None = None,
    csv_paths: list[str] | None = None,
    nab_root: str | None = None,
) -> list[PreparedSeries]:
    """Snapshot, validate and prepare the series of `kind` configured in params.yaml.

    `overrides` are dotted params keys (e.g. {"prices.tickers": ["NVDA"]}); `csv_paths` are the
    files of the csv source; `nab_root` is the NAB-layout folder of the nab source.
    """
    params = load_params(params_file, overrides)
    validated = snapshot_and_validate(kind, params, csv_paths=csv_paths, nab_root=nab_root)
    return [
        prepare_features.with_options(refresh_cache=not features_on_disk(result, params))(result, params)
        for result in validated
    ]


if __name__ == "__main__":
    with started_from_a_shell():
        ingest(kind=sys.argv[1] if len(sys.argv) > 1 else "prices")
