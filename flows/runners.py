"""Where the trainings of a retrain run: `orchestration` in params.yaml picks the Prefect task runner.

threads (the embedded default): a `ThreadPoolTaskRunner` in the flow's own process. Whatever the runner,
each training runs in a child process that its timeout kills (`lstmops.experiment.isolated`).
processes: Prefect's `ProcessPoolTaskRunner`, each training in a worker process of its own (each
imports TensorFlow once; parallel trainings share no random state).
dask: prefect-dask's `DaskTaskRunner`, against the cluster at `dask_address` or, without one, a
temporary local cluster. `local_workers` is the number of threads or processes on this machine. Every worker process writes MLflow runs,
so a Dask run needs the tracking server (`tracking.require_tracking_server`). With
`gpus_per_training` > 0 each training holds that many of a worker's "GPU" resources (workers start
with `--resources GPU=<GPUs on the host>`), so a host with N GPUs runs N trainings at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from lstmops.config import Params
from lstmops.tracking.store import require_tracking_server


def training_runner(params: Params, tracking_uri: str) -> TaskRunner:
    """The task runner the trainings of one retrain are submitted to (see the module docstring)."""
    settings = params.orchestration
    if settings.task_runner == "threads":
        return ThreadPoolTaskRunner(max_workers=settings.local_workers)
    if settings.task_runner == "processes":
        return ProcessPoolTaskRunner(max_workers=settings.local_workers)
    require_tracking_server(tracking_uri, "orchestration.task_runner: dask")
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    # One thread per worker process: TensorFlow already spreads one training over the cores.
    return DaskTaskRunner(cluster_kwargs={"n_workers": settings.local_workers, "threads_per_worker": 1})


@contextlib.contextmanager
def training_resources(params: Params) -> Iterator[None]:
    """Around a training's submit: the Dask worker resources it holds while it runs."""
    settings = params.orchestration
    if settings.task_runner != "dask" or not settings.gpus_per_training:
        yield
        return
    import dask

    with dask.annotate(resources={"GPU": settings.gpus_per_training}):
        yield
