"""`mlflow models serve -m models:/NAME@champion` answers raw-input requests on a loopback port."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from lstmops.evaluate.report import Evaluation
from lstmops.registry.gate import register_and_gate
from lstmops.tracking.store import ensure_experiment

pytestmark = pytest.mark.integration

TOY_MODEL = Path(__file__).parent / "fixtures" / "toy_pyfunc_model.py"
STARTUP_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post_json(url: str, payload: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_until_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow models serve exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    pytest.fail(f"mlflow models serve not healthy after {STARTUP_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def test_serving_the_champion_answers_raw_input(mlflow_store, gate_outcome, tmp_path):
    uri = mlflow_store.uri
    tags = {"kind": "forecaster", "series": "SERVED"}
    with mlflow.start_run(experiment_id=ensure_experiment("forecaster"), tags=tags) as run:
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(TOY_MODEL),
            model_config={"slope": 3.0},
            pip_requirements=["mlflow", "pandas"],
        )
    # A clear win point by point: the gate promotes a first version only when its paired test sees one.
    losses = pd.DataFrame({"loss": np.full(60, 0.1) + np.linspace(0, 0.01, 60), "loss_baseline": np.full(60, 0.5)})
    good = Evaluation(
        {"mae": 0.1, "mae_persistence": 0.5}, "mae", "mae_persistence", higher_is_better=False, units=losses
    )
    decision = register_and_gate(
        gate_outcome("forecaster", "SERVED", run.info.run_id, info.model_uri),
        lambda model_uri: good,
        actor="tester",
    )
    assert decision.promoted

    port, log = free_port(), tmp_path / "serve.log"
    # The server runs `uvicorn` by name: the venv's bin folder must be on PATH.
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    started = time.monotonic()
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                "models:/forecaster-SERVED@champion",
                "--env-manager",
                "local",
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/ping", server, log)
        healthy = time.monotonic() - started
        answer = post_json(
            f"http://127.0.0.1:{port}/invocations", {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.5]]}}
        )
        assert answer == {"predictions": [{"x": 1.0, "forecast": 3.0}, {"x": 2.5, "forecast": 7.5}]}
        print(f"mlflow models serve healthy after {healthy:.1f} s")
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # its own session: the server and its uvicorn child
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
