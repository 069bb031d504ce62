"""Each check as a run of experiment `lstmops-monitoring`, and the last verdict on the champion's version.

The run carries the model name, version, kind, series and the sha256 of the validated data checked
(tags), the new rows as an MLflow dataset (context `monitoring`), the numbers MLflow charts across
checks (a forecaster's `monitor.error_ratio`, `monitor.holdout_ratio`, `monitor.dm_p`, `monitor.ratio_p`,
`monitor.input_drift_p`; an anomaly detector's `monitor.alert_rate`, `monitor.alert_rate_reference`,
`monitor.alert_rate_p`, `monitor.tail_share`, `monitor.tail_share_p`; both `monitor.cusum_max`, `monitor.n`),
the whole evidence as `monitor/evidence.json` and the check as a page, `monitor/report.html` (`monitoring.report`). The version gets
`monitor.status` and `monitor.checked_at`, which `lstmops registry list` shows.
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime

from mlflow import MlflowClient
from mlflow.entities import DatasetInput, InputTag
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from lstmops.monitoring import CHECKED_AT_TAG, STATUS_TAG
from lstmops.monitoring.check import SKIPPED, CheckResult
from lstmops.monitoring.report import render
from lstmops.tracking.store import ensure_experiment

MONITORING_EXPERIMENT_KIND = "monitoring"  # -> experiment "lstmops-monitoring"
REPORT_PATH = "monitor/report.html"  # the check as a page: rolling errors, ratio with the hold-out band, CUSUM
CHARTED = (
    *("error_ratio", "holdout_ratio", "dm_p", "ratio_p", "cusum_max", "input_drift_p"),  # forecasts
    *("alert_rate", "alert_rate_reference", "alert_rate_p", "tail_share", "tail_share_p"),  # anomaly detectors
)


def record_check(result: CheckResult) -> str | None:
    """Log `result` as a monitoring run and tag the checked version; the run id (None: nothing checked)."""
    if result.version is None or result.status == SKIPPED:
        return None
    client = MlflowClient()
    run = client.create_run(
        ensure_experiment(MONITORING_EXPERIMENT_KIND),
        # The newest target checked leads the name: the UI lists a model's checks apart at a glance.
        run_name=f"{(result.evidence.get('new_to') or 'no new data')[:10]} {result.name} v{result.version}",
        tags={
            "model.name": result.name,
            "model.version": result.version,
            "model.kind": result.kind,
            "model.series": result.series,
            "data.sha256": result.data_sha256,
            STATUS_TAG: result.status,
            "monitor.new_to": str(result.evidence.get("new_to") or ""),  # the newest target checked
            "monitor.detail": result.detail[:5000],
        },
    )
    run_id = run.info.run_id
    checked_at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        client.log_metric(run_id, "monitor.n", result.n)
        for key in CHARTED:
            value = result.evidence.get(key)
            if isinstance(value, int | float) and math.isfinite(value):
                client.log_metric(run_id, f"monitor.{key}", float(value))
        client.log_dict(run_id, {result.name: result.as_json()}, "monitor/evidence.json")
        client.log_text(run_id, render(result, checked_at=checked_at), REPORT_PATH)
        if result.new_rows is not None and len(result.new_rows):
            _log_new_rows(client, run_id, result)
    except Exception:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id)
    client.set_model_version_tag(result.name, result.version, STATUS_TAG, result.status)
    client.set_model_version_tag(result.name, result.version, CHECKED_AT_TAG, checked_at)
    return run_id


def _log_new_rows(client: MlflowClient, run_id: str, result: CheckResult) -> None:
    import mlflow.data

    with warnings.catch_warnings():  # MLflow says when a source could be read several ways; not ours to fix
        warnings.simplefilter("ignore")
        dataset = mlflow.data.from_pandas(
            result.new_rows, name=f"{result.series} after training", digest=result.data_sha256[:36] or None
        )
    client.log_inputs(
        run_id, datasets=[DatasetInput(dataset._to_mlflow_entity(), [InputTag(MLFLOW_DATASET_CONTEXT, "monitoring")])]
    )
