"""The retrain flow spreading its trainings over a real Dask cluster on loopback.

A scheduler and two worker processes (`dask scheduler`, `dask worker --resources GPU=1`) and an
MLflow server, all started and stopped here; the flow runs in this process with
`orchestration.task_runner: dask` and one "GPU" per training, so each worker runs one training at a
time. Halfway through, one worker is killed: Dask reschedules its training on the other, and the
retrain still ends with every model trained, registered once and gated.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import mlflow
import pytest
import yaml
from mlflow import MlflowClient

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TICKERS = ["DEMOA", "DEMOB", "DEMOC", "DEMOD"]
FLOW_TIMEOUT_S = 900  # a bound for a hung run; the run takes a few minutes on two cores
# Enough epochs that a training is still running when the worker is killed; tiny otherwise.
PARAMS = {
    "prices": {"tickers": TICKERS, "demo": {"n_days": 300}},
    "train": {"epochs": 40, "patience": 40, "verbose": 0},
    "models": {"forecaster": {"units": [4], "backtest_folds": 0}},
    "orchestration": {"task_runner": "dask", "gpus_per_training": 1},
}


def service_env(**settings: str) -> dict[str, str]:
    return {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # Trainings are tasks defined in flows/tasks.py: workers import them by module name.
        "PYTHONPATH": os.pathsep.join([str(PROJECT / "flows"), str(PROJECT / "src")]),
        **settings,
    }


@pytest.fixture(scope="module")
def cluster(supervisor, free_port, tmp_path_factory):
    """(scheduler address, the two worker processes, MLflow server URL)."""
    root = tmp_path_factory.mktemp("dask-cluster")
    scheduler_port, mlflow_port = free_port(), free_port()
    address = f"tcp://127.0.0.1:{scheduler_port}"
    mlflow_server = supervisor.start(
        "mlflow-server",
        [
            str(BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(mlflow_port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",  # only the server process writes it
            "--artifacts-destination",
            (root / "artifacts").as_uri(),
        ],
        env=service_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
    )
    scheduler = supervisor.start(
        "dask-scheduler",
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(scheduler_port), "--no-dashboard"],
        env=service_env(),
    )
    workers = [
        supervisor.start(
            f"dask-worker-{number}",
            [
                str(BIN / "dask"),
                "worker",
                address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--resources",
                "GPU=1",
                "--no-dashboard",
                "--no-nanny",  # the worker is this process: its pid is the one the runs record
                "--name",
                f"worker-{number}",
            ],
            env=service_env(),
            cwd=root,
        )
        for number in (1, 2)
    ]
    url = f"http://127.0.0.1:{mlflow_port}"
    supervisor.wait_for_http(mlflow_server, f"{url}/health", timeout=300)
    wait_for_workers(address, 2, scheduler)
    yield address, workers, url
    supervisor.stop_all()
    assert supervisor.still_running() == {}


def wait_for_workers(address: str, count: int, scheduler, timeout: float = 120.0) -> None:
    from distributed import Client

    with Client(address, timeout=timeout) as client:
        client.wait_for_workers(count, timeout=timeout)


def finished_runs() -> list:
    return [
        run
        for run in mlflow.search_runs(experiment_names=["lstmops-forecaster"], output_format="list")
        if run.info.status == "FINISHED"
    ]


def busy_after_a_finished_training(client, pid: int) -> bool:
    """True when the worker process `pid` has logged a training and is processing another one."""
    if not any(run.data.tags.get("worker.pid") == str(pid) for run in finished_runs()):
        return False
    worker = next(address for address, worker_pid in client.run(os.getpid).items() if worker_pid == pid)
    return bool(client.processing().get(worker))


def test_a_retrain_spreads_over_two_workers_and_survives_losing_one(cluster, tmp_path, monkeypatch):
    address, workers, mlflow_url = cluster
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_url)
    monkeypatch.syspath_prepend(str(PROJECT / "flows"))
    params = {**PARAMS, "data": {"root": str(tmp_path / "data")}}
    params["orchestration"] = {**params["orchestration"], "dask_address": address}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    from prefect.testing.utilities import prefect_test_harness

    import retrain as retrain_flow

    outcome: dict = {}

    def run() -> None:
        try:
            outcome["summary"] = retrain_flow.retrain(params_file="params.yaml", data_kinds=["prices"])
        except BaseException as error:  # reported by the assertions below
            outcome["error"] = error

    from distributed import Client

    victim, survivor = workers
    mlflow.set_tracking_uri(mlflow_url)
    with prefect_test_harness(server_startup_timeout=120), Client(address, timeout=30) as dask_client:
        flow_thread = threading.Thread(target=run, daemon=True)
        flow_thread.start()
        deadline = time.monotonic() + FLOW_TIMEOUT_S
        while flow_thread.is_alive() and time.monotonic() < deadline:
            if busy_after_a_finished_training(dask_client, victim.pid):
                break
            time.sleep(1)
        os.killpg(victim.pid, signal.SIGKILL)  # in its second training: no chance to clean up
        flow_thread.join(timeout=max(0.0, deadline - time.monotonic()))

    assert not flow_thread.is_alive(), "the retrain did not finish in time"
    assert "error" not in outcome, outcome.get("error")
    assert sorted(row["series"] for row in outcome["summary"]) == TICKERS

    finished = finished_runs()
    # Every series trained (a training killed after logging its run and rescheduled logs a second,
    # unregistered one: Dask runs a lost task again), in both worker processes.
    assert {run.data.tags["series"] for run in finished} == set(TICKERS)
    assert {run.data.tags["worker.pid"] for run in finished} == {str(victim.pid), str(survivor.pid)}
    gated = {row["series"]: row["run_id"] for row in outcome["summary"]}
    assert {run.info.run_id for run in finished} >= set(gated.values())
    registry = MlflowClient(mlflow_url, mlflow_url)
    for ticker in TICKERS:
        # Registered and gated once: the rescheduled training left no second version.
        assert len(registry.search_model_versions(f"name = 'forecaster-{ticker}'")) == 1
    mlflow.set_tracking_uri(None)
