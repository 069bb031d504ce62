"""The sensors kind's validation rules: a regularly sampled `timestamp, value` series."""

from __future__ import annotations

from pathlib import Path

import great_expectations.expectations as gxe
import numpy as np
import pandas as pd

from lstmops.data.sensors import SENSOR_COLUMNS
from lstmops.data.validation import (
    DATETIME_TYPES,
    LARGEST_FLOAT,
    NUMBER_TYPES,
    MinRows,
    Rule,
    ValidationReport,
    validate_frame,
)

COLUMN_TYPES = {column: DATETIME_TYPES if column == "timestamp" else NUMBER_TYPES for column in SENSOR_COLUMNS}


def validate_sensors(
    frame: pd.DataFrame,
    *,
    source_file: str | Path,
    interval_tolerance: float = 0.1,
    max_null_fraction: float = 0.01,
    max_gap_intervals: int | None = None,
    min_rows: MinRows | None = None,
) -> ValidationReport:
    """Validate a canonical sensor frame (timestamp, value).

    Sampling is regular when every interval is a whole multiple k >= 1 of the median interval, within
    `interval_tolerance` of that median: a missing sample makes one interval of 2x, which is a gap,
    not irregular sampling (real NAB series have such gaps). `max_gap_intervals`, when given, caps k.
    """

    def content(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[Rule]]:
        rows, median_interval = with_interval_ratios(rows)
        return rows, content_rules(median_interval, interval_tolerance, max_null_fraction, max_gap_intervals)

    return validate_frame(
        "sensors", frame, source_file=source_file, columns=COLUMN_TYPES, min_rows=min_rows, content=content
    )


def content_rules(
    median_interval: pd.Timedelta | None,
    interval_tolerance: float,
    max_null_fraction: float,
    max_gap_intervals: int | None,
) -> list[Rule]:
    rules = [
        # The time axis must be complete, unique and strictly ordered.
        Rule(
            "timestamp_not_null",
            "timestamp is not null",
            gxe.ExpectColumnValuesToNotBeNull(column="timestamp"),
        ),
        Rule(
            "timestamp_unique",
            "timestamps are unique",
            gxe.ExpectColumnValuesToBeUnique(column="timestamp"),
        ),
        Rule(
            "timestamp_increasing",
            "timestamps strictly increase",
            gxe.ExpectColumnValuesToBeIncreasing(column="timestamp", strictly=True),
        ),
        # Each interval is k >= 1 median intervals, +- tolerance: gaps allowed, jitter and shifts not.
        Rule(
            "interval_regular",
            f"each interval is a whole multiple of the median interval {median_interval}"
            f" within +-{interval_tolerance:g} of it",
            gxe.ExpectColumnValuesToBeBetween(column="interval_offgrid", min_value=0, max_value=interval_tolerance),
            shows=("interval_ratio",),
        ),
        # inf breaks scaling and losses; NaN is counted by the null-fraction rule instead.
        Rule(
            "value_finite",
            "value is finite",
            gxe.ExpectColumnValuesToBeBetween(column="value", min_value=-LARGEST_FLOAT, max_value=LARGEST_FLOAT),
            shows=("value",),
        ),
        # A few missing readings can be imputed; many mean a broken sensor or export.
        Rule(
            "value_null_fraction",
            f"at most {max_null_fraction:.2%} of values are null",
            gxe.ExpectColumnValuesToNotBeNull(column="value", mostly=1.0 - max_null_fraction),
            shows=("value",),
        ),
    ]
    if max_gap_intervals is not None:
        # Optional cap on holes: a window spanning a week-long outage is not a real sequence.
        rules.append(
            Rule(
                "interval_gap",
                f"no interval longer than {max_gap_intervals} median intervals",
                gxe.ExpectColumnValuesToBeBetween(
                    column="interval_ratio", max_value=max_gap_intervals + interval_tolerance
                ),
                shows=("interval_ratio",),
            )
        )
    return rules


def with_interval_ratios(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Timedelta | None]:
    """Add `interval_ratio` (interval / median interval) and `interval_offgrid` (distance to k >= 1).

    Only forward steps get a ratio: duplicates and backward steps are the ordering rules' business.
    """
    intervals = frame["timestamp"].diff()
    forward = intervals.where(intervals > pd.Timedelta(0))
    median = forward.median()
    if pd.isna(median):
        return frame.assign(interval_ratio=np.nan, interval_offgrid=np.nan), None
    ratio = forward / median
    offgrid = (ratio - np.maximum(ratio.round(), 1)).abs()
    return frame.assign(interval_ratio=ratio, interval_offgrid=offgrid), median
