"""Which Prefect task runner the trainings of a retrain go to, as params.yaml's `orchestration` says."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from prefect.task_runners import ThreadPoolTaskRunner

from lstmops.config import load_params
from lstmops.tracking.store import SharedStoreRequired

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "flows"))
from runners import training_resources, training_runner  # noqa: E402

SERVER = "http://127.0.0.1:5000"


def params(**orchestration):
    return load_params(overrides={f"orchestration.{key}": value for key, value in orchestration.items()})


def test_threads_are_the_default_with_the_configured_pool_size():
    runner = training_runner(params(local_workers=5), "sqlite:///mlruns/mlflow.db")

    assert isinstance(runner, ThreadPoolTaskRunner) and runner._max_workers == 5


def test_dask_goes_to_the_configured_scheduler():
    from prefect_dask import DaskTaskRunner

    runner = training_runner(params(task_runner="dask", dask_address="tcp://10.0.0.5:8786"), SERVER)

    assert isinstance(runner, DaskTaskRunner) and runner.address == "tcp://10.0.0.5:8786"


def test_dask_without_an_address_starts_a_local_cluster_of_single_threaded_workers():
    runner = training_runner(params(task_runner="dask", local_workers=3), SERVER)

    assert runner.address is None and runner.cluster_kwargs == {"n_workers": 3, "threads_per_worker": 1}


@pytest.mark.parametrize("store", ["sqlite:////srv/mlruns/mlflow.db", "file:///srv/mlruns", "/srv/mlruns"])
def test_dask_refuses_a_store_that_only_one_process_may_write(store):
    with pytest.raises(SharedStoreRequired, match="needs an MLflow tracking server.*MLFLOW_TRACKING_URI=http"):
        training_runner(params(task_runner="dask"), store)


def test_each_training_holds_its_gpus_as_a_dask_resource():
    import dask

    with training_resources(params(task_runner="dask", gpus_per_training=1)):
        assert dask.get_annotations() == {"resources": {"GPU": 1}}
    with training_resources(params(task_runner="threads", gpus_per_training=1)):
        assert dask.get_annotations() == {}


def test_processes_run_each_training_in_a_pool_process():
    from prefect.task_runners import ProcessPoolTaskRunner

    runner = training_runner(params(task_runner="processes", local_workers=2), "sqlite:///mlruns/mlflow.db")

    assert isinstance(runner, ProcessPoolTaskRunner)
