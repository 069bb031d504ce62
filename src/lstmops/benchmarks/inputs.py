"""A benchmark's input file, read, validated by the GX gate's rules and prepared in memory as
`prepare.prepare_series` prepares a snapshot: the benchmarks run the pipeline's path without a data folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lstmops.config import Params
from lstmops.data.kinds.price_rules import validate_prices
from lstmops.data.kinds.sensor_rules import validate_sensors
from lstmops.data.prepare import PreparedSeries, prepare_frame
from lstmops.data.prices import read_yahoo_csv
from lstmops.data.sensors import merge_duplicate_timestamps, read_sensor_csv
from lstmops.data.snapshots import content_hash


class BenchmarkInputError(ValueError):
    """A benchmark CSV failed validation; the message names the file, the rules and the rows."""


def prepare_price_csv(csv: Path, params: Params) -> PreparedSeries:
    """A Yahoo-layout CSV, validated and prepared."""
    frame = read_yahoo_csv(csv)
    report = validate_prices(
        frame, source_file=csv, max_gap_business_days=params.prices.validation.max_gap_business_days
    )
    if not report.success:
        raise BenchmarkInputError(report.message())
    card = {
        "series": csv.stem,
        "kind": "prices",
        "source": "csv",
        "origin": str(csv),
        "sha256": content_hash(frame),
        "rows": len(frame),
    }
    return prepare_frame(frame, card, params, csv.parent)


def prepare_sensor_csv(csv: Path, params: Params, window: int) -> PreparedSeries:
    """A `timestamp,value` CSV, validated and prepared for models reading `window` rows at a time."""
    sensors = params.windows.sensors.model_copy(update={"window": window})
    params = params.model_copy(update={"windows": params.windows.model_copy(update={"sensors": sensors})})
    frame = read_sensor_csv(csv).frame
    card = {"series": csv.stem, "kind": "sensors", "source": "csv", "origin": str(csv)}
    return prepare_sensor_frame(frame, card, params, csv.parent, source_file=csv)


def prepare_sensor_frame(
    frame: pd.DataFrame, card: dict, params: Params, folder: Path, *, source_file: str | Path
) -> PreparedSeries:
    """A canonical sensor frame as the ingest takes it: repeated timestamps merged (with
    `sensors.duplicate_timestamps: mean`), validated by the sensors kind's rules with params.yaml's
    settings, then prepared. `card` names the series (and may carry its labels)."""
    if params.sensors.duplicate_timestamps == "mean":
        frame, _ = merge_duplicate_timestamps(frame)
    v = params.sensors.validation
    report = validate_sensors(
        frame,
        source_file=source_file,
        interval_tolerance=v.interval_tolerance,
        max_null_fraction=v.max_null_fraction,
        max_gap_intervals=v.max_gap_intervals,
    )
    if not report.success:
        raise BenchmarkInputError(report.message())
    return prepare_frame(frame, {**card, "rows": len(frame)}, params, folder)
