"""What a training run holds, and how it gets there.

A run holds: parameters (the params.yaml sections that shaped the model, flattened), per-epoch
training curves (`epoch/<name>`, step = epoch), the wall seconds of each phase (`seconds/<phase>`,
see `lstmops.experiment.runner`), the evaluation metrics with their baselines beside
them, lineage tags (`lineage`), plots (`plots/`), tables (`tables/`), the dataset card (`data/card.json`),
the effective params (`config/params.yaml`) and the model as a pyfunc that predicts from raw frames.
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
from mlflow.entities import Metric

from lstmops.common.masking import carries_credentials
from lstmops.config import Params
from lstmops.data.snapshots import file_sha256
from lstmops.evaluate.report import Evaluation

if TYPE_CHECKING:  # the data layer imports Great Expectations, serving pandas: configuring tracking should not
    from lstmops.data.prepare import PreparedSeries
    from lstmops.tasks.contract import Trained
from lstmops.tracking.lineage import device_tags, dvc_tags, lineage_tags, run_params
from lstmops.tracking.store import ensure_experiment, run_url

# The process that opened a run: a run left RUNNING by a process that is gone is ended (lstmops.preflight).
# The worker (flow process, Dask worker) a training ran for, and the process that held the run open:
# the same process, or the child it trains in when trainings are isolated (train.isolated sets
# WORKER_PID_VARIABLE in the child to its worker's pid).
HOST_TAG, PID_TAG, TRAINING_PID_TAG = "worker.host", "worker.pid", "training.pid"


WORKER_PID_VARIABLE = "LSTMOPS_WORKER_PID"


_LOG_BATCH_SIZE = 1000  # MLflow's limit on metrics per log_batch call


@dataclass
class LoggedRun:
    run_id: str
    experiment_id: str
    model_uri: str  # models:/m-<id>, the logged model (also reachable as runs:/<run_id>/model)
    metrics: dict[str, float]


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

    from lstmops.tracking.pyfunc import log_bundle_model
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
