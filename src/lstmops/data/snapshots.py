"""Immutable raw snapshots: every ingest lands as a new file named by source, series and content hash.

Layout: data/raw/<kind>/<source>/<series_slug>-<hash12>.csv with a <same stem>.meta.json sidecar.
Identical content maps to the identical name, so re-ingesting unchanged data writes nothing (and a
DVC stage stays a no-op); changed content gets a new name; nothing is ever overwritten.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

RAW_DIR = "raw"


def series_slug(series: str) -> str:
    """A file-name-safe form of a series name: 'realKnownCause/nyc_taxi' -> 'realKnownCause__nyc_taxi'."""
    return series.replace("/", "__").replace("\\", "__").replace(" ", "_")


def frame_to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """The canonical byte form of a frame: what is hashed and what is written."""
    return frame.to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S").encode()


def content_hash(frame: pd.DataFrame) -> str:
    """sha256 of the canonical CSV bytes: the data fingerprint used in names and lineage tags."""
    return hashlib.sha256(frame_to_csv_bytes(frame)).hexdigest()


def write_snapshot(
    frame: pd.DataFrame,
    *,
    kind: str,
    source: str,
    series: str,
    data_root: Path,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write `frame` as a new raw snapshot and return its path; an existing identical one is reused."""
    body = frame_to_csv_bytes(frame)
    digest = hashlib.sha256(body).hexdigest()
    folder = Path(data_root) / RAW_DIR / kind / source
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{series_slug(series)}-{digest[:12]}.csv"
    if path.exists():
        return path
    tmp = path.with_suffix(".csv.tmp")
    tmp.write_bytes(body)
    sidecar = {"kind": kind, "source": source, "series": series, "sha256": digest, "rows": len(frame)}
    sidecar.update(meta or {})
    path.with_suffix(".meta.json").write_text(json.dumps(sidecar, indent=2, default=str) + "\n")
    tmp.rename(path)  # the data file appears last and whole
    return path


def read_snapshot_meta(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).with_suffix(".meta.json").read_text())
