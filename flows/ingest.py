"""Ingest flow: snapshot every series of one data kind -> validation gate -> features.

    python flows/ingest.py prices          # or sensors; params.yaml in the working directory

A batch that fails validation is quarantined (by the library) and fails this flow with the
validation message; nothing downstream runs.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from prefect import flow, runtime

from ingest_tasks import prepare_features, snapshot_task_for, validate_batch
from lstmops.config import Params, load_params
from lstmops.data.ingest import validated_on_disk
from lstmops.data.kinds import DataKindName, data_kind
from lstmops.data.prepare import features_on_disk
from lstmops.tasks import get_task
from shell import run_from_a_shell

if TYPE_CHECKING:
    from lstmops.data.ingest import IngestResult
    from lstmops.data.prepare import PreparedSeries


def snapshot_and_validate(
    kind: DataKindName, params: Params, *, csv_paths: list[str] | None = None, nab_root: str | None = None
) -> list[IngestResult]:
    """Snapshot each configured series (side by side), then pass them all through the validation gate."""
    snapshot = snapshot_task_for(kind, params)
    if csv_paths:
        fetches = [snapshot.submit(kind, params, csv_path=path) for path in csv_paths]
    else:
        names = data_kind(kind).configured_series(params)
        fetches = [snapshot.submit(kind, params, series=name, nab_root=nab_root) for name in names]
    results = [fetch.result() for fetch in fetches]  # the first failed fetch fails the flow
    return validate_batch.with_options(refresh_cache=not validated_on_disk(results, params))(kind, results, params)


def params_and_series(
    model_kind: str, series: str, params_file: str, overrides: dict[str, Any] | None
) -> tuple[Params, PreparedSeries]:
    """What a flow about one model on one series starts from: the params narrowed to that series,
    and the series ingested (snapshot, validation gate, features) for the model's data kind."""
    data_kind_name = get_task(model_kind).data_kind
    only_this = data_kind(data_kind_name).one_series(series, overrides)
    params = load_params(params_file, only_this)
    (prepared,) = ingest(data_kind_name, params_file, only_this)
    return params, prepared


def _run_name() -> str:
    return f"ingest-{runtime.flow_run.parameters.get('kind', '?')}"


@flow(name="ingest", flow_run_name=_run_name, log_prints=True)
def ingest(
    kind: DataKindName,
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
    with run_from_a_shell():
        ingest(kind=sys.argv[1] if len(sys.argv) > 1 else "prices")
