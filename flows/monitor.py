"""Monitor flow: check every @champion on the data that arrived after its training (`lstmops monitor`).

    python flows/monitor.py                    # every model with a @champion
    python flows/monitor.py forecaster-DEMOA   # or the names given

`ingest_kinds` first snapshots and validates those data kinds (the deployment's new data); the
checks, their MLflow runs (each with its HTML report) and the `lstmops.model.decayed` events are
`lstmops.monitoring`'s. The verdicts, their evidence and the runs are also a markdown artifact of the
flow run (`monitoring.report.summary_markdown`).
"""

from __future__ import annotations

import sys
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from ingest import snapshot_and_validate
from lstmops.config import load_params
from lstmops.data.kinds import DataKindName
from shell import run_from_a_shell


@task(cache_policy=NO_CACHE)
def check_champions(names: list[str] | None, params_file: str, overrides: dict[str, Any] | None) -> list[dict]:
    from lstmops.monitoring.monitor import monitor as run_monitor
    from lstmops.monitoring.record import REPORT_PATH
    from lstmops.tracking import store

    store.configure_tracking()
    checked = run_monitor(names, load_params(params_file, overrides))
    for item in checked:
        print(item.line())
    return [
        {
            "name": item.result.name,
            "line": item.line(),
            "run_id": item.run_id,
            "run_link": store.run_link(item.run_id)[0] if item.run_id else None,
            "report": REPORT_PATH if item.run_id else None,
            **item.result.as_json(),
        }
        for item in checked
    ]


@flow(name="monitor", log_prints=True)
def monitor(
    names: list[str] | None = None,
    params_file: str = "params.yaml",
    overrides: dict[str, Any] | None = None,
    ingest_kinds: list[DataKindName] | None = None,
) -> list[dict]:
    """Ingest `ingest_kinds` (default: none), then check `names` (default: every @champion)."""
    from lstmops.monitoring.report import summary_markdown

    params = load_params(params_file, overrides)
    for kind in ingest_kinds or []:
        snapshot_and_validate(kind, params)
    verdicts = check_champions(names, params_file, overrides)
    create_markdown_artifact(
        markdown=summary_markdown(verdicts),
        key="monitor",
        description="Champions checked on the data after their training",
    )
    return verdicts


if __name__ == "__main__":
    with run_from_a_shell():
        for verdict in monitor(names=sys.argv[1:] or None):
            print(verdict["line"])
