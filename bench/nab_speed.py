"""Seconds per series and per epoch of `lstmops benchmark nab` on ~4,000-bin series. Targets on 2 CPU
cores: the product's detector (the default: `lstmops train autoencoder`'s training, threshold and
injected-anomaly evaluation) within 60 s per series (issue 29); an Orion-style detector within 45 s
(issue 13).

    python bench/nab_speed.py [--series 2] [--bins 4000] [--detector product] [--protocol lstmops] [--out result.json]

The series are the demo sensor generator's (a daily cycle plus labelled anomalies), sampled every
600 s, the benchmark's bin, so each series is `--bins` bins long; written in NAB's layout to a temp
folder (data/synthetic/*.csv, labels/combined_windows.json) and scored with one seed. No NAB copy is
needed. Wall seconds include reading, training, detection and the figure; per epoch divides the
series' seconds by the epochs it trained, so it is an upper bound.

The run gets an empty JAX compilation cache of its own (lstmops/common/compile_cache.py), so the first
series compiles the network's programs and the later ones load them, as in a benchmark run on a
machine that has never trained this network: both are reported, the first as "cold".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from lstmops.common import compile_cache
from lstmops.data.demo_sensors import demo_sensor
from lstmops.data.sensors import windows_to_nab_labels

GROUP = "synthetic"
TARGET_S_PER_SERIES = {"product": 60.0}
ORION_STYLE_TARGET_S = 45.0


def write_nab_folder(root: Path, series: int, bins: int) -> None:
    (root / "data" / GROUP).mkdir(parents=True)
    (root / "labels").mkdir()
    labels = {}
    for index in range(series):
        sensor = demo_sensor(f"machine_{index}", n_points=bins, freq="600s", seed=11 + index)
        name = f"machine_{index}.csv"
        sensor.frame.to_csv(root / "data" / GROUP / name, index=False)
        labels.update(windows_to_nab_labels(f"{GROUP}/{name}", sensor.windows or []))
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=2)
    parser.add_argument("--bins", type=int, default=4000)
    parser.add_argument("--protocol", default="lstmops", help="an Orion-style detector's protocol")
    parser.add_argument("--detector", default="product")
    parser.add_argument("--set", dest="assignments", action="append", default=[], help="KEY=VALUE for params.yaml")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lstmops-nab-speed-") as tmp:
        root = Path(tmp)
        write_nab_folder(root, args.series, args.bins)
        out = root / "result" / "nab.json"
        command = [sys.executable, "-m", "lstmops.cli", "benchmark", "nab", "--root", str(root), "--groups", GROUP]
        command += ["--detector", args.detector, "--protocol", args.protocol, "--seeds", "1", "--out", str(out)]
        command += [option for assignment in args.assignments for option in ("--set", assignment)]
        environment = {**os.environ, compile_cache.DIR_VARIABLE: str(root / "compile-cache")}
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=3600, env=environment)
        rows = json.loads(out.read_text())["series"]
    per_series = [row["seconds"] for row in rows]
    per_epoch = [row["seconds"] / row["epochs"] for row in rows]
    warm = per_series[1:] or per_series
    target = TARGET_S_PER_SERIES.get(args.detector, ORION_STYLE_TARGET_S)
    result = {
        "detector": args.detector,
        "protocol": args.protocol,
        "assignments": args.assignments,
        "series": len(rows),
        "bins": args.bins,
        "seconds_per_series": {"mean": statistics.fmean(per_series), "max": max(per_series)},
        "seconds_first_series_cold_cache": per_series[0],
        "seconds_per_later_series": {"mean": statistics.fmean(warm), "max": max(warm)},
        "seconds_per_epoch": {"mean": statistics.fmean(per_epoch), "max": max(per_epoch)},
        "epochs": [row["epochs"] for row in rows],
        "target_s_per_series": target,
        "load_average": os.getloadavg(),
    }
    print(
        f"NAB {args.detector} ({args.protocol}), {len(rows)} series of {args.bins} bins: "
        f"{result['seconds_per_series']['mean']:.1f} s per series (max {max(per_series):.1f}; target "
        f"<= {target:.0f}): the first, compiling into an empty cache, {per_series[0]:.1f} s, "
        f"the later ones {statistics.fmean(warm):.1f} s (max {max(warm):.1f}); "
        f"{result['seconds_per_epoch']['mean']:.2f} s per epoch, load {result['load_average'][0]:.1f}"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
