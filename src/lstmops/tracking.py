"""MLflow tracking: where runs go, and what every training run records.

Embedded default: a SQLite store at `mlruns/mlflow.db` under the working directory (the registry
needs a database backend) with artifacts under `mlruns/artifacts/<experiment>/`; `MLFLOW_TRACKING_URI`
points the same code at a tracking server instead. One experiment per model kind (`lstmops-<kind>`).

A run holds: parameters (the params.yaml sections that shaped the model, flattened), per-epoch
training curves (`epoch/<name>`, step = epoch), the wall seconds of each phase (`seconds/<phase>`,
see `lstmops.experiment`), the evaluation metrics with their baselines beside
them, lineage tags (below), plots (`plots/`), tables (`tables/`), the dataset card (`data/card.json`),
the effective params (`config/params.yaml`) and the model as a pyfunc that predicts from raw frames.

Lineage tags: `kind`, `series`, `data.kind`, `data.source`, `data.sha256`, `data.raw_snapshot`,
`data.validation.<field>`, `git.commit`, `git.dirty`, `params.hash`, `version.<package>`, `device.<field>`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import mlflow
import yaml
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH

import lstmops
from lstmops.config import Params
from lstmops.evaluate.report import Evaluation
from lstmops.serving import Trained, log_bundle_model

if TYPE_CHECKING:  # the data layer imports Great Expectations; configuring tracking should not
    from lstmops.data.prepare import PreparedSeries

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
SQLITE_PREFIX = "sqlite:///"
EXPERIMENT_PREFIX = "lstmops-"
GIT_COMMIT_VARIABLE = "LSTMOPS_GIT_COMMIT"  # the commit an image was built from (see infra/docker)
# Packages whose versions decide whether a run can be reproduced (tensorflow may be the -cpu wheel).
TRACKED_PACKAGES = {
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "keras": ("keras",),
    "jax": ("jax",),
    "jaxlib": ("jaxlib",),
    "mlflow": ("mlflow",),
    "prefect": ("prefect",),
    "pandas": ("pandas",),
    "numpy": ("numpy",),
    "great_expectations": ("great_expectations",),
    "dvc": ("dvc",),
}
_LOG_BATCH_SIZE = 1000  # MLflow's limit on metrics per log_batch call


@dataclass
class LoggedRun:
    run_id: str
    experiment_id: str
    model_uri: str  # runs:/<run_id>/model
    metrics: dict[str, float]


# ---------------------------------------------------------------- where runs go


def configure_tracking(uri: str | None = None) -> str:
    """Point MLflow tracking and registry at `uri`, else `MLFLOW_TRACKING_URI`, else the embedded store.

    A SQLite path is made absolute (relative to the working directory now), so a later change of
    directory cannot split the store in two. Returns the URI in use.
    """
    resolved = uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    database = _sqlite_path(resolved)
    if database is not None:
        database = database.resolve()
        database.parent.mkdir(parents=True, exist_ok=True)
        resolved = f"{SQLITE_PREFIX}{database}"
    # Local copies need no progress bars; they only clutter flow logs.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(resolved)
    mlflow.set_registry_uri(resolved)
    return resolved


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith(SQLITE_PREFIX) or uri.endswith(":memory:"):
        return None
    return Path(uri[len(SQLITE_PREFIX) :])


def run_link(run_id: str) -> tuple[str, str | None]:
    """Markdown text for the run, and its UI URL when the tracking server is an HTTP one."""
    uri = configure_tracking()
    if uri.startswith(("http://", "https://")):
        run = mlflow.get_run(run_id)
        url = f"{uri.rstrip('/')}/#/experiments/{run.info.experiment_id}/runs/{run_id}"
        return f"[{run_id}]({url})", url
    return f"`{run_id}` (browse with `mlflow ui --backend-store-uri {uri}`)", None


def experiment_name(kind: str) -> str:
    return f"{EXPERIMENT_PREFIX}{kind}"


def artifact_location(experiment: str, tracking_uri: str) -> str | None:
    """`<store folder>/artifacts/<experiment>` for a SQLite store; None lets a tracking server decide.

    Without it MLflow would put artifacts in ./mlartifacts of whatever directory the run started in.
    """
    database = _sqlite_path(tracking_uri)
    if database is None:
        return None
    return (database.resolve().parent / "artifacts" / experiment).as_uri()


def ensure_experiment(kind: str) -> str:
    """The id of experiment `lstmops-<kind>`, created (with its artifact location) on first use."""
    name = experiment_name(kind)
    existing = mlflow.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    location = artifact_location(name, mlflow.get_tracking_uri())
    try:
        return mlflow.create_experiment(name, artifact_location=location, tags={"kind": kind})
    except MlflowException:  # created meanwhile by a concurrent run
        existing = mlflow.get_experiment_by_name(name)
        if existing is None:
            raise
        return existing.experiment_id


# ---------------------------------------------------------------- what a run records


def run_params(prepared: PreparedSeries, params: Params, kind: str) -> dict[str, str]:
    """The params.yaml sections that shaped this model, flattened to dotted keys, plus the data used."""
    data_kind = prepared.kind
    sections = {
        "windows.split": params.windows.split,
        f"windows.{data_kind}": getattr(params.windows, data_kind),
        "train": params.train,
        f"models.{kind}": getattr(params.models, kind),
        data_kind: getattr(params, data_kind),
    }
    flat: dict[str, Any] = {}
    for prefix, section in sections.items():
        _flatten(section.model_dump(mode="json"), prefix, flat)
    flat.update(
        {
            "data.series": prepared.series,
            "data.source": prepared.card["source"],
            "data.columns": prepared.columns,
            "data.target": prepared.target,
            "data.window": prepared.window,
        }
    )
    return {key: _bounded(value, MAX_PARAM_VAL_LENGTH) for key, value in flat.items()}


def _flatten(tree: dict[str, Any], prefix: str, into: dict[str, Any]) -> None:
    for key, value in tree.items():
        if isinstance(value, dict):
            _flatten(value, f"{prefix}.{key}", into)
        else:
            into[f"{prefix}.{key}"] = value


def _bounded(value: Any, limit: int) -> str:
    """A parameter/tag value as MLflow stores it: text, cut (and marked) at MLflow's length limit."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def params_hash(params: Params) -> str:
    """sha256 of the effective configuration: equal hashes mean identical params."""
    canonical = json.dumps(params.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def git_state(folder: Path) -> dict[str, str]:
    """Commit and dirty flag of the git checkout holding `folder`.

    Outside git (an image built without .git) the commit comes from LSTMOPS_GIT_COMMIT, which the
    images set from their GIT_COMMIT build argument; 'unknown' when that is missing too.
    """
    try:
        commit = _git(folder, "rev-parse", "HEAD")
        dirty = bool(_git(folder, "status", "--porcelain"))
    except (OSError, subprocess.SubprocessError):
        return {"git.commit": os.environ.get(GIT_COMMIT_VARIABLE) or "unknown", "git.dirty": "unknown"}
    return {"git.commit": commit, "git.dirty": str(dirty).lower()}


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=20, check=True)
    return done.stdout.strip()


