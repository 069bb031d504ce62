"""Where runs go: the MLflow tracking store and one experiment per model kind.

Embedded default: a SQLite store at `mlruns/mlflow.db` under the working directory (the registry
needs a database backend) with artifacts under `mlruns/artifacts/<experiment>/`; `MLFLOW_TRACKING_URI`
points the same code at a tracking server instead. One experiment per model kind (`lstmops-<kind>`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
from mlflow.environment_variables import MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT
from mlflow.exceptions import MlflowException

from lstmops.common.masking import carries_credentials, masked

if TYPE_CHECKING:  # the data layer imports Great Expectations, serving pandas: configuring tracking should not
    pass


DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"


SQLITE_PREFIX = "sqlite:///"


EXPERIMENT_PREFIX = "lstmops-"


# What DVC sets for a stage's command (dvc.env): the project root, the stage, and under `dvc exp run`
# the experiment's name and the commit it is based on.
DVC_ROOT_VARIABLE, DVC_STAGE_VARIABLE = "DVC_ROOT", "DVC_STAGE"


DVC_EXP_NAME_VARIABLE, DVC_BASELINE_VARIABLE = "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV"


DESCRIPTION_TAG = "mlflow.note.content"  # what the MLflow UI shows as an experiment's description


EXPERIMENT_DESCRIPTIONS = {
    "forecaster": "LSTM forecaster of the next daily close from a window of past bars, "
    "compared with persistence and drift (MASE, RMSE, MAE).",
    "autoencoder": "LSTM autoencoder: reconstruction error of sensor windows as an anomaly score, "
    "threshold from the training errors; precision/recall/F1 per labelled window.",
    "seq2seq": "Encoder-decoder LSTM with attention forecasting a multi-step horizon of a sensor series, "
    "compared with seasonal naive and persistence.",
    "monitoring": "Checks of each @champion on the data that arrived after its training: one run per model "
    "and `lstmops monitor` (status, error ratio to the baseline, DM p-value, new targets).",
    "scoring": "Batch scoring with a registered model's @champion: one run per `lstmops score` "
    "(model name and version, input data hash, predictions file).",
}


def configure_tracking(uri: str | None = None) -> str:
    """Point MLflow tracking and registry at `uri`, else `MLFLOW_TRACKING_URI`, else the embedded store.

    A SQLite path is made absolute (relative to the working directory now), so a later change of
    directory cannot split the store in two. Returns the URI in use.
    """
    resolved = uri or os.environ.get("MLFLOW_TRACKING_URI") or _dvc_root_store() or DEFAULT_TRACKING_URI
    database = sqlite_file(resolved)
    if database is not None:
        database = database.resolve()
        database.parent.mkdir(parents=True, exist_ok=True)
        resolved = f"{SQLITE_PREFIX}{database}"
    # Local copies need no progress bars; they only clutter flow logs.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(resolved)
    mlflow.set_registry_uri(resolved)
    if carries_credentials(resolved):
        # MLflow prints "View run ... at: <uri>" with the credentials as each run ends; training_run prints it masked.
        os.environ[MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT.name] = "true"
    return resolved


def _dvc_root_store() -> str | None:
    """The embedded store of the DVC project a stage runs for: `dvc exp run --temp` and queued experiments
    run in a temporary copy (DVC_ROOT names the project), whose own mlruns/ would vanish with it."""
    root = os.environ.get(DVC_ROOT_VARIABLE)
    return f"{SQLITE_PREFIX}{Path(root) / sqlite_file(DEFAULT_TRACKING_URI)}" if root else None


class SharedStoreRequired(RuntimeError):
    """Several processes would write to a store that only one process may write to."""


def require_tracking_server(uri: str, why: str) -> None:
    """Refuse a SQLite or file store when several processes write runs (a SQLite file shared over
    processes or hosts corrupts or locks; a file store on one host is invisible to the others)."""
    if uri.startswith(("http://", "https://", "databricks")):
        return
    raise SharedStoreRequired(
        f"{why} needs an MLflow tracking server, but MLflow points at {masked(uri)}: start one (docs/team-setup.md) "
        "and set MLFLOW_TRACKING_URI=http://HOST:5000, or set orchestration.task_runner: threads"
    )


def sqlite_file(uri: str) -> Path | None:
    if not uri.startswith(SQLITE_PREFIX) or uri.endswith(":memory:"):
        return None
    return Path(uri[len(SQLITE_PREFIX) :])


def filter_literal(value: str) -> str:
    """`value` quoted for an MLflow filter string (`name = <literal>`).

    MLflow's filter grammar has no escape character: a value with an apostrophe (O'Reilly) goes in
    double quotes; one with both quote characters cannot be written at all.
    """
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ValueError(f"{value!r} holds both quote characters; MLflow filter strings cannot express it")


def current_store() -> str:
    """The tracking store in use, password masked: how `store_record` names it."""
    return masked(mlflow.get_tracking_uri())


def run_link(run_id: str) -> tuple[str, str | None]:
    """Markdown text for the run, and its UI URL when the tracking server is an HTTP one."""
    uri = masked(configure_tracking())
    if uri.startswith(("http://", "https://")):
        url = run_url(uri, mlflow.get_run(run_id).info.experiment_id, run_id)
        return f"[{run_id}]({url})", url
    return f"`{run_id}` (browse with `make ui`, or `.venv/bin/mlflow ui --backend-store-uri {uri}`)", None


def run_url(uri: str, experiment_id: str, run_id: str) -> str:
    """The MLflow UI page of a run on tracking server `uri`, credentials masked."""
    return f"{masked(uri).rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def experiment_name(kind: str) -> str:
    return f"{EXPERIMENT_PREFIX}{kind}"


def artifact_location(experiment: str, tracking_uri: str) -> str | None:
    """`<store folder>/artifacts/<experiment>` for a SQLite store; None lets a tracking server decide.

    Without it MLflow would put artifacts in ./mlartifacts of whatever directory the run started in.
    """
    database = sqlite_file(tracking_uri)
    if database is None:
        return None
    return (database.resolve().parent / "artifacts" / experiment).as_uri()


def experiment_description(kind: str) -> str:
    """The text the MLflow UI shows above an experiment's runs: what the task is and how runs are named."""
    from lstmops.tasks import REGISTRY, get_task

    what = EXPERIMENT_DESCRIPTIONS.get(kind, f"lstmops model task `{kind}`.")
    if kind not in REGISTRY:  # e.g. `scoring`: runs that are not trainings
        return what
    task = get_task(kind)
    return (
        f"{what}\n\nOne run per training on one {task.data_kind} series, named `{kind}-<series>-<newest data date>`; "
        f"training data under Datasets, epoch curves `epoch/*` (logged live), hold-out metrics with their "
        f"baselines beside them, plots under `plots/`. Registered models: `{kind}-<series>` "
        f"(`lstmops registry list`)."
    )


def ensure_experiment(kind: str) -> str:
    """The id of experiment `lstmops-<kind>`, created (with its artifact location) on first use."""
    name = experiment_name(kind)
    existing = mlflow.get_experiment_by_name(name)
    if existing is not None:
        if DESCRIPTION_TAG not in existing.tags:  # made before experiments had descriptions
            mlflow.MlflowClient().set_experiment_tag(
                existing.experiment_id, DESCRIPTION_TAG, experiment_description(kind)
            )
        return existing.experiment_id
    location = artifact_location(name, mlflow.get_tracking_uri())
    tags = {"kind": kind, DESCRIPTION_TAG: experiment_description(kind)}
    try:
        return mlflow.create_experiment(name, artifact_location=location, tags=tags)
    except MlflowException:  # created meanwhile by a concurrent run
        existing = mlflow.get_experiment_by_name(name)
        if existing is None:
            raise
        return existing.experiment_id
