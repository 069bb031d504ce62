"""Leak check of the forecaster benchmark: on a random walk the forecaster must not beat persistence.

Writes a seeded synthetic random walk (`demo_prices` with momentum 0: martingale log-returns with
GARCH volatility and jumps, nothing in the mean to learn beyond a tiny drift) as a Yahoo-layout CSV,
runs `lstmops benchmark prices` on it (walk-forward, params.yaml's forecaster) and reads pooled MASE
and its 95% bootstrap interval. Future information in the features or the scaling would show up as
an interval wholly below 1; exit status 1 then, 0 when persistence is not beaten.

    python bench/random_walk_leak_check.py --out bench/measured/prices-random-walk.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lstmops.benchmarks.prices import benchmark_prices  # noqa: E402
from lstmops.config import load_params  # noqa: E402
from lstmops.data.demo_prices import demo_prices  # noqa: E402

YAHOO_ORDER = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]


def write_random_walk(path: Path, days: int, seed: int) -> Path:
    bars = demo_prices("RANDOMWALK", n_days=days, seed=seed, momentum=0.0)
    yahoo = bars.rename(columns=str.title).assign(**{"Adj Close": bars["close"]})
    yahoo[YAHOO_ORDER].to_csv(path, index=False)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/measured/prices-random-walk.json"))
    parser.add_argument("--days", type=int, default=1190, help="business days (NVDA.csv has 1,190 bars)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lstmops-random-walk-") as scratch:
        csv = write_random_walk(Path(scratch) / f"random-walk-seed{args.seed}.csv", args.days, args.seed)
        result = benchmark_prices([csv], load_params(args.params), args.out)
    (row,) = result["series"]
    print(
        f"random walk ({args.days} days, seed {args.seed}): pooled MASE {row['mase_pooled']:.4f} "
        f"95% CI [{row['mase_pooled_ci_low']:.4f}, {row['mase_pooled_ci_high']:.4f}] over {row['points']} bars, "
        f"vs drift {row['mae_vs_drift']:.4f}: {row['vs_persistence']} from persistence -> {args.out}"
    )
    if row["vs_persistence"] == "better":
        print("LEAK SUSPECTED: the forecaster beats persistence on a random walk", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
