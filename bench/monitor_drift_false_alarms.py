"""False input-drift alarms without a change: the block-bootstrap p-value of `monitoring.drift` against
the i.i.d. two-sample KS test, on unchanged series that a monitor sees.

Series: Gaussian AR(1) with phi 0, 0.6 and 0.9, and the demo generator's returns (`demo_prices`:
AR(1) 0.15 with GARCH volatility clustering and jumps). Each replicate compares a reference stretch
(the training rows) with the stretch after it (the new rows), same process; the share of p < 0.05 is
the false-alarm rate, which should be 0.05.

    python bench/monitor_drift_false_alarms.py --out bench/measured/monitor-drift-false-alarms.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lstmops.data.demo_prices import demo_prices  # noqa: E402
from lstmops.monitoring.drift import block_bootstrap_p  # noqa: E402


def ar1(n: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    x, e = np.zeros(n), rng.standard_normal(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--reference", type=int, default=800)
    parser.add_argument("--new", type=int, default=150)
    args = parser.parse_args()
    m, n = args.reference, args.new
    series = {
        f"AR(1) phi={phi}": (lambda seed, phi=phi: ar1(m + n, phi, np.random.default_rng(seed)))
        for phi in (0.0, 0.6, 0.9)
    }
    series["demo returns (GARCH)"] = lambda seed: np.diff(
        np.log(demo_prices("DEMOA", n_days=m + n + 1, seed=seed, momentum=0.15)["close"].to_numpy())
    )
    result = {"replicates": args.replicates, "reference_rows": m, "new_rows": n, "alpha": 0.05, "series": {}}
    for name, draw in series.items():
        naive = bootstrap = 0
        for seed in range(args.replicates):
            values = draw(seed)
            reference, new = values[:m], values[m : m + n]
            naive += stats.ks_2samp(reference, new).pvalue < 0.05
            bootstrap += block_bootstrap_p(reference, new, seed=seed)[1] < 0.05
        result["series"][name] = {"iid_ks": naive / args.replicates, "block_bootstrap": bootstrap / args.replicates}
        print(f"{name:24s} i.i.d. KS {naive / args.replicates:.3f}   block bootstrap {bootstrap / args.replicates:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
