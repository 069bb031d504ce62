"""Prefect tasks shared by the flows about models: each wraps one `lstmops` call and adds only orchestration.

What Prefect adds here, and nothing else (the ingest tasks are in `ingest_tasks.py`):
- a timeout on training, an optional concurrency-limited tag on it (one training per GPU), the
  device report in the task log;
- run names that say what ran, logs through the run logger, a markdown artifact per training run.

Heavy imports (GX, TensorFlow, MLflow) happen inside the tasks, so loading a flow to deploy it is fast.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, runtime, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.tasks import Task

from lstmops.config import Params

if TYPE_CHECKING:
    from lstmops.data.prepare import PreparedSeries
    from lstmops.experiment import ExperimentOutcome
    from lstmops.registry import Decision

DEFAULT_TRAINING_TIMEOUT_S = 3600.0


# ---------------------------------------------------------------- runs started from a shell


# ---------------------------------------------------------------- training


def _train_name(parameters: dict[str, Any]) -> str:
    """`train-` + the MLflow run's name (`experiment.training_run_name`, as the CLI names its runs)."""
    from lstmops.experiment import training_run_name

    return "train-" + training_run_name(parameters["model_kind"], parameters["prepared"])


_devices_lock = threading.Lock()
_device_report: dict[str, Any] | None = None


def _devices() -> dict[str, Any]:
    """Turn on GPU memory growth once per process (TF refuses it after the GPU is initialised)."""
    global _device_report
    with _devices_lock:
        if _device_report is None:
            from lstmops.console import import_keras_quietly

            import_keras_quietly()  # before lstmops.train.common loads Keras: TensorFlow's start-up lines stay off
            from lstmops.train import common

            common.enable_gpu_memory_growth()
            _device_report = common.device_report()
        return _device_report


def _run_tags() -> dict[str, str]:
    """Tags that lead from the MLflow run back to the Prefect run and the process that made it."""
    tags = {
        "worker.host": socket.gethostname(),
        "worker.pid": str(os.getpid()),
        "prefect.flow_run_id": str(runtime.flow_run.id or ""),
        "prefect.flow_run_name": runtime.flow_run.name or "",
        "prefect.task_run_id": str(runtime.task_run.id or ""),
    }
    if runtime.deployment.name:
        tags["prefect.deployment"] = runtime.deployment.name
    return {key: value for key, value in tags.items() if value}


@task(task_run_name=_train_name, cache_policy=NO_CACHE, timeout_seconds=DEFAULT_TRAINING_TIMEOUT_S)
def train_model(
    model_kind: str, prepared: PreparedSeries, params: Params, tracking_uri: str | None = None
) -> ExperimentOutcome:
    """Train, evaluate and log one model to MLflow (`experiment.run_experiment`).

    `tracking_uri`: the flow's store, so a training on another process or host (a Dask worker) logs
    where the flow gates; default: this process's MLFLOW_TRACKING_URI or the embedded store.
    """
    from lstmops import experiment, tracking

    uri = tracking.configure_tracking(tracking_uri)
    get_run_logger().info("devices: %s; MLflow: %s", _devices(), tracking.masked(uri))
    # run_experiment prints its one-line summary; log_prints on the flows sends it to the run log.
    run_name = experiment.training_run_name(model_kind, prepared)
    return experiment.run_experiment(model_kind, prepared, params, run_name=run_name, tags=_run_tags())


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


def artifact_key(*parts: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    slug = "".join(c if c.isalnum() else "-" for c in "-".join(parts).lower())
    return "-".join(filter(None, slug.split("-")))


@task(task_run_name="report-{outcome.kind}-{outcome.series}", cache_policy=NO_CACHE)
def report_evaluation(outcome: ExperimentOutcome) -> str:
    """Publish the run's metrics vs baselines (and the MLflow link) as Prefect artifacts."""
    from lstmops.reports.evaluation import evaluation_markdown
    from lstmops.tracking import run_link

    text, url = run_link(outcome.run_id)
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
