"""Where a flow run's time went: its Prefect task runs and the `seconds/*` phases of its MLflow runs.

    python bench/flow_breakdown.py --since 2026-11-28T05:00:00+00:00 [--out breakdown.json]

Reads the Prefect API (PREFECT_HOME / PREFECT_API_URL as set) and the MLflow store
(MLFLOW_TRACKING_URI) of whatever ran after `--since`; used by overhead.py in process and by
run.py after its `make run` flow (flows/retrain.py), in a subprocess with that run's environment.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any


def task_runs_since(since: datetime, *, wait_s: float = 30.0) -> list[dict[str, Any]]:
    """Every task run started after `since` (oldest first) with its run seconds; subflow wrappers left out.

    Task run states reach the server through events, a moment after the flow returns: wait until
    all of them have ended.
    """
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterStartTime,
        TaskRunFilter,
        TaskRunFilterStartTime,
    )

    deadline = time.monotonic() + wait_s
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(task_run_filter=TaskRunFilter(start_time=TaskRunFilterStartTime(after_=since)))
            if (runs and all(run.end_time for run in runs)) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        flows = client.read_flow_runs(flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=since)))
    # A subflow shows up as a task run of its parent too; its own tasks are counted already.
    wrappers = {flow.parent_task_run_id for flow in flows if flow.parent_task_run_id}
    return [
        {"name": run.name, "seconds": run.total_run_time.total_seconds()}
        for run in sorted(runs, key=lambda run: run.start_time)
        if run.id not in wrappers
    ]


def seconds_per_step(task_runs: list[dict[str, Any]]) -> dict[str, float]:
    """Task run seconds summed per step: the task name up to its first '-' (train, gate, validate, ...)."""
    totals: dict[str, float] = {}
    for run in task_runs:
        step = run["name"].split("-", 1)[0]
        totals[step] = totals.get(step, 0.0) + run["seconds"]
    return totals


def phase_seconds(metrics: dict[str, float]) -> dict[str, float]:
    """{phase: seconds} from an MLflow run's metrics (`seconds/<phase>`, see lstmops.experiment)."""
    return {key.split("/", 1)[1]: value for key, value in metrics.items() if key.startswith("seconds/")}


def training_phases_since(since: datetime) -> list[dict[str, Any]]:
    """kind, series and `seconds/<phase>` of every lstmops MLflow run started after `since`."""
    import mlflow

    from lstmops.tracking.store import EXPERIMENT_PREFIX, configure_tracking

    configure_tracking()
    experiments = [
        e.experiment_id for e in mlflow.search_experiments(filter_string=f"name LIKE '{EXPERIMENT_PREFIX}%'")
    ]
    runs = (
        mlflow.search_runs(
            experiments, filter_string=f"attributes.start_time >= {int(since.timestamp() * 1000)}", output_format="list"
        )
        if experiments
        else []
    )
    return [
        {"kind": run.data.tags.get("kind"), "series": run.data.tags.get("series"), **phase_seconds(run.data.metrics)}
        for run in sorted(runs, key=lambda run: run.info.start_time)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", type=datetime.fromisoformat, required=True, help="ISO time with a time zone")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    breakdown = json.dumps({"task_runs": task_runs_since(args.since), "trainings": training_phases_since(args.since)})
    print(breakdown)
    if args.out:
        args.out.write_text(breakdown)


if __name__ == "__main__":
    main()
