"""Prefect tasks shared by the flows about models: each wraps one `lstmops` call and adds only orchestration.

What Prefect adds here, and nothing else (the ingest tasks are in `ingest_tasks.py`):
- an optional concurrency-limited tag on training (one training per GPU); the training itself runs
  in a child process its timeout kills (`lstmops.experiment.isolated`);
- run names that say what ran, logs through the run logger, a markdown artifact per training run.

Heavy imports (GX, TensorFlow, MLflow) happen inside the tasks, so loading a flow to deploy it is fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, runtime, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.tasks import Task

from lstmops.common.masking import masked
from lstmops.config import Params

if TYPE_CHECKING:
    from lstmops.data.prepare import PreparedSeries
    from lstmops.experiment.runner import ExperimentOutcome
    from lstmops.registry.rule import Decision

DEFAULT_TRAINING_TIMEOUT_S = 3600.0


# ---------------------------------------------------------------- runs started from a shell


# ---------------------------------------------------------------- training


def _train_name(parameters: dict[str, Any]) -> str:
    """`train-` + the MLflow run's name (`runner.training_run_name`, as the CLI names its runs)."""
    from lstmops.experiment.runner import training_run_name

    return "train-" + training_run_name(parameters["model_kind"], parameters["prepared"])


def _run_tags() -> dict[str, str]:
    """Tags that lead from the MLflow run back to the Prefect run (`runs.training_run` adds the process)."""
    tags = {
        "prefect.flow_run_id": str(runtime.flow_run.id or ""),
        "prefect.flow_run_name": runtime.flow_run.name or "",
        "prefect.task_run_id": str(runtime.task_run.id or ""),
    }
    if runtime.deployment.name:
        tags["prefect.deployment"] = runtime.deployment.name
    return {key: value for key, value in tags.items() if value}


@task(task_run_name=_train_name, cache_policy=NO_CACHE)
def train_model(
    model_kind: str,
    prepared: PreparedSeries,
    params: Params,
    tracking_uri: str | None = None,
    timeout_s: float = DEFAULT_TRAINING_TIMEOUT_S,
) -> ExperimentOutcome:
    """Train, evaluate and log one model to MLflow (`runner.run_experiment`) in a child process that
    is killed after `timeout_s` seconds (`lstmops.experiment.isolated`: Prefect's own task timeout cannot
    reliably stop a training).

    `tracking_uri`: the flow's store, so a training on another process or host (a Dask worker) logs
    where the flow gates; default: this process's MLFLOW_TRACKING_URI or the embedded store.
    """
    from lstmops.experiment import isolated, runner
    from lstmops.tracking import store

    uri = store.configure_tracking(tracking_uri)
    logger = get_run_logger()
    logger.info("MLflow: %s; training in a child process, stopped after %g s", masked(uri), timeout_s)
    run_name = runner.training_run_name(model_kind, prepared)
    outcome = isolated.run_experiment_within(
        timeout_s, model_kind, prepared, params, tracking_uri=uri, run_name=run_name, tags=_run_tags()
    )
    logger.info("%s", outcome.summary())
    return outcome


def training_task(limit_tag: str | None = None) -> Task:
    """The training task, on GPU deployments with a concurrency-limited tag (its timeout is a parameter).

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
    return train_model.with_options(tags=[limit_tag] if limit_tag else [])


# ---------------------------------------------------------------- reporting


def artifact_key(*parts: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    slug = "".join(c if c.isalnum() else "-" for c in "-".join(parts).lower())
    return "-".join(filter(None, slug.split("-")))


@task(task_run_name="report-{outcome.kind}-{outcome.series}", cache_policy=NO_CACHE)
def report_evaluation(outcome: ExperimentOutcome) -> str:
    """Publish the run's metrics vs baselines (and the MLflow link) as Prefect artifacts."""
    from lstmops.evaluate.markdown import evaluation_markdown
    from lstmops.tracking.store import run_link

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
    """Register the run's model and let the registry gate promote it or not (`runner.gate`)."""
    from lstmops.experiment import runner
    from lstmops.tracking import store

    store.configure_tracking()
    decision = runner.gate(outcome, prepared, params, actor=actor)
    get_run_logger().info("%s", decision.summary())
    return decision


def actor() -> str:
    """Who moved an alias: the deployment (scheduled runs) or the flow run."""
    where = runtime.deployment.name or runtime.flow_run.name or "local"
    return f"prefect:{where}"
