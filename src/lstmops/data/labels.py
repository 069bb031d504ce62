"""A user's own anomaly labels for a sensor series: a CSV of `start,end[,anomaly]` windows kept in
data/labels/<kind>/<source>/<series>.csv, beside (not inside) the validated data, which DVC stages
rewrite; version it with the data (`dvc add data/labels`).

Each line is one inclusive window of timestamps; `anomaly` is `true` (the default when the column is
absent: a labelled anomaly) or `false` (a segment reviewed and found normal, e.g. a detection rejected
with `lstmops label NAME --start ... --end ... --not-anomaly`). Windows must lie inside the series'
time range, start no later than they end, and not overlap one another; a file breaking a rule is
refused with its line number.

When a series has a labels file its labels are known: the dataset card's windows (from the source, if
any) plus the file's anomalies, less any source window a `false` window overlaps. `prepare_series`
applies them, so training, the evaluation and the gate see them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lstmops.data.sensors import Window
from lstmops.data.snapshots import series_slug

HEADER = ["start", "end", "anomaly"]


class LabelsError(ValueError):
    """A labels file or a new label breaks a rule; the message names the file and line."""


@dataclass(frozen=True)
class Label:
    start: pd.Timestamp
    end: pd.Timestamp
    anomaly: bool
    line: int  # in its file (the header is line 1); 0 for a label not yet written


def labels_path(data_root: Path, kind: str, source: str, series: str) -> Path:
    return Path(data_root) / "labels" / kind / source / f"{series_slug(series)}.csv"


def timestamp(text: str, where: str) -> pd.Timestamp:
    try:
        value = pd.Timestamp(text.strip())
    except (ValueError, TypeError) as err:
        raise LabelsError(f"{where}: {text.strip()!r} is not a timestamp") from err
    if value is pd.NaT:
        raise LabelsError(f"{where}: an empty timestamp")
    return value.tz_localize(None) if value.tzinfo else value


def _flag(text: str, where: str) -> bool:
    word = text.strip().lower()
    if word in ("", "true", "1", "yes"):
        return True
    if word in ("false", "0", "no"):
        return False
    raise LabelsError(f"{where}: anomaly must be true or false, got {text.strip()!r}")


def check(labels: list[Label], first: pd.Timestamp, last: pd.Timestamp, where: str) -> None:
    """LabelsError on the first label reversed, outside [first, last] or overlapping an earlier one."""
    for label in labels:
        at = f"{where} line {label.line}" if label.line else where
        if label.end < label.start:
            raise LabelsError(f"{at}: the window ends ({label.end}) before it starts ({label.start})")
        if label.start < first or label.end > last:
            raise LabelsError(
                f"{at}: the window {label.start} .. {label.end} is outside the series' time range {first} .. {last}"
            )
    ordered = sorted(labels, key=lambda label: (label.start, label.end))
    for before, after in zip(ordered, ordered[1:]):
        if after.start <= before.end:
            later = max(before, after, key=lambda label: label.line or float("inf"))
            other = before if later is after else after
            at = f"{where} line {later.line}" if later.line else where
            with_what = f"line {other.line}" if other.line else "a new label"
            raise LabelsError(
                f"{at}: the window {later.start} .. {later.end} overlaps {with_what} ({other.start} .. {other.end})"
            )


def read_labels(path: Path, first: pd.Timestamp, last: pd.Timestamp) -> list[Label]:
    """The file's labels, checked against the series' time range [first, last] and each other."""
    path = Path(path)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    if not rows or [cell.strip().lower() for cell in rows[0]][:2] != ["start", "end"]:
        raise LabelsError(f"{path} line 1: the header must be start,end (or start,end,anomaly)")
    labels = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path} line {number}"
        if len(row) < 2 or len(row) > 3:
            raise LabelsError(f"{where}: expected start,end[,anomaly], got {len(row)} fields")
        anomaly = _flag(row[2], where) if len(row) == 3 else True
        labels.append(Label(timestamp(row[0], where), timestamp(row[1], where), anomaly, number))
    check(labels, first, last, str(path))
    return labels


def add_label(path: Path, label: Label, first: pd.Timestamp, last: pd.Timestamp) -> list[Label]:
    """Append `label` to the file (created with its header), after checking it with the file's labels."""
    path = Path(path)
    existing = read_labels(path, first, last) if path.exists() else []
    check([*existing, label], first, last, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(",".join(HEADER) + "\n")
    text = path.read_text()
    with path.open("a") as file:
        if text and not text.endswith("\n"):
            file.write("\n")
        file.write(f"{label.start.isoformat()},{label.end.isoformat()},{str(label.anomaly).lower()}\n")
    return [*existing, label]


def merged_windows(source: list[Window] | None, labels: list[Label]) -> list[Window]:
    """The source's windows less those a `false` label overlaps, plus the labelled anomalies, sorted."""
    normal = [(label.start, label.end) for label in labels if not label.anomaly]
    kept = [(a, b) for a, b in source or [] if not any(a <= end and start <= b for start, end in normal)]
    return sorted(kept + [(label.start, label.end) for label in labels if label.anomaly])
