"""Ingest = fetch -> immutable raw snapshot -> validation gate -> validated dataset.

One function per data kind, shared by the CLI, the DVC stages and the Prefect flows. A batch that
fails validation is quarantined with its report (see `validation.gate`) and never reaches
`data/validated/`; the raw snapshot stays where it is.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from lstmops.config import Params
from lstmops.data import demo_prices, demo_sensors, prices, sensors, validation
from lstmops.data.snapshots import read_snapshot_meta, series_slug, write_snapshot

LATEST_SUFFIX = ".latest.json"


@dataclass
class IngestResult:
    kind: str
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

def snapshot_prices(
    params: Params,
    *,
    source: str,
    tickers: Sequence[str] = (),
    csv_paths: Sequence[Path] = (),
    downloader: Callable | None = None,
) -> list[IngestResult]:
    p, root = params.prices, params.data.root
    results = []
    if source == "csv":
        if not csv_paths:
            raise ValueError("--source csv needs at least one --path FILE")
        for path in map(Path, csv_paths):
            frame = prices.read_yahoo_csv(path)
            results.append(_snapshot(frame, kind="prices", source="csv", series=path.stem, data_root=root,
                                     meta={"origin": str(path)}))
    elif source == "yahoo":
        for ticker in tickers or p.tickers:
            frame = prices.download_yahoo(ticker, p.start, p.end, downloader=downloader,
                                          retries=p.yahoo.retries, backoff_seconds=p.yahoo.backoff_seconds)
            results.append(_snapshot(frame, kind="prices", source="yahoo", series=ticker, data_root=root,
                                     meta={"origin": "yfinance", "start": p.start, "end": p.end}))
    elif source == "demo":
        for ticker in tickers or p.tickers:
            frame = demo_prices.demo_prices(ticker, n_days=p.demo.n_days, start=p.start, seed=p.demo.seed,
                                            momentum=p.demo.momentum)
            results.append(_snapshot(frame, kind="prices", source="demo", series=ticker, data_root=root,
                                     meta={"origin": "demo", **p.demo.model_dump()}))
    else:
        raise ValueError(f"unknown price source {source!r}: use yahoo, csv or demo")
    return results


def snapshot_sensors(
    params: Params,
    *,
    source: str,
    series: Sequence[str] = (),
    csv_paths: Sequence[Path] = (),
    nab_root: Path | None = None,
) -> list[IngestResult]:
    s, root = params.sensors, params.data.root
    loaded: list[tuple[sensors.SensorSeries, dict]] = []
    if source == "csv":
        if not csv_paths:
            raise ValueError("--source csv needs at least one --path FILE")
        loaded = [(sensors.read_sensor_csv(Path(p)), {"origin": str(p)}) for p in csv_paths]
    elif source == "nab":
        if nab_root is None:
            raise ValueError("--source nab needs --root DIR (a folder in NAB's layout)")
        loaded = [(sensors.read_nab(Path(nab_root), name), {"origin": str(nab_root)}) for name in series or s.series]
    elif source == "demo":
        for name in series or s.series:
            generated = demo_sensors.demo_sensor(name, n_points=s.demo.n_points, freq=s.demo.freq, seed=s.demo.seed)
            loaded.append((generated, {"origin": "demo", **s.demo.model_dump()}))
    else:
        raise ValueError(f"unknown sensor source {source!r}: use csv, nab or demo")
    results = []
    for item, meta in loaded:
        if item.windows is not None:
            meta["labels"] = [[str(a), str(b)] for a, b in item.windows]
        results.append(_snapshot(item.frame, kind="sensors", source=source, series=item.name, data_root=root, meta=meta))
    return results


# ---------------------------------------------------------------- validation gate

def _read_raw(raw_path: Path, kind: str) -> pd.DataFrame:
    time_column = "date" if kind == "prices" else "timestamp"
    return pd.read_csv(raw_path, parse_dates=[time_column])


def _validate_frame(frame: pd.DataFrame, kind: str, source_file: str, params: Params) -> validation.ValidationReport:
    if kind == "prices":
        return validation.validate_prices(
            frame, source_file=source_file, max_gap_business_days=params.prices.validation.max_gap_business_days)
    v = params.sensors.validation
    return validation.validate_sensors(
        frame, source_file=source_file, interval_tolerance=v.interval_tolerance, max_null_fraction=v.max_null_fraction)


def validated_dir(data_root: Path, kind: str, source: str) -> Path:
    return Path(data_root) / "validated" / kind / source


def _expectations_passed(report: validation.ValidationReport) -> int:
    suites = [report.gx_result.get("schema"), report.gx_result.get("content")]
    return sum(suite["statistics"]["successful_expectations"] for suite in suites if suite)


def validate_snapshot(result: IngestResult, params: Params) -> IngestResult:
    """Validate one raw snapshot; on success write data/validated/<kind>/<source>/<series>.parquet.

    On failure the snapshot is quarantined with its report and `ValidationFailed` is raised.
    """
    meta = read_snapshot_meta(result.raw_path)
    frame = _read_raw(result.raw_path, result.kind)
    origin = meta.get("origin")
    source_file = f"{result.raw_path}" + (f" (ingested from {origin})" if origin and origin != "demo" else "")
    repairs = []
    if result.kind == "sensors" and params.sensors.duplicate_timestamps == "mean":
        frame, merged = sensors.merge_duplicate_timestamps(frame)
        if merged:
            repairs.append(f"merged {merged} rows with repeated timestamps by mean and sorted by time "
                           "(sensors.duplicate_timestamps: mean)")
    report = _validate_frame(frame, result.kind, source_file, params)
    validation.gate(report, result.raw_path, params.data.root)
    result.repairs, result.rows = repairs, len(frame)

    out_dir = validated_dir(params.data.root, result.kind, result.source)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{series_slug(result.series)}.parquet"
    frame.to_parquet(out, index=False)
    card = {
        "series": result.series, "kind": result.kind, "source": result.source,
        "raw_snapshot": str(result.raw_path), "sha256": result.sha256, "rows": len(frame),
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
        meta = read_snapshot_meta(raw_path)
        results.append(IngestResult(kind, source, series, raw_path, meta["rows"], meta["sha256"]))
    return validate_all(results, params)


def load_validated(path: Path) -> tuple[pd.DataFrame, dict]:
    """A validated dataset and its card (lineage: raw snapshot, sha256, validation result, labels)."""
    path = Path(path)
    return pd.read_parquet(path), json.loads(path.with_suffix(".json").read_text())


__all__ = [
    "IngestResult", "BatchRejected", "snapshot_prices", "snapshot_sensors", "validate_snapshot",
    "validate_all", "validate_latest", "latest_snapshots", "load_validated", "validated_dir",
]
