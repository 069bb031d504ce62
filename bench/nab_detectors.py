"""Every NAB detector on the same trainings: the LSTM-AE is trained once per series and seed, and each
detector of `lstmops.benchmarks.nab.DETECTORS` scores its errors, so detectors differ only in scoring.

    python bench/nab_detectors.py --root ../shared/data/nab \
        --groups artificialWithAnomaly,realKnownCause,artificialNoAnomaly --seeds 42,43,44 \
        [--cache DIR] --out nab-detectors.json

--cache keeps each training's scaled values and errors (`<group>__<series>__<seed>.npz`), so that an
interrupted run resumes and a new detector can be scored without training again. Output: per
detector and group, F1 mean/min/max over seeds and each seed's pooled tp/fp/fn (as `lstmops
benchmark nab` reports them), and per training its seconds and epochs (training and scoring; the
seasonal term adds well under a second).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from lstmops.benchmarks import nab
from lstmops.evaluate import anomalies


def trained_errors(root: Path, group: str, key: str, seed: int, protocol: nab.NabProtocol, cache: Path | None):
    """The aggregated signal and the LSTM-AE's (values, errors, epochs, seconds), from the cache if there."""
    series = nab._labelled(root, key)
    signal = nab.aggregate(series.frame, nab.series_interval(series.frame, group, protocol))
    path = None if cache is None else cache / f"{key.replace('/', '__')}__{seed}.npz"
    if path is not None and path.exists():
        saved = np.load(path)
        return series, signal, saved["values"], saved["errors"], int(saved["epochs"]), float(saved["secs"])
    started = time.perf_counter()
    values, errors, epochs = nab.reconstruction_errors(signal, protocol, seed=seed)
    seconds = time.perf_counter() - started
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, values=values, errors=errors, epochs=epochs, secs=seconds)
    return series, signal, values, errors, epochs, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--groups", required=True)
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--protocol", default="lstmops", choices=sorted(nab.PROTOCOLS))
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    protocol = nab.PROTOCOLS[args.protocol]
    groups = [group for group in args.groups.split(",") if group]
    rows: dict[str, list[dict]] = {name: [] for name in nab.DETECTORS}
    for seed in [int(seed) for seed in args.seeds.split(",")]:
        for group in groups:
            for key in nab._group_series(args.root, group):
                series, signal, values, errors, epochs, seconds = trained_errors(
                    args.root, group, key, seed, protocol, args.cache
                )
                for name, detector in nab.DETECTORS.items():
                    found = nab.detect_from_errors(signal, values, errors, protocol, detector, epochs=epochs).detections
                    scores = anomalies.overlapping_segment_scores(series.windows, [(a, b) for a, b, _ in found])
                    rows[name].append(
                        {
                            "name": key.rpartition("/")[2],
                            "group": group,
                            "seed": seed,
                            **{count: scores[count] for count in ("f1", "tp", "fp", "fn")},
                            "seconds": round(seconds, 1),
                            "epochs": epochs,
                        }
                    )
                print(key, seed, {name: f"{r[-1]['tp']}/{r[-1]['fp']}/{r[-1]['fn']}" for name, r in rows.items()})
    result = {
        "protocol": args.protocol,
        "detectors": {
            name: {
                "settings": asdict(nab.DETECTORS[name]),
                "groups": {g: nab.over_seeds([r for r in found if r["group"] == g]) for g in groups},
                "series": found,
            }
            for name, found in rows.items()
        },
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    table = pd.DataFrame(
        [
            {
                "detector": name,
                "group": group,
                **{f"F1 {k}": round(v, 3) for k, v in scores["f1"].items()},
                "tp/fp/fn per seed": " ".join(f"{run['tp']}/{run['fp']}/{run['fn']}" for run in scores["runs"]),
                "s/series": round(float(np.mean([r["seconds"] for r in rows[name] if r["group"] == group])), 1),
            }
            for name, detector in result["detectors"].items()
            for group, scores in detector["groups"].items()
        ]
    )
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
