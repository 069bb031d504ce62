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
`data.train_end` (the last time the model saw: the registry gate refuses hold-outs before it),
`data.end` (the newest row trained or evaluated on: `lstmops monitor` judges the rows after it),
`data.validation.<field>`, `git.commit`, `git.dirty`, `params.hash`, `version.<package>`, `device.<field>`;
under DVC also `dvc.stage`, `dvc.experiment` (the `dvc exp run` name) and `dvc.git_rev` (see `dvc_tags`).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
from mlflow.entities import Metric
from mlflow.environment_variables import MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT
from mlflow.exceptions import MlflowException
from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH

import lstmops
from lstmops.config import Params
from lstmops.data.snapshots import file_sha256
from lstmops.evaluate.report import Evaluation
from lstmops.masking import carries_credentials, masked

if TYPE_CHECKING:  # the data layer imports Great Expectations, serving pandas: configuring tracking should not
    from lstmops.data.prepare import PreparedSeries
    from lstmops.serving import Trained

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
SQLITE_PREFIX = "sqlite:///"
EXPERIMENT_PREFIX = "lstmops-"
GIT_COMMIT_VARIABLE = "LSTMOPS_GIT_COMMIT"  # the commit an image was built from (see infra/docker)
# What DVC sets for a stage's command (dvc.env): the project root, the stage, and under `dvc exp run`
# the experiment's name and the commit it is based on.
DVC_ROOT_VARIABLE, DVC_STAGE_VARIABLE = "DVC_ROOT", "DVC_STAGE"
DVC_EXP_NAME_VARIABLE, DVC_BASELINE_VARIABLE = "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV"
# Packages whose versions decide whether a run can be reproduced (tensorflow may be the -cpu wheel).
TRACKED_PACKAGES = {
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "keras": ("keras",),
    "jax": ("jax",),
    "jaxlib": ("jaxlib",),
    "torch": ("torch",),
    "mlflow": ("mlflow",),
    "prefect": ("prefect",),
    "pandas": ("pandas",),
    "numpy": ("numpy",),
    "great_expectations": ("great_expectations",),
    "dvc": ("dvc",),
}
# The process that opened a run: a run left RUNNING by a process that is gone is ended (lstmops.preflight).
# The worker (flow process, Dask worker) a training ran for, and the process that held the run open:
# the same process, or the child it trains in when trainings are isolated (train.isolated sets
# WORKER_PID_VARIABLE in the child to its worker's pid).
HOST_TAG, PID_TAG, TRAINING_PID_TAG = "worker.host", "worker.pid", "training.pid"
WORKER_PID_VARIABLE = "LSTMOPS_WORKER_PID"
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
_LOG_BATCH_SIZE = 1000  # MLflow's limit on metrics per log_batch call


@dataclass
class LoggedRun:
    run_id: str
    experiment_id: str
    model_uri: str  # models:/m-<id>, the logged model (also reachable as runs:/<run_id>/model)
    metrics: dict[str, float]


# ---------------------------------------------------------------- where runs go


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