def package_versions() -> dict[str, str]:
    versions = {}
    for package, distributions in TRACKED_PACKAGES.items():
        versions[f"version.{package}"] = next(
            (found for found in map(_installed_version, distributions) if found), "not installed"
        )
    return versions


def _installed_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def lineage_tags(prepared: PreparedSeries, params: Params) -> dict[str, str]:
    """Where the data, code, config and libraries of a run came from (see the module docstring)."""
    card = prepared.card
    tags = {
        "series": prepared.series,
        "data.kind": prepared.kind,
        "data.source": card["source"],
        "data.sha256": card["sha256"],
        "data.raw_snapshot": card["raw_snapshot"],
        "params.hash": params_hash(params),
        **{f"data.validation.{key}": value for key, value in card["validation"].items()},
        **git_state(Path(lstmops.__file__).parent),
        **package_versions(),
    }
    return {key: _bounded(value, MAX_TAG_VAL_LENGTH) for key, value in tags.items()}


def device_tags(device: dict[str, Any]) -> dict[str, str]:
    return {f"device.{key}": _bounded(value, MAX_TAG_VAL_LENGTH) for key, value in device.items()}


def log_history(run_id: str, history: dict[str, list[float]]) -> None:
    """Per-epoch curves as `epoch/<name>` with step = epoch (one batch call, not one call per point)."""
    now = int(time.time() * 1000)
    points = [
        Metric(f"epoch/{name}", float(value), now, step)
        for name, values in history.items()
        for step, value in enumerate(values)
    ]
    client = mlflow.MlflowClient()
    for start in range(0, len(points), _LOG_BATCH_SIZE):
        client.log_batch(run_id, metrics=points[start : start + _LOG_BATCH_SIZE])


def log_phase_seconds(run_id: str, phases: dict[str, float]) -> None:
    """Wall seconds of each phase of a run as `seconds/<phase>` (logged after the run ended: `log` times itself)."""
    now = int(time.time() * 1000)
    mlflow.MlflowClient().log_batch(
        run_id, metrics=[Metric(f"seconds/{phase}", float(value), now, 0) for phase, value in phases.items()]
    )


def log_evaluation(evaluation: Evaluation) -> None:
    """Metrics (baselines beside them), plots as PNG and tables as CSV, into the active run.

    Figures are closed once saved: a long flow evaluating many series would otherwise hold them all.
    """
    mlflow.log_metrics({name: float(value) for name, value in evaluation.metrics.items()})
    for name, figure in evaluation.figures.items():
        mlflow.log_figure(figure, f"plots/{name}")
        plt.close(figure)
    for name, table in evaluation.tables.items():
        mlflow.log_text(table.to_csv(index=False), f"tables/{name}")


def log_training_run(
    trained: Trained,
    evaluation: Evaluation,
    prepared: PreparedSeries,
    params: Params,
    *,
    run_name: str,
    tags: dict[str, str] | None = None,
) -> LoggedRun:
    """Record one trained and evaluated model as a run of experiment `lstmops-<kind>`."""
    experiment_id = ensure_experiment(trained.kind)
    run_tags = {"kind": trained.kind, **lineage_tags(prepared, params), **device_tags(trained.device), **(tags or {})}
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=run_tags) as run:
        run_id = run.info.run_id
        mlflow.log_params(run_params(prepared, params, trained.kind))
        log_history(run_id, trained.history)
        mlflow.log_metric("epochs_trained", max((len(v) for v in trained.history.values()), default=0))
        log_evaluation(evaluation)
        mlflow.log_dict(prepared.card, "data/card.json")
        mlflow.log_text(yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False), "config/params.yaml")
        log_bundle_model(trained, name="model")
    return LoggedRun(run_id, experiment_id, f"runs:/{run_id}/model", dict(evaluation.metrics))
