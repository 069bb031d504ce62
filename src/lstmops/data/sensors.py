"""Sensor series: read `timestamp,value` CSVs and NAB-layout folders, and carry their anomaly labels.

A NAB folder holds `data/<group>/<name>.csv` and `labels/combined_windows.json`, whose keys are
"<group>/<name>.csv" and whose values are lists of [start, end] timestamp strings. Readers return
the rows as found (no sorting, no de-duplication, NaN values kept) so that validation sees every
problem; only input that cannot be read at all raises `IngestError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lstmops.data.prices import IngestError

SENSOR_COLUMNS = ("timestamp", "value")  # a canonical sensor frame, in this order

Window = tuple[pd.Timestamp, pd.Timestamp]

NAB_LABELS_FILE = Path("labels") / "combined_windows.json"
NAB_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
TIMESTAMP_DTYPE = "datetime64[ns]"
_SHOWN_BAD_ROWS = 5


# eq=False: the generated __eq__/__hash__ would compare DataFrames, which has no truth value.
@dataclass(frozen=True, eq=False)
class SensorSeries:
    """One sensor signal in the canonical frame, with its labelled anomaly windows.

    `windows` is None when labels are unknown and [] when the series is known to be clean.
    """

    name: str
    frame: pd.DataFrame
    windows: list[Window] | None


def _describe_rows(frame: pd.DataFrame, bad: pd.Series, column: str) -> str:
    """'lines 3, 7 (2 rows): 'x', 'y'' with file line numbers (line 1 is the header)."""
    rows = frame.index[bad.to_numpy()]
    shown = rows[:_SHOWN_BAD_ROWS]
    lines = ", ".join(str(row + 2) for row in shown)
    values = ", ".join(repr(frame.at[row, column]) for row in shown)
    more = ", ..." if len(rows) > len(shown) else ""
    return f"lines {lines}{more} ({len(rows)} rows): {values}{more}"


def read_sensor_csv(path: Path | str, name: str | None = None) -> SensorSeries:
    """Read a `timestamp,value` CSV; the series name defaults to the file stem.

    Timestamps are ISO 8601 ("2024-01-01 00:05:00"); those with a UTC offset are converted to UTC
    and made tz-naive. Empty values become NaN; values that are present but not numbers, and
    timestamps that are missing or unparseable, raise `IngestError` naming the file lines.
    """
    path = Path(path)
    try:
        # Blank lines kept as rows so that reported line numbers match the file.
        raw = pd.read_csv(path, dtype=str, skip_blank_lines=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise IngestError(f"{path}: cannot read as CSV: {err}") from err
    missing = [column for column in ("timestamp", "value") if column not in raw.columns]
    if missing:
        raise IngestError(f"{path}: missing column(s) {missing}; found {list(raw.columns)}")
    raw = _drop_trailing_blank_rows(raw[["timestamp", "value"]])
    if raw.empty:
        raise IngestError(f"{path}: no data rows")

    # ISO 8601 per row: an inferred format would follow the first row and reject valid later ones.
    timestamps = pd.to_datetime(raw["timestamp"], errors="coerce", utc=True, format="ISO8601")
    bad_time = timestamps.isna()
    if bad_time.any():
        raise IngestError(
            f"{path}: missing or unparseable (not ISO 8601) timestamp on {_describe_rows(raw, bad_time, 'timestamp')}"
        )
    values = pd.to_numeric(raw["value"], errors="coerce")
    bad_value = values.isna() & raw["value"].notna()
    if bad_value.any():
        raise IngestError(f"{path}: non-numeric value on {_describe_rows(raw, bad_value, 'value')}")

    frame = pd.DataFrame(
        {
            "timestamp": timestamps.dt.tz_convert(None).astype(TIMESTAMP_DTYPE),
            "value": values.astype("float64"),
        }
    )
    return SensorSeries(name=name if name is not None else path.stem, frame=frame, windows=None)


def _drop_trailing_blank_rows(raw: pd.DataFrame) -> pd.DataFrame:
    """Editors often leave empty lines at the end of a file; those are not data."""
    filled = raw.notna().any(axis=1).to_numpy()
    last_filled = np.flatnonzero(filled)
    return raw.iloc[: last_filled[-1] + 1] if len(last_filled) else raw.iloc[:0]


def nab_series_key(series: str) -> str:
    """NAB's label key for a series: 'realKnownCause/nyc_taxi' -> 'realKnownCause/nyc_taxi.csv'."""
    series = series.replace("\\", "/").strip("/")
    return series if series.endswith(".csv") else f"{series}.csv"


