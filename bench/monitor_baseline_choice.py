"""Where `lstmops monitor` picks the strongest baseline: on hold-out + new rows (the product) or on the
new rows alone, for the forecaster's level-shift delay and its false decays (seed 1 of
`lstmops benchmark monitor`, where the delay target was missed).

Same tiny champion, simulated series, check windows and replay as `lstmops benchmark monitor`; only
the rows the strongest baseline is chosen on differ.

    python bench/monitor_baseline_choice.py --out bench/measured/monitor-baseline-choice.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lstmops.benchmarks import monitor as bench  # noqa: E402
from lstmops.monitoring.statistics import DECAYED, decide  # noqa: E402
from lstmops.tasks import get_task  # noqa: E402

BASELINES = ("persistence", "drift", "linear")


def replay(units: pd.DataFrame, champion: bench.Champion, checks: int, on_new_only: bool) -> list[bool]:
    seen, new = units[units.index <= champion.data_end], units[units.index > champion.data_end]
    decayed = []
    for j in range(checks):
        arrived = new.iloc[: (j + 1) * champion.window]
        pool = arrived if on_new_only else pd.concat([seen, arrived])
        best = min(BASELINES, key=lambda name: pool[name].mean())
        verdict = decide(
            arrived["model"].to_numpy(),
            arrived[best].to_numpy(),
            holdout_ratio=float("nan"),
            holdout=(seen["model"].to_numpy(), seen[best].to_numpy()),
            horizon=1,
        )
        decayed.append(verdict.status == DECAYED)
    return decayed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--change-replicates", type=int, default=100)
    args = parser.parse_args()
    checks = 6
    params = bench.tiny_params(None, {}, "forecaster", 15)
    champion = bench.train_champion("forecaster", params, seed=args.seed, epochs=15, holdout_windows=4, checks=checks)
    task = get_task("forecaster")
    result = {"seed": args.seed, "checks": checks, "pre_change_windows": 1, "choices": {}}
    for change, replicates in (("none", args.replicates), ("level", args.change_replicates)):
        runs = {"hold-out + new": [], "new only": []}
        for replicate in range(1, replicates + 1):
            at = champion.change_rows[1] if change != "none" else None
            frame = champion.simulation.frame(replicate, change, at)
            prepared = bench._prepared(frame, "forecaster", champion.params, champion.simulation.prefix)
            units = bench.unit_losses(
                "forecaster", task.evaluate(champion.trained, prepared, champion.params, gate=True)
            )
            for choice in runs:
                runs[choice].append(replay(units, champion, checks, choice == "new only"))
        for choice, decayed in runs.items():
            d = np.array(decayed)
            row = result["choices"].setdefault(choice, {})
            if change == "none":
                row |= {"false_decayed_rate": float(d.mean()), "any_decayed_rate": float(d.any(axis=1).mean())}
            else:
                after = d[:, 1:]
                found = after.any(axis=1)
                row |= {"level_power": float(found.mean()),
                        "level_median_delay": float(np.median(np.where(found, after.argmax(axis=1) + 1, np.inf)))}  # fmt: skip
    for choice, row in result["choices"].items():
        print(f"{choice:15s} {row}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
