"""Validated dataset -> model-ready features: engineered columns, chronological split, train-only scaler.

Written to data/features/<kind>/<source>/<series>/ as features.parquet, split.json and scaler.json
(plus card.json with lineage), so training, scoring and DVC all reuse the same preparation. Windows
are not materialised here: `windows.supervised_windows` builds them as views at training time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lstmops.config import Params
from lstmops.data.ingest import IngestResult, load_validated, validated_dir
from lstmops.data.kinds import DataKindName, data_kind
from lstmops.data.scaling import MinMaxScaler, StandardScaler
from lstmops.data.snapshots import file_sha256, series_slug
from lstmops.data.windows import SplitIndex, chronological_split, supervised_windows


@dataclass
class PreparedSeries:
    kind: DataKindName
    series: str
    folder: Path
    features: pd.DataFrame
    columns: list[str]  # model input columns, in order
    target: str
    split: SplitIndex
    scaler: StandardScaler | MinMaxScaler
    window: int
    card: dict

    def part_times(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """(last time a model trained on this split saw, first time of the test part): training, early
        stopping, thresholds and calibration read every row before the test part."""
        times = self.features[data_kind(self.kind).time_column]
        return pd.Timestamp(times.iloc[self.split.test.start - 1]), pd.Timestamp(times.iloc[self.split.test.start])

    def scaled_inputs(self) -> np.ndarray:
        return self.scaler.transform(self.features[self.columns].to_numpy())

    def window_counts(self) -> dict[str, int]:
        inputs = self.scaled_inputs()
        target = self.features[self.target].to_numpy()
        counts = {}
        for name in ("train", "val", "test"):
            part = getattr(self.split, name)
            try:
                counts[name] = len(supervised_windows(inputs, target, self.window, split=part).X)
            except ValueError:  # a part too short for one window (e.g. an empty val split)
                counts[name] = 0
        return counts

    def summary(self) -> str:
        """Rows per part: the windows depend on the model task (seq2seq has its own window), the rows do not."""
        parts = ", ".join(f"{name} {stop - start}" for name, (start, stop) in self.split.to_dict().items())
        return f"{self.kind:7s} {self.series:45s} rows: {parts}  -> {self.folder}"


def features_dir(data_root: Path, kind: str, source: str, series: str) -> Path:
    return Path(data_root) / "features" / kind / source / series_slug(series)


def features_on_disk(result: IngestResult, params: Params) -> bool:
    """True when data/features/ still holds the features prepared from this snapshot.

    A cached preparation returns the earlier result but does not rewrite files (see `ingest.validated_on_disk`).
    """
    folder = features_dir(params.data.root, result.kind, result.source, result.series)
    card = folder / "card.json"
    return (
        (folder / "features.parquet").exists()
        and card.exists()
        and json.loads(card.read_text()).get("sha256") == result.sha256
    )


def prepare_frame(frame: pd.DataFrame, card: dict, params: Params, folder: Path) -> PreparedSeries:
    """Features, chronological split and train-only scaler of one validated frame, in memory.

    Writes nothing (`prepare_series` does); `folder` is where the result belongs. `card` must hold
    'kind' (a registered data kind) and 'series'; the kind decides the features, window and scaler
    (`DataKind.features`, `DataKind.scaler`).
    """
    kind = data_kind(card["kind"])
    split_params = params.windows.split
    table, columns, target, window = kind.features(frame, params)
    split = chronological_split(len(table), split_params.train, split_params.val, split_params.test)
    scaler = kind.scaler().fit(table[columns].to_numpy()[split.train])
    feature_card = {**card, "columns": columns, "target": target, "window": window}
    return PreparedSeries(
        kind.name, card["series"], Path(folder), table, columns, target, split, scaler, window, feature_card
    )


def with_user_labels(frame: pd.DataFrame, card: dict, data_root: Path) -> dict:
    """The card with the series' labels file applied (`data.labels`), when it has one."""
    from lstmops.data.labels import labels_path, merged_windows, read_labels

    path = labels_path(data_root, card["kind"], card["source"], card["series"])
    if card["kind"] != "sensors" or not path.exists():
        return card
    times = frame["timestamp"]
    labels = read_labels(path, pd.Timestamp(times.min()), pd.Timestamp(times.max()))
    source = card.get("labels")
    windows = merged_windows(
        None if source is None else [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in source], labels
    )
    return {
        **card,
        "labels": [[a.isoformat(), b.isoformat()] for a, b in windows],
        "labels_file": str(path),
        "labels_file_sha256": file_sha256(path),
    }


def prepare_series(validated_path: Path, params: Params) -> PreparedSeries:
    frame, card = load_validated(validated_path)
    card = with_user_labels(frame, card, params.data.root)
    folder = features_dir(params.data.root, card["kind"], card["source"], card["series"])
    prepared = prepare_frame(frame, card, params, folder)
    folder.mkdir(parents=True, exist_ok=True)
    prepared.features.to_parquet(folder / "features.parquet", index=False)
    (folder / "split.json").write_text(json.dumps(prepared.split.to_dict(), indent=2) + "\n")
    prepared.scaler.save(folder / "scaler.json")
    card = {**prepared.card, "features_sha256": file_sha256(folder / "features.parquet")}  # for DVC and readers
    (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    return prepared


def prepare_all(params: Params, kind: DataKindName, source: str) -> list[PreparedSeries]:
    folder = validated_dir(params.data.root, kind, source)
    paths = sorted(folder.glob("*.parquet"))
    if not paths:
        raise FileNotFoundError(
            f"{folder}: no validated {kind} data from source {source!r}; run `lstmops ingest {kind}` first"
        )
    check_labels_files(params.data.root, kind, source, paths)
    return [prepare_series(path, params) for path in paths]


def check_labels_files(data_root: Path, kind: str, source: str, validated: list[Path]) -> None:
    """A labels file whose series has no validated data is refused, naming the series it was written for."""
    from lstmops.data.labels import LabelsError, labels_path

    folder = labels_path(data_root, kind, source, "x").parent
    known = {path.stem for path in validated}
    stray = sorted(path for path in folder.glob("*.csv") if path.stem not in known) if folder.is_dir() else []
    if stray:
        raise LabelsError(
            f"{stray[0]}: labels for series {stray[0].stem!r}, which has no validated {kind} data from source "
            f"{source!r} (validated: {', '.join(sorted(known)) or 'none'}); rename or remove the file"
        )
