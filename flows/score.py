"""Score flow: batch predictions of the serving models (@champion) on the newest validated data.

    python flows/score.py sensors          # writes data/predictions/<registered model name>.parquet

Each series is snapshotted and validated first (cached when unchanged), so an hourly schedule
scores whatever arrived since; `lstmops.serving.scoring.score` loads the MLflow pyfunc behind
models:/<name>@champion (pinned to the alias's version while it scores), writes the predictions
(and anomaly segments) and logs a scoring run to MLflow.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from ingest import snapshot_and_validate
from lstmops.config import Params, load_params
from lstmops.data.kinds import DataKindName
from lstmops.tasks import tasks_for
from shell import run_from_a_shell
from tasks import artifact_key

if TYPE_CHECKING:
    from lstmops.data.ingest import IngestResult
    from lstmops.serving.scoring import ScoreResult


@task(task_run_name="score-{model_kind}-{result.series}", cache_policy=NO_CACHE)
def score_series(model_kind: str, result: IngestResult, params: Params) -> ScoreResult:
    """Predict with `<kind>-<series>@champion` on the validated data (`scoring.score`: parquet + an MLflow run)."""
    from lstmops.data.ingest import load_validated
    from lstmops.registry import versions
    from lstmops.serving import scoring
    from lstmops.tracking import store

    store.configure_tracking()
    frame, _ = load_validated(result.validated_path)
    scored = scoring.score(
        versions.registered_model_name(model_kind, result.series),
        frame,
        Path(params.data.root) / "predictions",
        source=str(result.validated_path),
    )
    get_run_logger().info("%s", scored.summary())
    return scored


def _run_name() -> str:
    return f"score-{runtime.flow_run.parameters.get('data_kind', 'sensors')}"


@flow(name="score", flow_run_name=_run_name, log_prints=True)
def score(
    data_kind: DataKindName = "sensors",
    model_kinds: list[str] | None = None,
    params_file: str = "params.yaml",
    overrides: dict[str, Any] | None = None,
    csv_paths: list[str] | None = None,
    nab_root: str | None = None,
) -> list[str]:
    """Score every configured series of `data_kind` with each of its models' @champion; a model without one
    is skipped with the reason (logged and in the artifact), and the run fails only when none has one."""
    from lstmops.registry import versions
    from lstmops.registry.rule import RegistryError
    from lstmops.serving.scoring import with_champions
    from lstmops.tracking import store

    params = load_params(params_file, overrides)
    validated = snapshot_and_validate(data_kind, params, csv_paths=csv_paths, nab_root=nab_root)
    store.configure_tracking()
    kinds = model_kinds or [model_task.name for model_task in tasks_for(data_kind)]
    pairs = {versions.registered_model_name(kind, r.series): (kind, r) for r in validated for kind in kinds}
    names, skipped = with_champions(list(pairs))  # a model that has not won the gate is skipped, and said
    if not names:
        raise RegistryError("nothing to score: " + "; ".join(skipped))
    for reason in skipped:
        get_run_logger().warning("skipped: %s", reason)
    scorings = [score_series.submit(*pairs[name], params) for name in names]
    scored = [scoring.result() for scoring in scorings]
    table = ["| model | version | rows | predictions | MLflow scoring run |", "|---|---|---|---|---|"]
    table += [f"| {s.name} | {s.version} | {s.rows} | `{s.predictions}` | `{s.scoring_run_id}` |" for s in scored]
    table += [f"\nSkipped: {reason}" for reason in skipped]
    create_markdown_artifact(
        markdown="\n".join(table) + "\n",
        key=artifact_key("score", data_kind),
        description=f"batch scoring of {data_kind} with the @champion models",
    )
    return [s.summary() for s in scored]


if __name__ == "__main__":
    with run_from_a_shell():
        score(data_kind=sys.argv[1] if len(sys.argv) > 1 else "sensors")
