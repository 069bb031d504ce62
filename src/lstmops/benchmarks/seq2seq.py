"""Benchmark the seq2seq forecaster on one `timestamp,value` CSV against seasonal naive and persistence.

The same path as the pipeline, without a data folder: read, validate (the GX gate's rules), split
chronologically, MinMax on the train part, train with early stopping on the val part, score on the
test part. The val part's scores are reported too: settings are chosen there, never on test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lstmops.config import Params
from lstmops.data.prepare import PreparedSeries, prepare_frame
from lstmops.data.sensors import merge_duplicate_timestamps, read_sensor_csv
from lstmops.data.validation import validate_sensors
from lstmops.tasks.seq2seq.evaluate import evaluate_seq2seq, forecast_metrics, holdout_forecasts
from lstmops.tasks.seq2seq.train import train_seq2seq

SUMMARY_METRICS = (
    "mae",
    "rmse",
    "mae_seasonal",
    "mae_persistence",
    "rel_mae_seasonal",
    "rel_mae_persistence",
)


class BenchmarkInputError(ValueError):
    """The benchmark CSV failed validation; the message names the file, the rules and the rows."""


def prepare_csv(csv: Path, params: Params, window: int) -> PreparedSeries:
    """Read and validate a sensor CSV and prepare it as `prepare.prepare_series` does, in memory."""
    frame = read_sensor_csv(csv).frame
    if params.sensors.duplicate_timestamps == "mean":
        frame, _ = merge_duplicate_timestamps(frame)
    v = params.sensors.validation
    report = validate_sensors(
        frame, source_file=csv, interval_tolerance=v.interval_tolerance, max_null_fraction=v.max_null_fraction
    )
    if not report.success:
        raise BenchmarkInputError(report.message())
    sensors = params.windows.sensors.model_copy(update={"window": window})
    params = params.model_copy(update={"windows": params.windows.model_copy(update={"sensors": sensors})})
    card = {"series": csv.stem, "kind": "sensors", "source": "csv", "origin": str(csv), "rows": len(frame)}
    return prepare_frame(frame, card, params, csv.parent)


def benchmark_seq2seq(
    csv: Path,
    season: int,
    horizon: int,
    params: Params,
    out: Path,
    *,
    calendar: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Train and score on `csv`; write the result JSON to `out` and the figures beside it.

    The window, units, attention and training settings come from `params`; `season` and `horizon`
    override params.models.seq2seq's. Returns what it writes: test metrics (rel_mae_seasonal, mae,
    mae_per_step, ...), the val part's metrics under "val", the settings used and the seconds taken.
    """
    started = time.perf_counter()
    csv, out = Path(csv), Path(out)
    model = params.models.seq2seq.model_copy(update={"season": season, "horizon": horizon})
    params = params.model_copy(update={"models": params.models.model_copy(update={"seq2seq": model})})
    params = params.for_task("seq2seq")
    prepared = prepare_csv(csv, params, model.window)

    calendar = params.models.seq2seq.calendar if calendar is None else calendar
    trained = train_seq2seq(prepared, params, calendar=calendar)
    train_seconds = time.perf_counter() - started
    evaluation = evaluate_seq2seq(trained, prepared, params)
    train_values = prepared.features["value"].to_numpy(dtype="float64")[prepared.split.train]
    val_forecasts = holdout_forecasts(trained, prepared.features, prepared.split.val, season)
    val = forecast_metrics(val_forecasts, train_values, season)

    test = evaluation.metrics
    result: dict[str, Any] = {
        **{name: test[name] for name in SUMMARY_METRICS},
        "mase": test.get("mase"),
        "mae_per_step": [test[f"mae_step_{step}"] for step in range(1, horizon + 1)],
        "n_test_origins": int(test["n_origins"]),
        "beats_seasonal_naive": evaluation.beats_baseline(),
        "val": {name: val[name] for name in SUMMARY_METRICS},
        "csv": str(csv),
        "rows": len(prepared.features),
        "split_rows": {
            name: [part.start, part.stop]
            for name, part in zip(
                ("train", "val", "test"), (prepared.split.train, prepared.split.val, prepared.split.test)
            )
        },
        "settings": {**model.model_dump(), "calendar": list(calendar), **params.train.model_dump()},
        "epochs_run": len(trained.history["loss"]),
        "device": trained.device,
        "train_seconds": train_seconds,
        "seconds": time.perf_counter() - started,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, figure in evaluation.figures.items():
        figure.savefig(out.with_name(f"{out.stem}_{name}"))
    return result
