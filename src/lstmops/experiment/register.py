"""Gate a run that is already logged: a DVC `train@<task>` stage trains with `--no-register`, and
`lstmops register <task>` puts the runs it logged through the same registry gate as `lstmops train`.

The run is judged as it was trained: its own logged params (`config/params.yaml`) prepare the data
and evaluate it, on validated data that must still be the data it trained on (sha256); the
promotion policy (`registry.margin`, `registry.alpha`) is the registry's, from the current params.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import yaml
from mlflow import MlflowClient
from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException

from lstmops.config import Params
from lstmops.registry.rule import RegistryError
from lstmops.tasks import get_task
from lstmops.tracking.store import filter_literal

if TYPE_CHECKING:
    from lstmops.data.prepare import PreparedSeries
    from lstmops.evaluate.report import Evaluation
    from lstmops.registry.rule import Decision

PARAMS_ARTIFACT = "config/params.yaml"  # tracking.runs.log_trained_model writes it


def logged_runs(metrics_file: Path) -> dict[str, str]:
    """{series: MLflow run id} from a training's `--metrics-out` JSON (a DVC stage's metrics file)."""
    if not metrics_file.exists():
        raise FileNotFoundError(f"{metrics_file}: no such metrics file; train first (`dvc repro`) or pass --metrics")
    try:
        metrics = json.loads(metrics_file.read_text())
        runs = {series: values["mlflow_run_id"] for series, values in metrics.items()}
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise ValueError(
            f"{metrics_file}: not a metrics file written by `lstmops train --metrics-out` "
            f"(expected {{series: {{..., mlflow_run_id}}}}): {type(err).__name__}: {err}"
        ) from None
    if not runs:
        raise ValueError(f"{metrics_file}: names no series")
    return runs


@dataclass
class LoggedOutcome:
    """A logged run as the gate takes it (experiment.runner.ExperimentOutcome's fields the gate reads);
    its evaluation is computed only if the gate needs it (comparing on the hold-out's newest rows)."""

    kind: str
    series: str
    run_id: str
    model_uri: str
    prepared: PreparedSeries
    params: Params

    @cached_property
    def evaluation(self) -> Evaluation:
        from lstmops.tracking.pyfunc import load_trained

        return get_task(self.kind).evaluate(load_trained(self.model_uri), self.prepared, self.params, gate=True)


def register_logged_run(kind: str, series: str, run_id: str, policy: Params) -> Decision:
    """Register run `run_id` (task `kind`, `series`) and let the gate judge it against @champion."""
    from lstmops.experiment import preflight, runner
    from lstmops.registry.versions import registered_model_name

    client = MlflowClient()
    try:
        run = client.get_run(run_id)
    except MlflowException as err:
        if err.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        raise RegistryError(
            f"run {run_id} ({kind} {series}) is not in this MLflow store: register where the training logged "
            "it (same MLFLOW_TRACKING_URI as the DVC stage)"
        ) from None
    tags = run.data.tags
    if (tags.get("kind"), tags.get("series")) != (kind, series):
        raise RegistryError(f"run {run_id} is a {tags.get('kind')} run of {tags.get('series')}, not {kind} {series}")
    if run.info.status != RunStatus.to_string(RunStatus.FINISHED):
        raise RegistryError(f"run {run_id} ({kind} {series}) is {run.info.status}, not FINISHED: train it again")
    name = registered_model_name(kind, series)
    already = client.search_model_versions(f"run_id = {filter_literal(run_id)}")
    if already:
        version = already[0]
        raise RegistryError(
            f"run {run_id} is already {version.name} v{version.version}: the gate judged it then "
            f"(`lstmops registry review {version.name} --version {version.version}`); train again for a new challenger"
        )
    models = [output.model_id for output in (run.outputs.model_outputs if run.outputs else [])]
    if not models:
        raise RegistryError(f"run {run_id} ({kind} {series}) logged no model")
    # What it trained with decides how it is evaluated; whether it is promoted is the current policy's call.
    trained_with = Params.model_validate(
        yaml.safe_load(mlflow.artifacts.load_text(f"runs:/{run_id}/{PARAMS_ARTIFACT}"))
    )
    params = trained_with.model_copy(update={"registry": policy.registry})
    prepared = _trained_on(run, kind, series, params)
    preflight.check_same_store(mlflow.get_tracking_uri(), params.data.root, name)
    outcome = LoggedOutcome(kind, series, run_id, f"models:/{models[-1]}", prepared, params)
    return runner.gate(outcome, prepared, params)


def _trained_on(run, kind: str, series: str, params: Params) -> PreparedSeries:
    """The series prepared as the run's training prepared it, in memory: data/features/ is a DVC output,
    which the run's params (not the workspace's) must not rewrite. Refused when the validated data changed."""
    from lstmops.data.ingest import load_validated, validated_dir
    from lstmops.data.prepare import features_dir, prepare_frame, with_user_labels
    from lstmops.data.snapshots import series_slug

    source = run.data.tags.get("data.source", "")
    path = validated_dir(params.data.root, get_task(kind).data_kind, source) / f"{series_slug(series)}.parquet"
    trained_sha = run.data.tags.get("data.sha256", "")
    frame, card = load_validated(path) if path.exists() else (None, {})
    if card.get("sha256") != trained_sha:
        now = "is gone" if frame is None else f"now has sha256 {card.get('sha256', '')[:12]}"
        raise RegistryError(
            f"run {run.info.run_id} ({kind} {series}) trained on validated data with sha256 {trained_sha[:12]}, "
            f"but that data ({path}) {now}: the gate would judge it on other data; run `dvc repro` "
            "(or `lstmops train`) again"
        )
    card = with_user_labels(frame, card, params.data.root)
    return prepare_frame(frame, card, params, features_dir(params.data.root, card["kind"], source, series))
