"""A version's monitoring history: its checks in experiment `lstmops-monitoring`, oldest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlflow import MlflowClient

from lstmops.monitoring import STATUS_TAG
from lstmops.tracking.store import experiment_name, filter_literal

# (heading, key in `checks`' rows, format); metric columns no check of a version has are left out of its
# table, so a forecaster's shows error ratios and an anomaly detector's alert rates.
FIELDS = (
    ("checked (UTC)", "checked", None),
    ("new data to", "new_to", None),
    ("status", "status", None),
    ("new rows", "n", ".0f"),
    ("error ratio", "error_ratio", ".3g"),
    ("hold-out ratio", "holdout_ratio", ".3g"),
    ("DM p", "dm_p", ".2g"),
    ("ratio p", "ratio_p", ".2g"),
    ("alert rate", "alert_rate", ".3g"),
    ("reference alert rate", "alert_rate_reference", ".3g"),
    ("alert-rate p", "alert_rate_p", ".2g"),
    ("upper-tail p", "tail_share_p", ".2g"),
    ("input drift p", "input_drift_p", ".2g"),
    ("run", "run_id", None),
)
COLUMNS = tuple(heading for heading, _, _ in FIELDS)
METRICS = ("error_ratio", "holdout_ratio", "dm_p", "ratio_p", "alert_rate", "alert_rate_reference")
METRICS += ("alert_rate_p", "tail_share_p", "input_drift_p")


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
                **{key: metrics.get(f"monitor.{key}") for key in METRICS},
                "run_id": run.info.run_id,
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """`checks` as (headings, rows of strings), without the metric columns that none of them has."""
    kept = [
        (heading, key, digits)
        for heading, key, digits in FIELDS
        if key not in METRICS or any(row.get(key) is not None for row in rows)
    ]

    def cell(value: Any, digits: str | None) -> str:
        if value is None:
            return "-"
        return format(value, digits) if digits else str(value)

    return [heading for heading, _, _ in kept], [
        [cell(row.get(key), digits) for _, key, digits in kept] for row in rows
    ]
