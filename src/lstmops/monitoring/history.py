"""A version's monitoring history: its checks in experiment `lstmops-monitoring`, oldest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlflow import MlflowClient

from lstmops.monitoring import STATUS_TAG
from lstmops.tracking.store import experiment_name, filter_literal

COLUMNS = (
    "checked (UTC)",
    "status",
    "new targets",
    "error ratio",
    "hold-out ratio",
    "DM p",
    "ratio p",
    "input drift p",
    "run",
)


def checks(name: str, version: str, limit: int = 200) -> list[dict[str, Any]]:
    """Each recorded check of `name` version `version` (none when nothing was ever checked)."""
    client = MlflowClient()
    experiment = client.get_experiment_by_name(experiment_name("monitoring"))
    if experiment is None:
        return []
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`model.name` = {filter_literal(name)} and tags.`model.version` = {filter_literal(str(version))}",
        order_by=["attributes.start_time ASC"],
        max_results=limit,
    )
    rows = []
    for run in runs:
        metrics = run.data.metrics
        rows.append(
            {
                "checked": datetime.fromtimestamp(run.info.start_time / 1000, UTC).strftime("%Y-%m-%d %H:%M"),
                "new_to": (run.data.tags.get("monitor.new_to") or "-")[:16].replace("T", " "),
                "status": run.data.tags.get(STATUS_TAG, "?"),
                "n": metrics.get("monitor.n"),
                "error_ratio": metrics.get("monitor.error_ratio"),
                "holdout_ratio": metrics.get("monitor.holdout_ratio"),
                "dm_p": metrics.get("monitor.dm_p"),
                "ratio_p": metrics.get("monitor.ratio_p"),
                "input_drift_p": metrics.get("monitor.input_drift_p"),
                "run_id": run.info.run_id,
            }
        )
    return rows


def table_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    """`checks` as strings in COLUMNS' order."""

    def number(value: Any, digits: str = ".3g") -> str:
        return "-" if value is None else format(value, digits)

    return [
        [
            row["checked"],
            row["new_to"],
            row["status"],
            number(row["n"], ".0f"),
            number(row["error_ratio"]),
            number(row["holdout_ratio"]),
            number(row["dm_p"], ".2g"),
            number(row["ratio_p"], ".2g"),
            number(row["input_drift_p"], ".2g"),
            row["run_id"],
        ]
        for row in rows
    ]
