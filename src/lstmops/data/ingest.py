"""Ingest = fetch -> immutable raw snapshot -> validation gate -> validated dataset.

The same functions for every data kind (what differs is asked of its `lstmops.data.kinds.DataKind`),
shared by the CLI, the DVC stages and the Prefect flows. A batch that fails validation is quarantined
with its report (see `validation.gate`) and never reaches `data/validated/`; the raw snapshot stays
where it is.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lstmops.config import ConfigError, Params, check_series_name, shown_value
from lstmops.data import validation
from lstmops.data.kinds import DataKindName, data_kind
from lstmops.data.snapshots import (
    CORRUPTED_DIR,
    file_sha256,
    read_snapshot_meta,
    series_slug,
    verified_bytes,
    write_snapshot,
)

LATEST_SUFFIX = ".latest.json"


@dataclass
class IngestResult:
    kind: DataKindName
    source: str
    series: str
    raw_path: Path
    rows: int
    sha256: str
    validated_path: Path | None = None
    labels: list[tuple[str, str]] | None = field(default=None, repr=False)
    repairs: list[str] = field(default_factory=list)

    def summary(self) -> str:
        where = self.validated_path or self.raw_path
        line = f"{self.kind:7s} {self.series:45s} {self.rows:7d} rows  sha256:{self.sha256[:12]}  -> {where}"
        labels = f"\n        labels: {len(self.labels)} anomaly windows" if self.labels else ""
        return line + labels + "".join(f"\n        repaired: {repair}" for repair in self.repairs)

    def identity(self) -> list[str]:
        """What names this batch's content: kind, source, series and the raw snapshot's sha256."""
        return [self.kind, self.source, self.series, self.sha256]


class BatchRejected(RuntimeError):
    """One or more batches failed validation; each is quarantined. The message names them all."""

    def __init__(self, failures: list[validation.ValidationFailed]):
        self.failures = failures
        super().__init__("\n\n".join(str(f) for f in failures))


def _record_latest(raw_path: Path, series: str) -> None:
    """Point `<series>.latest.json` beside the snapshots at the newest snapshot of that series.

    The snapshots stay immutable; these small pointers are how `validate` finds the current ones.
    One file per series, replaced atomically, so parallel ingests of different series never race.
    """
    pointer = raw_path.parent / f"{series_slug(series)}{LATEST_SUFFIX}"
    tmp = pointer.with_name(f".{pointer.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps({"series": series, "snapshot": raw_path.name}) + "\n")
    os.replace(tmp, pointer)


def latest_snapshots(data_root: Path, kind: str, source: str) -> dict[str, Path]:
    folder = Path(data_root) / "raw" / kind / source
    pointers = sorted(folder.glob(f"*{LATEST_SUFFIX}"))
    if not pointers:
        raise FileNotFoundError(f"{folder}: no snapshots ingested yet for {kind}/{source}")
    latest = {}
    for pointer in pointers:
        entry = json.loads(pointer.read_text())
        latest[entry["series"]] = folder / entry["snapshot"]
    return latest


def _snapshot(frame: pd.DataFrame, *, kind: str, source: str, series: str, data_root: Path, meta: dict) -> IngestResult:
    raw_path = write_snapshot(frame, kind=kind, source=source, series=series, data_root=data_root, meta=meta)
    _record_latest(raw_path, series)
    stored = read_snapshot_meta(raw_path)
    return IngestResult(kind, source, series, raw_path, len(frame), stored["sha256"], labels=stored.get("labels"))


# ---------------------------------------------------------------- fetch + snapshot


def _check_series_name(name: str, origin: str) -> None:
    try:
        check_series_name(name)
    except ValueError as err:
        raise ConfigError(f"{origin} {shown_value(name)}: {err}") from None


def snapshot(
    kind_name: DataKindName,
    params: Params,
    *,
    source: str | None = None,
    series: Sequence[str] = (),
    csv_paths: Sequence[Path] = (),
    nab_root: Path | None = None,
    downloader: Callable | None = None,
) -> list[IngestResult]:
    """Fetch series of one data kind from `source` (default: params.yaml's) and store each as a raw snapshot.

    `series` narrows the configured series; see `DataKind.fetch` for the other arguments.
    """
    kind = data_kind(kind_name)
    source = source or kind.source(params)
    for name in series:  # `--ticker`/`--series` bypass params.yaml's check: refuse before anything is fetched
        _check_series_name(name, "--ticker" if kind.name == "prices" else "--series")
    fetched = kind.fetch(
        params, source=source, series=series, csv_paths=csv_paths, nab_root=nab_root, downloader=downloader
    )
    results = []
    for item in fetched:  # a generator: each series is written as it arrives
        _check_series_name(item.series, "series named by its file")  # a CSV or NAB file's stem names it
        results.append(
            _snapshot(
                item.frame,
                kind=kind.name,
                source=source,
                series=item.series,
                data_root=params.data.root,
                meta=item.meta,
            )
        )
    return results


def snapshot_prices(
    params: Params,
    *,
    source: str,
    tickers: Sequence[str] = (),
    csv_paths: Sequence[Path] = (),
    downloader: Callable | None = None,
) -> list[IngestResult]:
    return snapshot("prices", params, source=source, series=tickers, csv_paths=csv_paths, downloader=downloader)


def snapshot_sensors(
    params: Params,
    *,
    source: str,
    series: Sequence[str] = (),
    csv_paths: Sequence[Path] = (),
    nab_root: Path | None = None,
) -> list[IngestResult]:
    return snapshot("sensors", params, source=source, series=series, csv_paths=csv_paths, nab_root=nab_root)


# ---------------------------------------------------------------- validation gate


def validated_dir(data_root: Path, kind: str, source: str) -> Path:
    return Path(data_root) / "validated" / kind / source


def validated_on_disk(results: Sequence[IngestResult], params: Params) -> bool:
    """True when data/validated/ still holds what validating these snapshots wrote.

    A cached validation returns the earlier results but does not rewrite files, so a caller that
    caches must validate again when another snapshot has been validated since (or the files were deleted).
    """
    for result in results:
        card = validated_dir(params.data.root, result.kind, result.source) / f"{series_slug(result.series)}.json"
        if not card.exists() or json.loads(card.read_text()).get("sha256") != result.sha256:
            return False
    return True


def _expectations_passed(report: validation.ValidationReport) -> int:
    suites = [report.gx_result.get("schema"), report.gx_result.get("content")]
    return sum(suite["statistics"]["successful_expectations"] for suite in suites if suite)


def validate_snapshot(result: IngestResult, params: Params) -> IngestResult:
    """Validate one raw snapshot; on success write data/validated/<kind>/<source>/<series>.parquet.

    On failure the snapshot is quarantined with its report and `ValidationFailed` is raised.
    """
    kind = data_kind(result.kind)
    meta = read_snapshot_meta(result.raw_path)
    frame = kind.read_raw(io.BytesIO(verified_bytes(result.raw_path, params.data.root)))
    origin = meta.get("origin")
    source_file = f"{result.raw_path}" + (f" (ingested from {origin})" if origin and origin != "demo" else "")
    frame, repairs = kind.repair(frame, params)
    report = kind.validate(frame, source_file, params)
    validation.gate(report, result.raw_path, params.data.root)
    result.repairs, result.rows = repairs, len(frame)

    out_dir = validated_dir(params.data.root, result.kind, result.source)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{series_slug(result.series)}.parquet"
    frame.to_parquet(out, index=False)
    card = {
        "file_sha256": file_sha256(out),  # what `load_validated` checks before anything uses the file
        "series": result.series,
        "kind": result.kind,
        "source": result.source,
        "raw_snapshot": str(result.raw_path),
        "sha256": result.sha256,
        "rows": len(frame),
        "validation": {"success": report.success, "expectations_passed": _expectations_passed(report)},
        "repairs": repairs,
        "labels": meta.get("labels"),
    }
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    result.validated_path = out
    return result


def validate_all(results: Sequence[IngestResult], params: Params) -> list[IngestResult]:
    """Validate every batch; quarantine each failure and raise one error naming all of them."""
    passed, failures = [], []
    for result in results:
        try:
            passed.append(validate_snapshot(result, params))
        except validation.ValidationFailed as failure:
            failures.append(failure)
    if failures:
        raise BatchRejected(failures)
    return passed


def validate_latest(params: Params, kind: str, source: str) -> list[IngestResult]:
    """Validate the newest snapshot of every series ingested from `source` (the DVC `validate` stage)."""
    results = []
    for series, raw_path in latest_snapshots(params.data.root, kind, source).items():
        _check_present(raw_path, series, kind, source, Path(params.data.root))
        meta = read_snapshot_meta(raw_path)
        results.append(IngestResult(kind, source, series, raw_path, meta["rows"], meta["sha256"]))
    return validate_all(results, params)


class SnapshotMissing(ValueError):
    """The newest snapshot of a series is no longer where its `.latest.json` pointer says."""


def _check_present(raw_path: Path, series: str, kind: str, source: str, data_root: Path) -> None:
    """The pointer outlives a snapshot set aside as damaged (or deleted by hand): say which, and the way out."""
    if raw_path.exists() and raw_path.with_suffix(".meta.json").exists():
        return
    again = f"ingest it again with `lstmops ingest {kind} --source {source}`"
    quarantined = data_root / CORRUPTED_DIR / kind / source / raw_path.name
    if quarantined.exists():
        raise SnapshotMissing(
            f"{raw_path}: the newest snapshot of {series} was set aside in {quarantined} (its bytes no longer "
            f"matched the sha256 recorded at ingest), so there is nothing to validate; {again}"
        )
    missing = raw_path if not raw_path.exists() else raw_path.with_suffix(".meta.json")
    raise SnapshotMissing(f"{missing}: the newest snapshot of {series} (or its sidecar) is missing; {again}")


class ValidatedFileChanged(ValueError):
    """A validated file no longer hashes to the sha256 its card recorded when validation wrote it."""


def load_validated(path: Path) -> tuple[pd.DataFrame, dict]:
    """A validated dataset and its card (lineage: raw snapshot, sha256, validation result, labels).

    The file is checked against its card's `file_sha256` first: an edit after validation (which could
    break a rule validation enforced) is refused (ValidatedFileChanged). Cards written before the
    check existed have no `file_sha256` and are read as they are.
    """
    path = Path(path)
    card = json.loads(path.with_suffix(".json").read_text())
    recorded = card.get("file_sha256")
    if recorded is not None and (actual := file_sha256(path)) != recorded:
        raise ValidatedFileChanged(
            f"{path}: changed since validation wrote it (sha256 recorded {recorded[:16]}, now {actual[:16]}), "
            f"so its rows are no longer known to pass validation; validate again with `lstmops validate {card['kind']}` "
            f"(or `lstmops ingest {card['kind']}` for new data)"
        )
    return pd.read_parquet(path), card


__all__ = [
    "IngestResult",
    "BatchRejected",
    "snapshot",
    "snapshot_prices",
    "snapshot_sensors",
    "validate_snapshot",
    "validate_all",
    "validate_latest",
    "validated_on_disk",
    "latest_snapshots",
    "load_validated",
    "ValidatedFileChanged",
    "SnapshotMissing",
    "validated_dir",
]
