"""Credentials in the tracking URI (issue 31): trained, gated and listed against a real MLflow server
reached as `http://alice:<password>@...`, the password is on no console line and in no stored byte."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstmops.cli.main import app
from lstmops.common.masking import masked
from lstmops.experiment.runner import gate, run_experiment
from lstmops.tracking.store import configure_tracking

pytestmark = pytest.mark.faults
PASSWORD, TOKEN = "S3cretPW0rd", "tok3nS3cret"
FLOWS = Path(__file__).parents[2] / "flows"


@dataclass
class Server:
    port: int
    root: Path  # its database and artifacts: what "stored" means here


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """`mlflow server` on 127.0.0.1 (no auth of its own: the credentials travel, and must not show)."""
    root = tmp_path_factory.mktemp("server")
    port = _free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{root}/server.db", "--artifacts-destination", str(root / "art")]
    log = open(root / "server.log", "wb")  # noqa: SIM115  closed after the server stops
    process = subprocess.Popen(command, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, (root / "server.log").read_text()
                time.sleep(0.5)
        yield Server(port, root)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        log.close()


def test_masking_hides_a_password_and_a_token_alone_in_any_text():
    assert masked(f"http://alice:{PASSWORD}@mlflow:5000") == "http://alice:***@mlflow:5000"
    assert masked(f"https://{TOKEN}@mlflow/path") == "https://***@mlflow/path"
    assert masked(f"request to http://a:p@ss@h:1/api failed; see https://{TOKEN}@h") == (
        "request to http://a:***@h:1/api failed; see https://***@h"
    )
    assert masked("sqlite:////data/mlruns/mlflow.db") == "sqlite:////data/mlruns/mlflow.db"


def test_a_training_gate_and_listing_against_a_credentialed_server_show_and_store_no_password(
    server, place, instant_task, monkeypatch, capfd
):
    uri = f"http://alice:{PASSWORD}@127.0.0.1:{server.port}"
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(variable, uri)
    monkeypatch.setenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "false")  # restored after the test
    configure_tracking()

    outcome = run_experiment("forecaster", place.series.prepared, place.params)
    decision = gate(outcome, place.series.prepared, place.params)
    listed = CliRunner().invoke(app, ["registry", "list"])
    sys.path.insert(0, str(FLOWS))
    try:
        from retrain import what_to_open_next  # a script's module: flows/ import their siblings by name
    finally:
        sys.path.remove(str(FLOWS))
    closing = what_to_open_next(configure_tracking())
    shown = capfd.readouterr()

    assert listed.exit_code == 0 and decision.name in listed.output
    console = shown.out + shown.err + listed.output + closing
    assert PASSWORD not in console
    assert f"at: http://alice:***@127.0.0.1:{server.port}/#/experiments/" in shown.out  # the run's link, masked
    assert f"open http://alice:***@127.0.0.1:{server.port}" in closing
    stored = [path for path in server.root.rglob("*") if path.is_file()]
    assert any(path.name == "MLmodel" for path in stored)  # the model's files went to the server
    assert [path for path in stored if PASSWORD.encode() in path.read_bytes()] == []
    assert [path for path in place.root.rglob("*") if path.is_file() and PASSWORD.encode() in path.read_bytes()] == []


def test_a_token_alone_in_an_unreachable_uri_is_masked_in_the_one_line_error(place, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://{TOKEN}@127.0.0.1:{_free_port()}")

    refused = CliRunner().invoke(app, ["registry", "list"])

    assert refused.exit_code == 1 and TOKEN not in refused.output
    assert refused.output.startswith("ERROR: MLflow tracking server http://***@127.0.0.1:")


def test_a_retrain_flow_against_a_credentialed_server_leaves_no_password_in_prefects_database(
    server, place, instant_task, monkeypatch, capfd
):
    import prefect.settings
    import yaml
    from prefect.testing.utilities import prefect_test_harness

    from lstmops.experiment import isolated, runner

    uri = f"http://alice:{PASSWORD}@127.0.0.1:{server.port}"
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(variable, uri)

    def in_process(timeout_s, kind, prepared, params, *, tracking_uri, run_name=None, tags=None):
        # The instant stand-in task is registered in this process only, so the training stays here.
        return runner.run_experiment(kind, prepared, params, run_name=run_name, tags=tags)

    monkeypatch.setattr(isolated, "run_experiment_within", in_process)
    params_file = place.root / "params.yaml"
    params_file.write_text(yaml.safe_dump(place.params.model_dump(mode="json")))
    sys.path.insert(0, str(FLOWS))
    try:
        import retrain
    finally:
        sys.path.remove(str(FLOWS))

    with prefect_test_harness(server_startup_timeout=120):
        database = Path(prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split(":///", 1)[1])
        summary = retrain.retrain(params_file=str(params_file), data_kinds=["prices"], parallel_training=False)
        home = Path(prefect.settings.PREFECT_HOME.value())
        stored = [database, *database.parent.glob("*"), *home.rglob("*")]
        leaked = [path for path in stored if path.is_file() and PASSWORD.encode() in path.read_bytes()]
        recorded = any(path.is_file() and b"DEMOA" in path.read_bytes() for path in stored)  # the grep sees the runs
        database_bytes = database.stat().st_size
    shown = capfd.readouterr()

    assert [row["series"] for row in summary] == ["DEMOA"]
    assert database_bytes > 0 and recorded and leaked == []
    assert PASSWORD not in shown.out + shown.err