def read_nab(root: Path | str, series: str) -> SensorSeries:
    """Read one series of a NAB-layout folder, e.g. `read_nab(root, "realKnownCause/nyc_taxi")`.

    The series is named "<group>/<name>"; its windows come from labels/combined_windows.json
    (None when the labels file or the series' entry is absent).
    """
    root = check_nab_root(root)
    key = nab_series_key(series)
    group, _, file_name = key.rpartition("/")
    if not group or "/" in group:
        raise IngestError(f"{root}: NAB series must look like '<group>/<name>', got {series!r}")
    csv_path = root / "data" / group / file_name
    if not csv_path.is_file():
        raise IngestError(f"{root}: unknown NAB series {series!r}; {_available_series(root, group)}")
    loaded = read_sensor_csv(csv_path, name=key.removesuffix(".csv"))
    windows = _read_nab_windows(root / NAB_LABELS_FILE, key)
    return SensorSeries(name=loaded.name, frame=loaded.frame, windows=windows)


def check_nab_root(root: Path | str) -> Path:
    """`root` if it is a folder in NAB's layout; else an `IngestError` saying the folder is missing or
    not NAB's (rather than an unknown group among the empty list of groups such a folder has)."""
    root = Path(root)
    layout = "NAB's layout: data/<group>/*.csv and labels/combined_windows.json, from github.com/numenta/NAB"
    if not root.is_dir():
        raise IngestError(f"{root}: NAB folder not found (expected {layout})")
    if not (root / "data").is_dir():
        raise IngestError(f"{root}: not a NAB folder, it has no data/ folder (expected {layout})")
    return root


def _available_series(root: Path, group: str) -> str:
    group_dir = root / "data" / group
    if group_dir.is_dir():
        names = sorted(f"{group}/{path.stem}" for path in group_dir.glob("*.csv"))
        return f"available in group {group!r}: {names}"
    groups = sorted(path.name for path in (root / "data").glob("*") if path.is_dir())
    return f"no group {group!r}; available groups: {groups}"


def _read_nab_windows(labels_path: Path, key: str) -> list[Window] | None:
    if not labels_path.is_file():
        return None
    try:
        labels = json.loads(labels_path.read_text())
    except json.JSONDecodeError as err:
        raise IngestError(f"{labels_path}: not valid JSON: {err}") from err
    if key not in labels:
        return None
    try:
        windows = [(pd.Timestamp(start), pd.Timestamp(end)) for start, end in labels[key]]
    except (TypeError, ValueError) as err:
        raise IngestError(f"{labels_path}: entry {key!r} is not a list of [start, end] timestamps: {err}") from err
    backwards = [window for window in windows if window[0] > window[1]]
    if backwards:
        raise IngestError(f"{labels_path}: entry {key!r} has windows ending before they start: {backwards}")
    return windows


def windows_to_nab_labels(series_key: str, windows: Iterable[Window]) -> dict[str, list[list[str]]]:
    """One entry of NAB's combined_windows.json: {"<group>/<name>.csv": [[start, end], ...]}."""
    return {
        nab_series_key(series_key): [
            [pd.Timestamp(start).strftime(NAB_TIME_FORMAT), pd.Timestamp(end).strftime(NAB_TIME_FORMAT)]
            for start, end in windows
        ]
    }


def write_nab_labels(path: Path | str, labels: dict[str, list[list[str]]]) -> Path:
    """Write labels (merged entries of `windows_to_nab_labels`) as a combined_windows.json file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(labels, indent=4, sort_keys=True) + "\n")
    return path


def windows_to_point_labels(
    timestamps: Sequence | pd.Series | pd.DatetimeIndex, windows: Iterable[Window]
) -> np.ndarray:
    """A boolean per timestamp: True where it falls inside any window, both ends included."""
    times = np.asarray(pd.to_datetime(timestamps), dtype=TIMESTAMP_DTYPE)
    inside = np.zeros(len(times), dtype=bool)
    for start, end in windows:
        inside |= (times >= pd.Timestamp(start).to_datetime64()) & (times <= pd.Timestamp(end).to_datetime64())
    return inside


def merge_duplicate_timestamps(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Average the values of repeated timestamps and sort by time; returns (frame, rows merged away).

    Real recordings repeat stretches (NAB's machine_temperature_system_failure repeats an hour of
    2014-01-07). Averaging is what Orion's mean-aggregation would do to them anyway. The raw
    snapshot keeps the original rows; callers record the repair in the dataset's lineage.
    """
    merged = frame.groupby("timestamp", as_index=False, sort=True)["value"].mean()
    return merged, len(frame) - len(merged)
