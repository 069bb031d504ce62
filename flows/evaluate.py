"""Evaluate flow: how does a registered model do on the newest data? (monitoring, before a rollback)

    python flows/evaluate.py autoencoder demo/machine_a            # @champion; or pass a model URI

Ingests the series (cached when unchanged), evaluates the model on its hold-out with the same
function the registry gate uses, and publishes the metrics beside their baselines as an artifact.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from ingest import params_and_series
from lstmops.config import Params
from lstmops.data.kinds import data_kind
from lstmops.evaluate.markdown import evaluation_markdown
from shell import run_from_a_shell
from tasks import artifact_key

if TYPE_CHECKING:
    from lstmops.data.prepare import PreparedSeries
    from lstmops.evaluate.report import Evaluation


@task(task_run_name="evaluate-{model_uri}", cache_policy=NO_CACHE)
def evaluate_model(model_kind: str, model_uri: str, prepared: PreparedSeries, params: Params) -> Evaluation:
    from lstmops.experiment import runner
    from lstmops.tracking import store

    store.configure_tracking()
    evaluation = runner.gate_evaluator(model_kind, prepared, params)(model_uri)
    newest = data_kind(prepared.kind).newest_time(prepared.features)
    title = f"{model_uri} on {prepared.series} up to {newest}"
    create_markdown_artifact(
        markdown=evaluation_markdown(
            title, evaluation, f"Hold-out of data sha256 `{prepared.card.get('sha256', '?')[:16]}`."
        ),
        key=artifact_key("evaluate", model_kind, prepared.series),
        description=f"{model_uri} on the newest {prepared.series} data",
    )
    get_run_logger().info(
        "%s: %s %.4g vs baseline %.4g",
        model_uri,
        evaluation.primary_metric,
        evaluation.score,
        evaluation.baseline_score,
    )
    return evaluation


def _run_name() -> str:
    parameters = runtime.flow_run.parameters
    return f"evaluate-{parameters.get('model_kind', '?')}-{parameters.get('series', '?')}"


@flow(name="evaluate", flow_run_name=_run_name, log_prints=True)
def evaluate(
    model_kind: str,
    series: str,
    model_uri: str | None = None,
    params_file: str = "params.yaml",
    overrides: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Evaluate `model_uri` (default: models:/<kind>-<series>@champion) on the newest data of `series`."""
    from lstmops.registry.versions import registered_model_name

    params, prepared = params_and_series(model_kind, series, params_file, overrides)
    uri = model_uri or f"models:/{registered_model_name(model_kind, series)}@champion"
    return evaluate_model(model_kind, uri, prepared, params).metrics


if __name__ == "__main__":
    with run_from_a_shell():
        evaluate(model_kind=sys.argv[1], series=sys.argv[2], model_uri=sys.argv[3] if len(sys.argv) > 3 else None)
