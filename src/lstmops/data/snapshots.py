"""Immutable raw snapshots: every ingest lands as a new file named by source, series and content hash.

Layout: data/raw/<kind>/<source>/<series_slug>-<hash12>.csv with a <same stem>.meta.json sidecar.
Identical content maps to the identical name, so re-ingesting unchanged data writes nothing (and a
DVC stage stays a no-op); changed content gets a new name; nothing is ever overwritten.
Every read checks the bytes against the sha256 recorded at ingest (`verified_bytes`): a snapshot
edited or truncated since is set aside in quarantine, and ingesting the source again restores it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

RAW_DIR = "raw"
CORRUPTED_DIR = Path("quarantine") / "corrupted"  # under the data root


class SnapshotCorrupted(ValueError):
    """A raw snapshot's bytes no longer hash to the sha256 recorded when it was ingested."""

    def __init__(self, path: Path, recorded: str, actual: str, moved_to: Path | None = None):
        self.path, self.recorded, self.actual, self.moved_to = path, recorded, actual, moved_to
        where = f"; moved to {moved_to}" if moved_to else ""
        super().__init__(
            f"{path}: the snapshot changed since it was ingested (sha256 recorded {recorded[:16]}, now "
            f"{actual[:16]}){where}; ingest the source again to restore it"
        )


def series_slug(series: str) -> str:
    """A file-name-safe form of a series name: 'realKnownCause/nyc_taxi' -> 'realKnownCause__nyc_taxi'."""
    return series.replace("/", "__").replace("\\", "__").replace(" ", "_")


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in blocks (a file can be larger than memory allows)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
        if hashlib.sha256(path.read_bytes()).hexdigest() == digest:
            return path
        set_aside(path, Path(data_root))  # damaged since: keep it for inspection, write the good bytes
    tmp = path.with_suffix(".csv.tmp")
    tmp.write_bytes(body)
    sidecar = {"kind": kind, "source": source, "series": series, "sha256": digest, "rows": len(frame)}
    sidecar.update(meta or {})
    path.with_suffix(".meta.json").write_text(json.dumps(sidecar, indent=2, default=str) + "\n")
    tmp.rename(path)  # the data file appears last and whole
    return path


def read_snapshot_meta(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).with_suffix(".meta.json").read_text())


def verified_bytes(path: Path, data_root: Path) -> bytes:
    """The snapshot's bytes, checked against the sha256 of its sidecar; a mismatch sets the snapshot
    aside in quarantine and raises `SnapshotCorrupted` naming the file and both hashes."""
    path = Path(path)
    body = path.read_bytes()
    recorded, actual = read_snapshot_meta(path)["sha256"], hashlib.sha256(body).hexdigest()
    if actual != recorded:
        raise SnapshotCorrupted(path, recorded, actual, set_aside(path, Path(data_root)))
    return body


def set_aside(path: Path, data_root: Path) -> Path:
    """Move a damaged snapshot and its sidecar to quarantine/corrupted/<kind>/<source>/ (never delete)."""
    path = Path(path)
    source, kind = path.parent.name, path.parent.parent.name
    folder = data_root / CORRUPTED_DIR / kind / source
    folder.mkdir(parents=True, exist_ok=True)
    for file in (path, path.with_suffix(".meta.json")):
        if file.exists():
            os.replace(file, folder / file.name)
    return folder / path.name
