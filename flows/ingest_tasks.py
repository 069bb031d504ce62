"""Prefect tasks of the ingest flow: snapshot -> validation gate -> features, each one `lstmops` call.

What Prefect adds here, and nothing else:
- retries with exponential backoff and jitter on the network fetch (yahoo), and only on network
  failures: an unknown ticker or a partial download fails at once;
- caching of the validation gate and of feature preparation on the data fingerprint (`caching.py`);
- run names that say what ran, logs through the run logger.

Heavy imports (GX, pandas) happen inside the tasks, so loading a flow to deploy it is fast.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State
from prefect.tasks import Task, exponential_backoff

from caching import prepare_cache_key, validation_cache_key
from lstmops.config import Params
from lstmops.data.kinds import DataKindName, data_kind

if TYPE_CHECKING:
    from prefect.client.schemas.objects import TaskRun

    from lstmops.data.ingest import IngestResult
    from lstmops.data.prepare import PreparedSeries

RETRY_JITTER_FACTOR = 0.5  # each retry delay varies by up to +-50%, so parallel retries do not stampede Yahoo


def _snapshot_name(parameters: dict[str, Any]) -> str:
    params: Params = parameters["params"]
    kind = parameters["kind"]
    source = data_kind(kind).source(params)
    what = parameters.get("series") or Path(parameters.get("csv_path") or "").stem
    return f"snapshot-{kind}-{source}-{what}"


def is_network_failure(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry a download only when the network failed; a wrong ticker will not fix itself."""
    from lstmops.data.prices import NetworkIngestError

    error = state.data
    return isinstance(error, NetworkIngestError)


@task(task_run_name=_snapshot_name, cache_policy=NO_CACHE)
def take_snapshot(
    kind: DataKindName,
    params: Params,
    *,
    series: str | None = None,
    csv_path: str | None = None,
    nab_root: str | None = None,
) -> IngestResult:
    """Fetch one series and store it as an immutable raw snapshot (its sha256 is the data fingerprint)."""
    from lstmops.data import ingest

    # Prefect owns the retries (with jitter, visible per attempt in the UI): one attempt per try here.
    (result,) = ingest.snapshot(
        kind,
        data_kind(kind).one_attempt(params),
        series=[series] if series else (),
        csv_paths=[csv_path] if csv_path else (),
        nab_root=Path(nab_root) if nab_root else None,
    )
    get_run_logger().info("%s", result.summary())
    return result


def snapshot_task_for(kind: DataKindName, params: Params) -> Task:
    """The snapshot task with network retries when the source downloads (retries + backoff from params.yaml)."""
    retries = data_kind(kind).network_retries(params)
    if retries:
        attempts, backoff_seconds = retries
        return take_snapshot.with_options(
            retries=attempts - 1,
            retry_delay_seconds=exponential_backoff(backoff_factor=backoff_seconds),
            retry_jitter_factor=RETRY_JITTER_FACTOR,
            retry_condition_fn=is_network_failure,
        )
    return take_snapshot


@task(
    task_run_name="validate-{kind}",
    cache_key_fn=validation_cache_key,
    persist_result=True,
    cache_expiration=timedelta(days=30),
)
def validate_batch(kind: DataKindName, results: list[IngestResult], params: Params) -> list[IngestResult]:
    """The validation gate: every batch passes, or the task fails with the message naming file, rule and rows."""
    from lstmops.data import ingest

    validated = ingest.validate_all(results, params)
    logger = get_run_logger()
    for result in validated:
        logger.info("validated %s", result.summary())
    return validated


def _prepare_name(parameters: dict[str, Any]) -> str:
    result: IngestResult = parameters["result"]
    return f"prepare-{result.kind}-{result.series}-{result.sha256[:12]}"


@task(
    task_run_name=_prepare_name,
    cache_key_fn=prepare_cache_key,
    persist_result=True,
    cache_expiration=timedelta(days=30),
)
def prepare_features(result: IngestResult, params: Params) -> PreparedSeries:
    """Features, chronological split and train-only scaler of one validated series."""
    from lstmops.data import prepare

    prepared = prepare.prepare_series(result.validated_path, params)
    get_run_logger().info("%s", prepared.summary())
    return prepared