def dvc_tags(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Inside a DVC stage: the stage, the DVC experiment's name (`dvc exp run`) and the Git revision the
    experiment started from, so `dvc exp show` and MLflow's runs find each other; {} outside DVC."""
    env = os.environ if environ is None else environ
    if DVC_STAGE_VARIABLE not in env:
        return {}
    tags = {"dvc.stage": env[DVC_STAGE_VARIABLE]}
    if name := env.get(DVC_EXP_NAME_VARIABLE):
        tags["dvc.experiment"] = name
    revision = env.get(DVC_BASELINE_VARIABLE)
    if not revision and env.get(DVC_ROOT_VARIABLE):  # `dvc repro`: the project's checked-out commit
        revision = git_state(Path(env[DVC_ROOT_VARIABLE]))["git.commit"]
    tags["dvc.git_rev"] = revision or "unknown"
    return tags


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


# ---------------------------------------------------------------- what a run records


def run_params(prepared: PreparedSeries, params: Params, kind: str) -> dict[str, str]:
    """The params.yaml sections that shaped this model, flattened to dotted keys, plus the data used."""
    from lstmops.tasks import params_read

    data_kind = prepared.kind
    sections = {key: _section(params, key) for key in (*params_read(kind), data_kind)}
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


def _section(params: Params, dotted: str) -> Any:
    node: Any = params
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


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
    from lstmops.data.kinds import data_kind

    card = prepared.card
    tags = {
        "series": prepared.series,
        "data.kind": prepared.kind,
        "data.source": card["source"],
        "data.sha256": card["sha256"],
        "data.raw_snapshot": card["raw_snapshot"],
        "data.train_end": prepared.part_times()[0].isoformat(),
        # The newest row trained or evaluated on: monitoring's new data starts after it.
        "data.end": prepared.features[data_kind(prepared.kind).time_column].max().isoformat(),
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
    import matplotlib.pyplot as plt

    mlflow.log_metrics({name: float(value) for name, value in evaluation.metrics.items()})
    if evaluation.tags:
        mlflow.set_tags(evaluation.tags)
    for name, figure in evaluation.figures.items():
        mlflow.log_figure(figure, f"plots/{name}")
        plt.close(figure)
    for name, table in evaluation.tables.items():
        mlflow.log_text(table.to_csv(index=False), f"tables/{name}")


@contextmanager
def training_run(
    kind: str,
    prepared: PreparedSeries,
    params: Params,
    *,
    run_name: str,
    tags: dict[str, str] | None = None,
    data_root: Path | None = None,
) -> Iterator[str]:
    """Open run `run_name` of experiment `lstmops-<kind>` BEFORE training and yield its id.

    Parameters, lineage tags and the training data (an MLflow dataset, see `log_training_data`) are
    recorded at once, so the UI shows the run, its inputs and its live epochs (`lstmops.train.live`)
    while it trains, and its duration is the training's. The run ends FINISHED, or FAILED when the
    block raises (KILLED on Ctrl-C): MLflow's `start_run` closes it whatever happens.
    """
    experiment_id = ensure_experiment(kind)
    opened_by = {
        HOST_TAG: socket.gethostname(),
        PID_TAG: os.environ.get(WORKER_PID_VARIABLE, str(os.getpid())),
        TRAINING_PID_TAG: str(os.getpid()),
    }
    run_tags = {"kind": kind, **lineage_tags(prepared, params), **dvc_tags(), **opened_by, **(tags or {})}
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=run_tags) as run:
        mlflow.log_params(run_params(prepared, params, kind))
        log_training_data(prepared, data_root or params.data.root)
        try:
            yield run.info.run_id
        except KeyboardInterrupt:  # MLflow's own exit would record Ctrl-C as FAILED
            mlflow.end_run("KILLED")
            raise
    uri = mlflow.get_tracking_uri()
    if carries_credentials(uri) and uri.startswith(("http://", "https://")):  # MLflow's own line is silenced
        print(f"View run {run_name} at: {run_url(uri, experiment_id, run.info.run_id)}")


def validated_file(prepared: PreparedSeries, data_root: Path) -> Path:
    """The validated Parquet the prepared series was built from (ingest writes it, prepare reads it)."""
    from lstmops.data.snapshots import series_slug

    card = prepared.card
    return Path(data_root) / "validated" / card["kind"] / card["source"] / f"{series_slug(card['series'])}.parquet"


def log_training_data(prepared: PreparedSeries, data_root: Path) -> None:
    """The validated file as an MLflow dataset input (context `training`): it shows under Datasets.

    Source: the validated file; digest: its sha256 (cut to the 36 characters MLflow's column holds;
    the full hash is the input's `sha256` tag). Without the file (a frame prepared in memory, as in
    benchmarks and tests) the features frame is logged under the card's raw snapshot hash instead.
    """
    import mlflow.data

    path = validated_file(prepared, data_root)
    if path.exists():
        import pandas as pd

        frame, sha256, source = pd.read_parquet(path), file_sha256(path), str(path.resolve())
    else:
        frame, sha256, source = prepared.features, prepared.card.get("sha256", ""), str(prepared.folder)
    with warnings.catch_warnings():  # MLflow registers its local-file source twice ("" and "file") and says so
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted in multiple ways")
        dataset = mlflow.data.from_pandas(
            frame, source=source, name=f"{prepared.kind}/{prepared.series}", digest=sha256[:36] or None
        )
    mlflow.log_input(dataset, context="training", tags={"sha256": sha256} if sha256 else None)


def log_trained_model(
    run_id: str, trained: Trained, evaluation: Evaluation, prepared: PreparedSeries, params: Params
) -> LoggedRun:
    """Into the open training run: device, epochs (unless logged live), evaluation, card, params, model."""
    import yaml

    from lstmops.serving import log_bundle_model
    from lstmops.train import live

    mlflow.set_tags(device_tags(trained.device))
    if not live.epochs_logged():
        log_history(run_id, trained.history)
    mlflow.log_metric("epochs_trained", max((len(v) for v in trained.history.values()), default=0))
    log_evaluation(evaluation)
    mlflow.log_dict(prepared.card, "data/card.json")
    mlflow.log_text(yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False), "config/params.yaml")
    model = log_bundle_model(trained, name="model")
    experiment_id = mlflow.get_run(run_id).info.experiment_id
    # The logged model's own URI (models:/m-...): registering it needs no search through the run's artifacts.
    return LoggedRun(run_id, experiment_id, model.model_uri, dict(evaluation.metrics))


def log_training_run(
    trained: Trained,
    evaluation: Evaluation,
    prepared: PreparedSeries,
    params: Params,
    *,
    run_name: str,
    tags: dict[str, str] | None = None,
) -> LoggedRun:
    """Record an already trained and evaluated model as a run of experiment `lstmops-<kind>`
    (`run_experiment` opens its run before training instead, see `training_run`)."""
    with training_run(trained.kind, prepared, params, run_name=run_name, tags=tags) as run_id:
        return log_trained_model(run_id, trained, evaluation, prepared, params)
