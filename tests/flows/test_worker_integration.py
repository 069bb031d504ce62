"""The README's scale-out steps, for real: a Prefect server, work pools, `prefect deploy` from
prefect.yaml, a process worker, a triggered deployment, and the MLflow runs it leaves behind.

Everything runs on loopback with a temporary PREFECT_HOME, data root and MLflow store. Each process
this test starts (server, worker) is stopped by its id at the end, with whatever it spawned (the
worker's flow-run subprocess): SIGTERM, a second SIGTERM (a background worker ignores the first),
then SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
TINY_RETRAIN = {
    "prices.tickers": ["DEMOA"],
    "prices.demo.n_days": 300,
    "train.epochs": 1,
    "train.verbose": 0,
    "models.forecaster.units": [4],
    "models.forecaster.backtest_folds": 0,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Processes:
    """Background processes started by this test, each in its own session, logging to a file."""

    def __init__(self, log_dir: Path, env: dict[str, str]):
        self.log_dir, self.env = log_dir, env
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *argv: str) -> subprocess.Popen:
        with open(self.log_dir / f"{name}.log", "wb") as log:  # the child keeps its own handle
            process = subprocess.Popen(
                argv, cwd=PROJECT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started[name] = process
        return process

    def log(self, name: str, tail: int = 4000) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")[-tail:]

    def stop_all(self) -> None:
        for process in reversed(list(self.started.values())):
            stop(process)


def stop(process: subprocess.Popen, grace_s: float = 15.0) -> None:
    """SIGTERM, SIGTERM again, SIGKILL: to the process and every descendant, by id."""
    try:
        family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for signal_number in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
        alive = [member for member in family if _alive(member)]
        if not alive:
            break
        for member in alive:
            try:
                member.send_signal(signal_number)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=grace_s)
    process.wait(timeout=grace_s)


def _alive(member: psutil.Process) -> bool:
    try:
        return member.is_running() and member.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def cli(env: dict[str, str], *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([PREFECT, *argv], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout)


READ_DEPLOYMENT = """
import sys
from prefect.client.orchestration import get_client
with get_client(sync_client=True) as client:
    print(client.read_deployment_by_name(sys.argv[1]).model_dump_json())
"""


def deployment_as_json(env: dict[str, str], name: str) -> dict:
    """The deployment as the API holds it. (`prefect deployment inspect --output json` fails on a deployment
    with triggers in Prefect 3.9: it cannot serialise their sets.)"""
    done = subprocess.run(
        [sys.executable, "-c", READ_DEPLOYMENT, name], env=env, capture_output=True, text=True, timeout=120
    )
    return json.loads(ok(done))


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"{result.args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def wait_until_healthy(url: str, server: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.poll() is None, "the Prefect server exited during start-up"
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} not healthy after {timeout_s} s")


def loopback_prefect(tmp_path: Path, **extra: str) -> tuple[str, dict[str, str]]:
    """A Prefect API URL on a free loopback port and an environment that points at it: a private PREFECT_HOME,
    no analytics, no UI, no scheduler (no cron runs: only the runs a test starts), plus `extra`."""
    api_url = f"http://127.0.0.1:{free_port()}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        **extra,
    }
    return api_url, env


def start_server(processes: Processes, api_url: str) -> None:
    """Start the Prefect server `api_url` names, as one of `processes`, and wait until it is healthy."""
    port = api_url.rsplit(":", 1)[1].split("/")[0]
    server = processes.start("server", PREFECT, "server", "start", "--host", "127.0.0.1", "--port", port)
    wait_until_healthy(api_url, server)


def test_a_worker_runs_the_deployed_retrain_flow_and_mlflow_records_it(tmp_path):
    started = time.monotonic()
    mlflow_uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    api_url, env = loopback_prefect(
        tmp_path,
        PREFECT_WORKER_QUERY_SECONDS="2",
        MLFLOW_TRACKING_URI=mlflow_uri,
        MLFLOW_DISABLE_TELEMETRY="true",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    processes = Processes(tmp_path, env)
    try:
        start_server(processes, api_url)

        # The README's steps: pools, the one-training-per-GPU limit, deploy prefect.yaml, a worker.
        for pool in ("cpu", "gpu"):
            ok(cli(env, "work-pool", "create", pool, "--type", "process"))
        ok(cli(env, "concurrency-limit", "create", "gpu-training", "1"))
        ok(cli(env, "--no-prompt", "deploy", "--all"))
        deployment = deployment_as_json(env, "retrain/retrain-prices")
        (schedule,) = deployment["schedules"]
        assert (schedule["schedule"]["cron"], schedule["schedule"]["timezone"]) == ("30 17 * * 1-5", "America/New_York")
        assert deployment["work_pool_name"] == "gpu"
        assert deployment["parameters"]["training_limit"] == "gpu-training"

        worker = processes.start("worker", PREFECT, "worker", "start", "--pool", "gpu")
        overrides = {**TINY_RETRAIN, "data.root": str(tmp_path / "data")}
        run = cli(
            env,
            "deployment",
            "run",
            "retrain/retrain-prices",
            "--params",
            json.dumps({"overrides": overrides}),
            "--watch",
            "--watch-timeout",
            "900",
            timeout=960,
        )
        assert run.returncode == 0, f"{run.stdout[-2000:]}\n--- worker log:\n{processes.log('worker')}"
        assert worker.poll() is None

        import mlflow

        client = mlflow.MlflowClient(tracking_uri=mlflow_uri, registry_uri=mlflow_uri)
        experiment = client.get_experiment_by_name("lstmops-forecaster")
        (mlflow_run,) = client.search_runs([experiment.experiment_id])
        assert mlflow_run.info.status == "FINISHED"
        assert mlflow_run.data.tags["prefect.deployment"] == "retrain-prices"
        assert mlflow_run.data.tags["series"] == "DEMOA" and "mae_persistence" in mlflow_run.data.metrics
        assert client.search_model_versions("name='forecaster-DEMOA'"), "the registry gate saw the model"
    finally:
        processes.stop_all()
        print(f"worker integration wall time: {time.monotonic() - started:.1f} s")

    assert all(process.poll() is not None for process in processes.started.values())
