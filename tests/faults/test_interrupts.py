"""Ctrl-C and SIGTERM stop a flow started from a shell (issue 31): `python flows/retrain.py` in its own
session, a real training running in its child process, then SIGINT to the whole group (a terminal's
Ctrl-C), SIGTERM to the flow's process, or two Ctrl-C. The flow exits within seconds with 130 / 143 and
one line saying what was stopped and kept; no run is left RUNNING, no version registered, and no
process of the group (Prefect's temporary server, trainings) outlives it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.faults, pytest.mark.integration]  # each test runs a real flow in a process of its own
ROOT = Path(__file__).resolve().parents[2]
STARTS_WITHIN_S = 300  # imports, Prefect's temporary server, ingest and the child's start-up on a busy machine
EXITS_WITHIN_S = 30


def rows(store: Path, query: str) -> list[tuple]:
    if not store.exists():
        return []
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
        try:
            return db.execute(query).fetchall()
        except sqlite3.OperationalError:  # the schema is still being created
            return []


def group_is_gone(pgid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def flow_with_a_training_running(tmp_path):
    """Start the retrain flow (one forecaster that trains for minutes) and return it once its run is RUNNING."""
    store = tmp_path / "mlruns" / "mlflow.db"
    params = {
        "data": {"root": str(tmp_path / "data")},
        "prices": {"tickers": ["DEMOA"], "demo": {"n_days": 300}},
        "sensors": {"series": []},
        "train": {"epochs": 100_000, "verbose": 0},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")},  # a private Prefect
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "flows")]),
        "MLFLOW_TRACKING_URI": f"sqlite:///{store}",
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # as the Makefile's: the temporary server needs more than Prefect's 20 s beside parallel test workers
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    output = tmp_path / "console.txt"
    with open(output, "w") as console:
        flow = subprocess.Popen(
            [sys.executable, str(ROOT / "flows" / "retrain.py"), "params.yaml"],
            cwd=tmp_path,
            env=env,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives a command
        )
    try:
        deadline = time.monotonic() + STARTS_WITHIN_S
        while not rows(store, "select run_uuid from runs where status = 'RUNNING'"):
            assert flow.poll() is None and time.monotonic() < deadline, output.read_text()[-3000:]
            time.sleep(0.5)
        yield flow, store, output
    finally:
        if flow.poll() is None:
            os.killpg(flow.pid, signal.SIGKILL)  # the group this test created
        flow.wait(timeout=30)


def stopped_cleanly(flow, store: Path, output: Path, code: int, *, closing_line: bool = True) -> str:
    """Asserts the flow exited `code` within the bound, left nothing running; returns its closing line
    (`closing_line=False`: there may be none, when a second Ctrl-C cut the first one's handling short)."""
    try:
        assert flow.wait(timeout=EXITS_WITHIN_S) == code, output.read_text()[-3000:]
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {EXITS_WITHIN_S} s after the signal: {output.read_text()[-3000:]}")
    assert group_is_gone(flow.pid, 10), "a process of the flow's group outlived it"
    text = output.read_text()
    assert "Traceback" not in text, text[-3000:]
    lines = [line for line in text.splitlines() if line.startswith("Stopped by")]
    assert len(lines) == 1 or (not closing_line and not lines), text[-3000:]
    assert rows(store, "select count(*) from model_versions") == [(0,)]
    return lines[0] if lines else ""


def test_ctrl_c_to_the_group_stops_the_training_ends_its_run_killed_and_says_so(flow_with_a_training_running):
    flow, store, output = flow_with_a_training_running
    [(run,)] = rows(store, "select run_uuid from runs where status = 'RUNNING'")

    os.killpg(flow.pid, signal.SIGINT)

    line = stopped_cleanly(flow, store, output, 130)
    assert rows(store, "select run_uuid, status from runs") == [(run, "KILLED")]
    assert line == (
        f"Stopped by Ctrl-C (SIGINT): 1 training(s) stopped, MLflow run(s) {run} ended KILLED; "
        "kept: the ingested and validated data, registered and gated: no model version"
    )


def test_sigterm_to_the_flow_stops_it_the_same_way(flow_with_a_training_running):
    flow, store, output = flow_with_a_training_running
    [(run,)] = rows(store, "select run_uuid from runs where status = 'RUNNING'")

    os.kill(flow.pid, signal.SIGTERM)  # `kill PID`, a supervisor, a container runtime

    line = stopped_cleanly(flow, store, output, 143)
    assert rows(store, "select run_uuid, status from runs") == [(run, "KILLED")]
    assert line.startswith(f"Stopped by SIGTERM: 1 training(s) stopped, MLflow run(s) {run} ended KILLED; ")


def test_a_second_ctrl_c_exits_at_once(flow_with_a_training_running):
    flow, store, output = flow_with_a_training_running

    os.killpg(flow.pid, signal.SIGINT)
    time.sleep(0.2)  # the first is being handled: the training is being stopped
    os.killpg(flow.pid, signal.SIGINT)

    # on a busy machine the second can arrive before the first has printed what it stopped: no line then
    line = stopped_cleanly(flow, store, output, 130, closing_line=False)
    assert line == "" or line.startswith("Stopped by Ctrl-C (SIGINT): ")
    # whatever the second cut short is left for the next training's sweep of runs whose process is gone
    assert rows(store, "select status from runs where status not in ('KILLED', 'RUNNING')") == []


def test_a_registry_gate_in_progress_decides_before_the_ctrl_c_is_delivered(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(ROOT / "flows"))
    import interrupts

    steps = []
    handler_before = signal.getsignal(signal.SIGINT)  # pytest's; a pytest-xdist worker ignores SIGINT
    with pytest.raises(KeyboardInterrupt):
        with interrupts.finished_first("the registry gate of forecaster DEMOA"):
            steps.append("registered")
            signal.raise_signal(signal.SIGINT)  # Ctrl-C between registering and deciding
            steps.append("decided")
    assert steps == ["registered", "decided"]
    assert capsys.readouterr().out == (
        "Ctrl-C (SIGINT): stopping once the registry gate of forecaster DEMOA has decided (Ctrl-C again stops at once)\n"
    )
    assert signal.getsignal(signal.SIGINT) is handler_before  # the handler from before is back
