"""Trainings of one retrain on threads vs on a Dask cluster of two worker processes, on this machine.

    python bench/scaleout.py [--series 4] [--epochs 5] [--out scaleout.json]

Both sides run the `retrain` flow on the same demo tickers (forecasters only) with two trainings at
a time (threads: max_workers 2; dask: a temporary local cluster of 2 single-threaded workers) and
the same MLflow server (a Dask run refuses a SQLite store, so this starts one on loopback). Reported
per side: the flow's wall time, and per training the Prefect task's seconds against the MLflow run's
own `seconds/*` phases: the difference is what the engine adds to a training (shipping the series
and params to a worker process, the task engine there, the result back).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT / "flows"), str(BENCH)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_mlflow_server(root: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("mlflow")),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            (root / "artifacts").as_uri(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5):
                return server, url
        except OSError:
            time.sleep(1)
    server.kill()
    raise RuntimeError("the MLflow server did not start within 300 s")


def one_side(runner: str, series: int, epochs: int, root: Path) -> dict[str, Any]:
    from flow_breakdown import phase_seconds, task_runs_since

    import retrain as retrain_flow

    params = {
        "data": {"root": str(root / runner / "data")},
        "prices": {"tickers": [f"DEMO{number}" for number in range(series)], "demo": {"n_days": 600}},
        "train": {"epochs": epochs, "patience": epochs, "verbose": 0},
        "models": {"forecaster": {"units": [16], "backtest_folds": 0}},
        "orchestration": {"task_runner": runner, "local_workers": 2},
    }
    params_file = root / f"{runner}.yaml"
    params_file.write_text(yaml.safe_dump(params))
    since = datetime.now(UTC)
    started = time.perf_counter()
    retrain_flow.retrain(params_file=str(params_file), data_kinds=["prices"])
    wall = time.perf_counter() - started

    import mlflow

    runs = mlflow.search_runs(
        experiment_names=["lstmops-forecaster"],
        filter_string=f"attributes.start_time >= {int(since.timestamp() * 1000)}",
        output_format="list",
    )
    run_seconds = {run.data.tags["series"]: sum(phase_seconds(run.data.metrics).values()) for run in runs}
    task_seconds = {
        task["name"].split("-")[2]: task["seconds"]
        for task in task_runs_since(since)
        if task["name"].startswith("train-")
    }
    added = [task_seconds[name] - run_seconds[name] for name in run_seconds if name in task_seconds]
    return {
        "runner": runner,
        "series": series,
        "wall_s": wall,
        "training_s_mean": statistics.mean(run_seconds.values()),
        "engine_added_s_mean": statistics.mean(added),
        "engine_added_s_max": max(added),
        "workers": sorted({run.data.tags["worker.pid"] for run in runs}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from prefect.testing.utilities import prefect_test_harness

    with tempfile.TemporaryDirectory(prefix="lstmops-scaleout-") as scratch:
        root = Path(scratch)
        server, url = start_mlflow_server(root)
        os.environ["MLFLOW_TRACKING_URI"] = url
        try:
            with prefect_test_harness(server_startup_timeout=180):
                rows = [one_side(runner, args.series, args.epochs, root) for runner in ("threads", "dask")]
        finally:
            server.terminate()
            server.wait(timeout=30)
    for row in rows:
        print(
            f"{row['runner']:8s} {row['series']} series: wall {row['wall_s']:.1f} s, training {row['training_s_mean']:.1f} s"
            f" each, engine adds {row['engine_added_s_mean']:.2f} s (max {row['engine_added_s_max']:.2f}) per"
            f" training, {len(row['workers'])} process(es)"
        )
    if args.out:
        args.out.write_text(json.dumps({"rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
