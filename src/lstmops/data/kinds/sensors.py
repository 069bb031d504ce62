"""The sensors data kind: timestamped values, from a CSV, a folder in NAB's layout or the demo generator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lstmops.data.kinds.base import DataKind, FeatureTable, Fetched

if TYPE_CHECKING:
    import pandas as pd

    from lstmops.config import Params
    from lstmops.data.scaling import MinMaxScaler
    from lstmops.data.validation import ValidationReport


@dataclass(frozen=True)
class Sensors(DataKind):
    def fetch(
        self,
        params: Params,
        *,
        source: str,
        series: Sequence[str] = (),
        csv_paths: Sequence[Path] = (),
        nab_root: Path | None = None,
        downloader: Any = None,
    ) -> list[Fetched]:
        """Every series read before any is stored; labelled anomaly windows travel in the meta."""
        from lstmops.data import demo_sensors, sensors

        s = params.sensors
        if source == "csv":
            if not csv_paths:
                raise ValueError("--source csv needs at least one --path FILE")
            loaded = [(sensors.read_sensor_csv(Path(p)), {"origin": str(p)}) for p in csv_paths]
        elif source == "nab":
            if nab_root is None:
                raise ValueError("--source nab needs --root DIR (a folder in NAB's layout)")
            loaded = [
                (sensors.read_nab(Path(nab_root), name), {"origin": str(nab_root)}) for name in series or s.series
            ]
        elif source == "demo":
            loaded = [
                (
                    demo_sensors.demo_sensor(
                        name,
                        n_points=s.demo.n_points,
                        freq=s.demo.freq,
                        seed=s.demo.seed,
                        cycle=s.demo.cycle if s.demo.cycle_series is None or name in s.demo.cycle_series else 0.0,
                        cycle_jitter=s.demo.cycle_jitter,
                    ),
                    {"origin": "demo", **s.demo.model_dump()},
                )
                for name in series or s.series
            ]
        else:
            raise ValueError(f"unknown sensor source {source!r}: use csv, nab or demo")
        fetched = []
        for item, meta in loaded:
            if item.windows is not None:
                meta["labels"] = [[str(a), str(b)] for a, b in item.windows]
            fetched.append(Fetched(item.name, item.frame, meta))
        return fetched

    def repair(self, frame: pd.DataFrame, params: Params) -> tuple[pd.DataFrame, list[str]]:
        """With `sensors.duplicate_timestamps: mean`, repeated timestamps are averaged and the series sorted."""
        from lstmops.data import sensors

        if params.sensors.duplicate_timestamps != "mean":
            return frame, []
        in_order = frame["timestamp"].is_monotonic_increasing
        frame, merged = sensors.merge_duplicate_timestamps(frame)
        if merged:
            return frame, [
                f"merged {merged} rows with repeated timestamps by mean and sorted by time "
                "(sensors.duplicate_timestamps: mean)"
            ]
        if not in_order:
            return frame, ["sorted the rows by time: they arrived out of order (sensors.duplicate_timestamps: mean)"]
        return frame, []

    def validate(self, frame: pd.DataFrame, source_file: str, params: Params) -> ValidationReport:
        from lstmops.data.kinds import sensor_rules

        v = params.sensors.validation
        return sensor_rules.validate_sensors(
            frame,
            source_file=source_file,
            interval_tolerance=v.interval_tolerance,
            max_null_fraction=v.max_null_fraction,
            max_gap_intervals=v.max_gap_intervals,
            min_rows=self.min_rows(params),
        )

    def longest_window(self, params: Params) -> tuple[int, str]:
        # The autoencoder reads windows.sensors.window; seq2seq its own history (window, seasons) and horizon.
        autoencoder, seq2seq = params.windows.sensors.window, params.models.seq2seq
        if seq2seq.history_rows() + seq2seq.horizon > autoencoder:
            return (
                seq2seq.history_rows() + seq2seq.horizon,
                f"models.seq2seq history {seq2seq.history_rows()} (window {seq2seq.window}, seasons "
                f"{seq2seq.seasons}, decoder {seq2seq.decoder}) + horizon {seq2seq.horizon}",
            )
        return autoencoder, f"windows.sensors.window {autoencoder}"

    def validation_settings(self, params: Params) -> dict[str, Any]:
        # duplicate_timestamps decides whether repeated timestamps are merged, i.e. the validated content.
        return {**super().validation_settings(params), "duplicate_timestamps": params.sensors.duplicate_timestamps}

    def features(self, frame: pd.DataFrame, params: Params) -> FeatureTable:
        from lstmops.data.features import sensor_features

        return FeatureTable(sensor_features(frame), ["value"], "value", params.windows.sensors.window)

    def scaler(self) -> MinMaxScaler:
        from lstmops.data.scaling import MinMaxScaler

        # Orion's preprocessing: MinMax to [-1, 1], fitted on the training part only.
        return MinMaxScaler((-1.0, 1.0))


SENSORS = Sensors(
    name="sensors",
    columns=("timestamp", "value"),
    time_format="%Y-%m-%dT%H:%M",
    series_key="sensors.series",
)
