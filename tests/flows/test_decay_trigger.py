"""prefect.yaml's decay triggers on a real Prefect server (loopback, temporary PREFECT_HOME): deployed
with `prefect deploy --all`, three `lstmops.model.decayed` events of one price model start exactly one
retrain-prices run, narrowed to that model with typed parameters; a sensor model's event starts a
retrain-sensors run. No worker: the runs stay scheduled, which is all a trigger does. The server is
stopped by its id at the end (see test_worker_integration.py, whose helpers this reuses)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_worker_integration import PROJECT, Processes, cli, loopback_prefect, ok, start_server  # noqa: E402

pytestmark = pytest.mark.integration

EMIT = textwrap.dedent(
    """
    import sys
    from prefect.events.worker import EventsWorker
    from lstmops.monitoring import events
    from lstmops.monitoring.check import CheckResult

    name, kind, series, data_kind, times = sys.argv[1:]
    decayed = CheckResult(name, "decayed", "2", 120, {"error_ratio": 1.3}, "error ratio 1.3", kind, series, data_kind)
    assert all(events.emit_decayed(decayed) for _ in range(int(times)))
    EventsWorker.drain_all()
    """
)

RUNS = textwrap.dedent(
    """
    import json
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    with get_client(sync_client=True) as client:
        found = {
            name: [run.parameters for run in client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name])))]
            for name in ("retrain-prices", "retrain-sensors")
        }
    print(json.dumps(found))
    """
)


def python(env, code: str, *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def runs_after(env, seconds: float, until) -> dict:
    """The retrain runs, polled until `until(runs)` holds or `seconds` passed."""
    import json

    deadline = time.monotonic() + seconds
    while True:
        runs = json.loads(python(env, RUNS))
        if until(runs) or time.monotonic() > deadline:
            return runs
        time.sleep(2)


def test_decay_events_start_one_narrowed_retrain_per_model_and_cooldown(tmp_path):
    api_url, env = loopback_prefect(tmp_path)  # no scheduler: only what the triggers start
    processes = Processes(tmp_path, env)
    try:
        start_server(processes, api_url)
        for pool in ("cpu", "gpu"):
            ok(cli(env, "work-pool", "create", pool, "--type", "process"))
        ok(cli(env, "--no-prompt", "deploy", "--all"))

        python(env, EMIT, "forecaster-DEMOA", "forecaster", "DEMOA", "prices", "3")
        runs = runs_after(env, 90, lambda runs: runs["retrain-prices"])
        time.sleep(5)  # duplicates, if the cooldown failed, would be starting now
        runs = runs_after(env, 0, lambda runs: True)
        assert runs["retrain-prices"] == [
            {
                "params_file": "params.yaml",
                "training_limit": "gpu-training",
                "data_kinds": ["prices"],
                "series": ["DEMOA"],
                "model_kinds": ["forecaster"],
            }
        ]
        assert runs["retrain-sensors"] == []

        python(env, EMIT, "seq2seq-demo__machine_a", "seq2seq", "demo/machine_a", "sensors", "1")
        runs = runs_after(env, 90, lambda runs: runs["retrain-sensors"])
        (sensors,) = runs["retrain-sensors"]
        assert (sensors["series"], sensors["model_kinds"]) == (["demo/machine_a"], ["seq2seq"])
        assert len(runs["retrain-prices"]) == 1
    finally:
        processes.stop_all()
