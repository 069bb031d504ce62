"""Seconds per series and per epoch of `lstmops benchmark nab` (`lstmops benchmark nab-speed`). Targets on
2 CPU cores: the product's detector (the default: `lstmops train autoencoder`'s training, threshold and
injected-anomaly evaluation) within 60 s per series (issue 29); an Orion-style detector within 45 s
(issue 13).

The series are the demo sensor generator's (a daily cycle plus labelled anomalies), sampled every
600 s, the benchmark's bin, so each series is `bins` bins long; written in NAB's layout to a temp
folder (data/synthetic/*.csv, labels/combined_windows.json) and scored with one seed. No NAB copy is
needed. Wall seconds include reading, training, detection and the figure; per epoch divides the
series' seconds by the epochs it trained, so it is an upper bound.

`lstmops benchmark nab` runs in a process of its own with an empty JAX compilation cache of its own
(lstmops/common/compile_cache.py), so the first series compiles the network's programs and the later
ones load them, as in a benchmark run on a machine that has never trained this network: both are
reported, the first as "cold".
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lstmops.common import compile_cache
from lstmops.data.demo_sensors import demo_sensor
from lstmops.data.sensors import NAB_LABELS_FILE, windows_to_nab_labels, write_nab_labels

GROUP = "synthetic"
BIN = "600s"  # the NAB benchmark's bin: one row per bin
TARGET_S_PER_SERIES = {"product": 60.0}
ORION_STYLE_TARGET_S = 45.0


class NabSpeedError(RuntimeError):
    """`lstmops benchmark nab` failed or refused a synthetic series; the message says why."""


def write_synthetic_nab(root: Path, series: int, bins: int) -> None:
    """`series` demo sensors of `bins` rows each in NAB's layout under `root`, with their labels."""
    (root / "data" / GROUP).mkdir(parents=True)
    labels = {}
    for index in range(series):
        sensor = demo_sensor(f"machine_{index}", n_points=bins, freq=BIN, seed=11 + index)
        name = f"machine_{index}.csv"
        sensor.frame.to_csv(root / "data" / GROUP / name, index=False)
        labels.update(windows_to_nab_labels(f"{GROUP}/{name}", sensor.windows or []))
    write_nab_labels(root / NAB_LABELS_FILE, labels)


def benchmark_nab_speed(
    series: int,
    bins: int,
    out: Path,
    *,
    detector: str = "product",
    protocol: str = "lstmops",
    assignments: Sequence[str] = (),
    params_file: Path = Path("params.yaml"),
    timeout: float = 3600,
) -> dict[str, Any]:
    """Time `lstmops benchmark nab` on `series` synthetic series of `bins` bins (module notes); write the
    result to `out` as JSON and return it. `assignments`: KEY=VALUE params overrides for the run."""
    if series < 1:
        raise ValueError(f"series must be at least 1, got {series}")
    with tempfile.TemporaryDirectory(prefix="lstmops-nab-speed-") as tmp:
        root = Path(tmp)
        write_synthetic_nab(root, series, bins)
        result_file = root / "result" / "nab.json"
        command = [sys.executable, "-m", "lstmops.cli", "benchmark", "nab", "--root", str(root), "--groups", GROUP]
        command += ["--detector", detector, "--protocol", protocol, "--seeds", "1", "--out", str(result_file)]
        command += ["--params", str(params_file), *(option for a in assignments for option in ("--set", a))]
        environment = {**os.environ, compile_cache.DIR_VARIABLE: str(root / "compile-cache")}
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment)
        if completed.returncode != 0:
            last = (completed.stdout + completed.stderr).strip().splitlines()[-1:] or ["no output"]
            raise NabSpeedError(
                f"`lstmops benchmark nab` exited {completed.returncode}: {last[0].removeprefix('ERROR: ')}"
            )
        rows = json.loads(result_file.read_text())["series"]
    if refused := [row for row in rows if "refused" in row]:
        raise NabSpeedError(f"the product refused {refused[0]['group']}/{refused[0]['name']}: {refused[0]['refused']}")
    result = summary(rows, detector=detector, protocol=protocol, assignments=list(assignments), bins=bins)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return result


def summary(rows: list[dict[str, Any]], *, detector: str, protocol: str, assignments: list[str], bins: int) -> dict:
    """Seconds per series (the first, cold, apart from the later ones) and per epoch of `benchmark_nab`'s rows."""
    per_series = [row["seconds"] for row in rows]
    per_epoch = [row["seconds"] / row["epochs"] for row in rows]
    warm = per_series[1:] or per_series
    return {
        "detector": detector,
        "protocol": protocol,
        "assignments": assignments,
        "series": len(rows),
        "bins": bins,
        "seconds_per_series": {"mean": statistics.fmean(per_series), "max": max(per_series)},
        "seconds_first_series_cold_cache": per_series[0],
        "seconds_per_later_series": {"mean": statistics.fmean(warm), "max": max(warm)},
        "seconds_per_epoch": {"mean": statistics.fmean(per_epoch), "max": max(per_epoch)},
        "epochs": [row["epochs"] for row in rows],
        "target_s_per_series": TARGET_S_PER_SERIES.get(detector, ORION_STYLE_TARGET_S),
        "load_average": os.getloadavg(),
    }


def format_line(result: dict[str, Any]) -> str:
    """One line: seconds per series against the target, the cold first series, the later ones, per epoch."""
    per_series, later = result["seconds_per_series"], result["seconds_per_later_series"]
    return (
        f"NAB {result['detector']} ({result['protocol']}), {result['series']} series of {result['bins']} bins: "
        f"{per_series['mean']:.1f} s per series (max {per_series['max']:.1f}; target "
        f"<= {result['target_s_per_series']:.0f}): the first, compiling into an empty cache, "
        f"{result['seconds_first_series_cold_cache']:.1f} s, the later ones {later['mean']:.1f} s "
        f"(max {later['max']:.1f}); {result['seconds_per_epoch']['mean']:.2f} s per epoch, "
        f"load {result['load_average'][0]:.1f}"
    )
