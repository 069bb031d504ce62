"""Batch scoring with the model that serves: `models:/NAME@champion` over a raw frame -> Parquet + a run.

The champion is resolved once and loaded by version number, so an alias moved mid-job cannot mix
two versions in one output. Each output row carries the model name, version and training run id;
anomaly models (predictions with `is_anomaly`) also get their flagged runs as segments with scores.
Every job is logged as a run of experiment `lstmops-scoring` (input fingerprint, counts, the files).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from lstmops.data.snapshots import frame_to_csv_bytes
from lstmops.evaluate.anomalies import flagged_to_segments
from lstmops.registry.report import no_such_model
from lstmops.registry.rule import CHAMPION, RegistryError
from lstmops.registry.versions import version_uri
from lstmops.tracking.pyfunc import load_pyfunc
from lstmops.tracking.store import ensure_experiment, filter_literal

SCORING_EXPERIMENT_KIND = "scoring"  # -> experiment "lstmops-scoring"
SEGMENT_COLUMNS = ["start", "end", "points", "max_score", "mean_score"]


@dataclass
class ScoreResult:
    name: str
    version: str
    model_run_id: str
    scoring_run_id: str
    rows: int  # input rows scored
    predictions: Path
    segments: Path | None
    predicted_rows: int = 0  # rows written: a multi-step model writes one per origin and step

    def summary(self) -> str:
        extra = f", segments -> {self.segments}" if self.segments else ""
        written = "" if self.predicted_rows in (0, self.rows) else f" ({self.predicted_rows:,} prediction rows)"
        return (
            f"{self.name} v{self.version} (@{CHAMPION}) scored {self.rows:,} rows{written} -> "
            f"{self.predictions}{extra}  (run {self.scoring_run_id})"
        )


def anomaly_segments(predictions: pd.DataFrame) -> pd.DataFrame:
    """Consecutive flagged timestamps as segments: start, end (inclusive), points, max and mean score."""
    missing = {"timestamp", "score", "is_anomaly"} - set(predictions.columns)
    if missing:
        raise ValueError(f"anomaly predictions lack column(s) {sorted(missing)}; got {list(predictions.columns)}")
    rows = []
    for start, end in flagged_to_segments(predictions["is_anomaly"].to_numpy(dtype=bool)):
        part = predictions.iloc[start : end + 1]
        rows.append(
            {
                "start": part["timestamp"].iloc[0],
                "end": part["timestamp"].iloc[-1],
                "points": len(part),
                "max_score": float(part["score"].max()),
                "mean_score": float(part["score"].mean()),
            }
        )
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)


def champion_version(name: str) -> ModelVersion:
    """`name`'s @champion version; a RegistryError that says what is missing when there is none."""
    client = MlflowClient()
    if not client.search_registered_models(filter_string=f"name = {filter_literal(name)}"):
        raise RegistryError(no_such_model(name))
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as err:
        raise RegistryError(
            f"{name} has no @{CHAMPION} to score with: no version has won the registry gate yet "
            f"(`lstmops registry history {name}` says why; a retrain on newer data can win it)"
        ) from err


def with_champions(names: list[str]) -> tuple[list[str], list[str]]:
    """The names that have a @champion to score with, and why each of the others has none."""
    serving, missing = [], []
    for name in names:
        try:
            champion_version(name)
            serving.append(name)
        except RegistryError as err:
            missing.append(str(err))
    return serving, missing


def score(name: str, frame: pd.DataFrame, out_dir: Path, *, source: str = "") -> ScoreResult:
    """Score raw `frame` with `name`'s champion; write `<out_dir>/<name>.parquet` (+ `.segments.parquet`)."""
    client = MlflowClient()
    champion = champion_version(name)
    version = str(champion.version)  # an int in MLflow 3.17
    model = load_pyfunc(version_uri(name, version))
    stamp = {"model_name": name, "model_version": int(version), "model_run_id": champion.run_id}
    predictions = pd.DataFrame(model.predict(frame)).assign(**stamp)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    predictions_path = out_dir / f"{name}.parquet"
    predictions.to_parquet(predictions_path, index=False)
    segments_path, segments = None, None
    if "is_anomaly" in predictions.columns:
        segments = anomaly_segments(predictions).assign(**stamp)
        segments_path = out_dir / f"{name}.segments.parquet"
        segments.to_parquet(segments_path, index=False)

    run_id = _log_scoring_run(
        client, name, version, champion.run_id, frame, source, predictions, segments, [predictions_path, segments_path]
    )
    return ScoreResult(
        name, version, champion.run_id, run_id, len(frame), predictions_path, segments_path, len(predictions)
    )


def _log_scoring_run(
    client: MlflowClient,
    name: str,
    version: str,
    model_run_id: str,
    frame: pd.DataFrame,
    source: str,
    predictions: pd.DataFrame,
    segments: pd.DataFrame | None,
    files: list[Path | None],
) -> str:
    # An explicit client run: scoring inside a flow must not end or nest into the caller's active run.
    run = client.create_run(
        ensure_experiment(SCORING_EXPERIMENT_KIND),
        run_name=f"score {name} v{version}",
        tags={
            "model.name": name,
            "model.version": version,
            "model.run_id": model_run_id,
            "model.uri": version_uri(name, version),
            "data.source": source or "in-memory frame",
            "data.sha256": hashlib.sha256(frame_to_csv_bytes(frame)).hexdigest(),
        },
    )
    run_id = run.info.run_id
    try:
        client.log_metric(run_id, "input_rows", len(frame))
        client.log_metric(run_id, "predictions", len(predictions))
        if segments is not None:
            client.log_metric(run_id, "anomalous_points", int(predictions["is_anomaly"].sum()))
            client.log_metric(run_id, "anomaly_segments", len(segments))
        for path in files:
            if path is not None:
                client.log_artifact(run_id, str(path), "predictions")
    except Exception:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id)
    return run_id
