"""Prefect tasks shared by the flows: each wraps one `lstmops` call and adds only orchestration.

What Prefect adds here, and nothing else:
- retries with exponential backoff and jitter on the network fetch (yahoo), and only on network
  failures: an unknown ticker or a partial download fails at once;
- caching of the validation gate and of feature preparation, keyed on the data fingerprint (the raw
  snapshot's sha256) + the params that shape the output + the code that computes it. The snapshot
  step itself is never cached: it is how the fingerprint is learnt (for yahoo it is the download;
  for demo/csv it is cheap, and content-addressed snapshots write nothing when unchanged). Training
  is not cached either: every retrain is a fresh MLflow run that the registry gate judges;
- a timeout on training, an optional concurrency-limited tag on it (one training per GPU), the
  device report in the task log;
- run names that say what ran, logs through the run logger, a markdown artifact per training run.

Heavy imports (GX, TensorFlow, MLflow) happen inside the tasks, so loading a flow to deploy it is fast.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, runtime, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import State
from prefect.tasks import Task, exponential_backoff

from lstmops.config import Params, load_params

if TYPE_CHECKING:
    from prefect.client.schemas.objects import TaskRun

    from lstmops.data.ingest import IngestResult
    from lstmops.data.prepare import PreparedSeries
    from lstmops.evaluate.report import Evaluation
    from lstmops.experiment import ExperimentOutcome
    from lstmops.registry import Decision

DEFAULT_TRAINING_TIMEOUT_S = 3600.0
RETRY_JITTER_FACTOR = 0.5  # each retry delay varies by up to +-50%, so parallel retries do not stampede Yahoo


# ---------------------------------------------------------------- runs started from a shell


@contextmanager
def started_from_a_shell() -> Iterator[None]:
    """Settings for flow runs started by `python flows/<flow>.py` (what `make run` does), not by a worker.

    Such runs emit no heartbeats. Heartbeats let a server's automation mark a deployment run whose
    worker process died as Crashed; a run started from a shell is watched by whoever started it. And
    Prefect 3.9 joins the heartbeat thread at the end of every flow and subflow run while it sleeps in
    1 s steps: a flow with one subflow took 2.1 s with heartbeats and 0.4 s without (see bench/README.md).
    Deployment runs keep Prefect's default (every 180 s).
    """
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


# ---------------------------------------------------------------- cache keys


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _code_version(*modules: ModuleType) -> str:
    """A change to the code that computes an output invalidates its cached results."""
    return _digest(*(inspect.getsource(module) for module in modules))


def _validation_settings(params: Params, kind: str) -> dict[str, Any]:
    if kind == "prices":
        return params.prices.validation.model_dump(mode="json")
    # duplicate_timestamps decides whether repeated timestamps are merged, i.e. the validated content.
    return {
        **params.sensors.validation.model_dump(mode="json"),
        "duplicate_timestamps": params.sensors.duplicate_timestamps,
    }


def _batch_identity(result: IngestResult) -> list[str]:
    return [result.kind, result.source, result.series, result.sha256]


def validation_cache_key(context: TaskRunContext, inputs: dict[str, Any]) -> str:
    """Same snapshots (by sha256), same rules, same code, same data root -> same validated data."""
    from lstmops.data import ingest, sensors, validation

    results, params = inputs["results"], inputs["params"]
    kind = results[0].kind if results else "none"
    return _digest(
        "validate",
        _code_version(ingest, validation, sensors),
        [_batch_identity(r) for r in results],
        _validation_settings(params, kind),
        str(Path(params.data.root).resolve()),
    )


def prepare_cache_key(context: TaskRunContext, inputs: dict[str, Any]) -> str:
    """Same validated data (raw sha256 + validation settings) and same `windows` params -> same features."""
    from lstmops.data import features, prepare, scaling, windows

    result, params = inputs["result"], inputs["params"]
    return _digest(
        "prepare",
        _code_version(prepare, features, scaling, windows),
        _batch_identity(result),
        _validation_settings(params, result.kind),
        params.windows.model_dump(mode="json"),
        str(Path(params.data.root).resolve()),
    )


def validated_on_disk(results: list[IngestResult], params: Params) -> bool:
    """True when data/validated/ still holds what validating these snapshots wrote.

    A cache hit returns the earlier result but does not rewrite files, so when another snapshot has
    been validated since (or the files were deleted), the flow refreshes the cache instead.
    """
    from lstmops.data.ingest import validated_dir
    from lstmops.data.snapshots import series_slug

    for result in results:
        card = validated_dir(params.data.root, result.kind, result.source) / f"{series_slug(result.series)}.json"
        if not card.exists() or json.loads(card.read_text()).get("sha256") != result.sha256:
            return False
    return True


def features_on_disk(result: IngestResult, params: Params) -> bool:
    """True when data/features/ still holds the features prepared from this snapshot (see above)."""
    from lstmops.data.prepare import features_dir

    folder = features_dir(params.data.root, result.kind, result.source, result.series)
    card = folder / "card.json"
    return (
        (folder / "features.parquet").exists()
        and card.exists()
        and json.loads(card.read_text()).get("sha256") == result.sha256
    )


# ---------------------------------------------------------------- ingest


def _snapshot_name(parameters: dict[str, Any]) -> str:
    params: Params = parameters["params"]
    kind = parameters["kind"]
    source = getattr(params, kind).source
    what = parameters.get("series") or Path(parameters.get("csv_path") or "").stem
    return f"snapshot-{kind}-{source}-{what}"


def is_network_failure(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry a download only when the network failed; a wrong ticker will not fix itself."""
    from lstmops.data.prices import NetworkIngestError

    error = state.data
    return isinstance(error, NetworkIngestError)


@task(task_run_name=_snapshot_name, cache_policy=NO_CACHE)
def take_snapshot(
    kind: str, params: Params, *, series: str | None = None, csv_path: str | None = None, nab_root: str | None = None
) -> IngestResult:
    """Fetch one series and store it as an immutable raw snapshot (its sha256 is the data fingerprint)."""
    from lstmops.data import ingest

    source = getattr(params, kind).source
    if kind == "prices":
        # Prefect owns the retries (with jitter, visible per attempt in the UI): one attempt per try here.
        one_attempt = params.model_copy(
            update={
                "prices": params.prices.model_copy(
                    update={"yahoo": params.prices.yahoo.model_copy(update={"retries": 1})}
                )
            }
        )
        (result,) = ingest.snapshot_prices(
            one_attempt, source=source, tickers=[series] if series else (), csv_paths=[csv_path] if csv_path else ()
        )
    else:
        (result,) = ingest.snapshot_sensors(
            params,
            source=source,
            series=[series] if series else (),
            csv_paths=[csv_path] if csv_path else (),
            nab_root=Path(nab_root) if nab_root else None,
        )
    get_run_logger().info("%s", result.summary())
    return result


def snapshot_task_for(kind: str, params: Params) -> Task:
    """The snapshot task with network retries when the source is Yahoo (retries + backoff from params.yaml)."""
    if kind == "prices" and params.prices.source == "yahoo":
        yahoo = params.prices.yahoo
        return take_snapshot.with_options(
            retries=yahoo.retries - 1,
            retry_delay_seconds=exponential_backoff(backoff_factor=yahoo.backoff_seconds),
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
def validate_batch(kind: str, results: list[IngestResult], params: Params) -> list[IngestResult]:
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


# ---------------------------------------------------------------- training


def data_date(prepared: PreparedSeries) -> str:
    """The newest bar or reading the data holds: what a run name should say it was trained on."""
    time_column = "date" if prepared.kind == "prices" else "timestamp"
    newest = prepared.features[time_column].max()
    return newest.strftime("%Y-%m-%d" if prepared.kind == "prices" else "%Y-%m-%dT%H:%M")


def models_for(data_kind: str) -> list[str]:
    """The model tasks trained on a data kind (the task registry says which)."""
    from lstmops.tasks import tasks_for

    return [task.name for task in tasks_for(data_kind)]


def data_kind_of(model_kind: str) -> str:
    from lstmops.tasks import get_task

    return get_task(model_kind).data_kind


def params_and_series(
    model_kind: str, series: str, params_file: str, overrides: dict[str, Any] | None
) -> tuple[Params, PreparedSeries]:
    """What a flow about one model on one series starts from: the params narrowed to that series,
    and the series ingested (snapshot, validation gate, features) for the model's data kind."""
    from ingest import ingest, one_series  # a sibling flow that imports this module: imported on use

    data_kind = data_kind_of(model_kind)
    only_this = one_series(data_kind, series, overrides)
    params = load_params(params_file, only_this)
    (prepared,) = ingest(data_kind, params_file, only_this)
    return params, prepared


def training_run_name(model_kind: str, prepared: PreparedSeries) -> str:
    return f"{model_kind}-{prepared.series}-{data_date(prepared)}"


def _train_name(parameters: dict[str, Any]) -> str:
    return "train-" + training_run_name(parameters["model_kind"], parameters["prepared"])


_devices_lock = threading.Lock()
_device_report: dict[str, Any] | None = None


def _devices() -> dict[str, Any]:
    """Turn on GPU memory growth once per process (TF refuses it after the GPU is initialised)."""
    global _device_report
    with _devices_lock:
        if _device_report is None:
            from lstmops.train import common

            common.enable_gpu_memory_growth()
            _device_report = common.device_report()
        return _device_report


def _prefect_tags() -> dict[str, str]:
    """Tags that lead from the MLflow run back to the Prefect run that made it."""
    tags = {
        "prefect.flow_run_id": str(runtime.flow_run.id or ""),
        "prefect.flow_run_name": runtime.flow_run.name or "",
        "prefect.task_run_id": str(runtime.task_run.id or ""),
    }
    if runtime.deployment.name:
        tags["prefect.deployment"] = runtime.deployment.name
    return {key: value for key, value in tags.items() if value}


@task(task_run_name=_train_name, cache_policy=NO_CACHE, timeout_seconds=DEFAULT_TRAINING_TIMEOUT_S)
def train_model(model_kind: str, prepared: PreparedSeries, params: Params) -> ExperimentOutcome:
    """Train, evaluate and log one model to MLflow (`experiment.run_experiment`)."""
    from lstmops import experiment, tracking

    get_run_logger().info("devices: %s; MLflow: %s", _devices(), tracking.configure_tracking())
    # run_experiment prints its one-line summary; log_prints on the flows sends it to the run log.
    return experiment.run_experiment(
        model_kind, prepared, params, run_name=training_run_name(model_kind, prepared), tags=_prefect_tags()
    )


def training_task(timeout_s: float, limit_tag: str | None = None) -> Task:
    """The training task with its timeout and, on GPU deployments, a concurrency-limited tag.

    With `limit_tag` (e.g. "gpu-training") each training carries that tag, and the server's task
    concurrency limit on it (`prefect concurrency-limit create gpu-training 1`: one training per
    GPU) holds further trainings in Pending until a slot frees. The slot is taken before the task
    starts, so the timeout measures training, not queueing. A named limit that the server does not
    have is an error here: silently training without it would oversubscribe the GPU.
    """
    if limit_tag:
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound

        with get_client(sync_client=True) as client:
            try:
                client.read_concurrency_limit_by_tag(limit_tag)
            except ObjectNotFound:
                raise ValueError(
                    f"training_limit {limit_tag!r}: the Prefect server has no such concurrency limit; "
                    f"create it with `prefect concurrency-limit create {limit_tag} 1`"
                ) from None
    return train_model.with_options(timeout_seconds=timeout_s, tags=[limit_tag] if limit_tag else [])


# ---------------------------------------------------------------- reporting


def _baseline_columns(metrics: dict[str, float]) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Split `mae`, `mae_persistence`, `mae_drift`, `mase` into rows (mae, mase) and baseline columns."""
    rows = [name for name in metrics if not any(name.startswith(f"{other}_") for other in metrics if other != name)]
    baselines: dict[str, dict[str, float]] = {}
    for row in rows:
        for name, value in metrics.items():
            if name.startswith(f"{row}_"):
                baselines.setdefault(name[len(row) + 1 :], {})[row] = value
    return rows, baselines


def evaluation_markdown(title: str, evaluation: Evaluation, footer: str) -> str:
    """A metrics table with each baseline in a column beside the model, under a one-line verdict."""
    rows, baselines = _baseline_columns(evaluation.metrics)
    header = ["metric", "model", *baselines]
    verdict = "beats" if evaluation.beats_baseline() else "does not beat"
    lines = [
        f"# {title}",
        "",
        f"Primary metric **{evaluation.primary_metric}** "
        f"({'higher' if evaluation.higher_is_better else 'lower'} is better): model {evaluation.score:.4g}, "
        f"baseline ({evaluation.baseline_metric}) {evaluation.baseline_score:.4g} → **{verdict} the baseline**.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in rows:
        cells = [row, f"{evaluation.metrics[row]:.4g}"]
        cells += [f"{baselines[b][row]:.4g}" if row in baselines[b] else "" for b in baselines]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", footer]) + "\n"


def mlflow_run_link(run_id: str) -> tuple[str, str | None]:
    """Markdown text for the run, and its UI URL when the tracking server is an HTTP one."""
    import mlflow

    from lstmops.tracking import configure_tracking

    uri = configure_tracking()
    if uri.startswith(("http://", "https://")):
        run = mlflow.get_run(run_id)
        url = f"{uri.rstrip('/')}/#/experiments/{run.info.experiment_id}/runs/{run_id}"
        return f"[{run_id}]({url})", url
    return f"`{run_id}` (browse with `mlflow ui --backend-store-uri {uri}`)", None


def artifact_key(*parts: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    slug = "".join(c if c.isalnum() else "-" for c in "-".join(parts).lower())
    return "-".join(filter(None, slug.split("-")))


@task(task_run_name="report-{outcome.kind}-{outcome.series}", cache_policy=NO_CACHE)
def report_evaluation(outcome: ExperimentOutcome) -> str:
    """Publish the run's metrics vs baselines (and the MLflow link) as Prefect artifacts."""
    text, url = mlflow_run_link(outcome.run_id)
    markdown = evaluation_markdown(
        f"{outcome.kind} · {outcome.series}",
        outcome.evaluation,
        f"MLflow run: {text}, model `{outcome.model_uri}`, trained in {outcome.seconds:.1f} s.",
    )
    key = artifact_key(outcome.kind, outcome.series)
    create_markdown_artifact(
        markdown=markdown,
        key=f"{key}-evaluation",
        description=f"{outcome.kind} {outcome.series}: metrics with baselines beside them",
    )
    if url:
        create_link_artifact(link=url, link_text=f"MLflow run {outcome.run_id}", key=f"{key}-mlflow-run")
    return markdown


@task(task_run_name="gate-{outcome.kind}-{outcome.series}", cache_policy=NO_CACHE)
def promote(outcome: ExperimentOutcome, prepared: PreparedSeries, params: Params, *, actor: str) -> Decision:
    """Register the run's model and let the registry gate promote it or not (`experiment.gate`)."""
    from lstmops import experiment, tracking

    tracking.configure_tracking()
    decision = experiment.gate(outcome, prepared, params, actor=actor)
    get_run_logger().info("%s", decision.summary())
    return decision


def actor() -> str:
    """Who moved an alias: the deployment (scheduled runs) or the flow run."""
    where = runtime.deployment.name or runtime.flow_run.name or "local"
    return f"prefect:{where}"
