"""One-off study (#28): the forecaster's decay verdict tested against every simple baseline, alpha split
over them, instead of against the strongest on hold-out + new rows. It replays `lstmops benchmark monitor`
with its `replay_checks` swapped for the variant below; results in monitor-every-baseline-*.json.

    python bench/measured/monitor_every_baseline.py SEED forecaster OUT.json 200 100
"""

import sys
from pathlib import Path

from lstmops.benchmarks import monitor
from lstmops.monitoring.statistics import DECAYED, WARNING, decide


def replay_every_baseline(units, data_end, window, checks, horizon, settings, inputs=None):
    seen, new = units[units.index <= data_end], units[units.index > data_end]
    baselines = [c for c in units.columns if c not in ("arrived", "model")]
    verdicts = []
    for j in range(checks):
        arrived = new.iloc[: (j + 1) * window]
        by_baseline = {
            name: decide(
                arrived["model"].to_numpy(),
                arrived[name].to_numpy(),
                holdout_ratio=float("nan"),
                holdout=(seen["model"].to_numpy(), seen[name].to_numpy()),
                horizon=horizon,
                alpha=settings.alpha / len(baselines),
                min_points=settings.min_points,
                cusum_k=settings.cusum_k,
                cusum_threshold=settings.cusum_threshold,
            )
            for name in baselines
        }
        statuses = [verdict.status for verdict in by_baseline.values()]
        status = DECAYED if DECAYED in statuses else WARNING if WARNING in statuses else statuses[0]
        first = by_baseline[baselines[0]]
        verdicts.append({"status": status, "n": first.n, "baseline": "every", **monitor._brief(first.evidence)})
    return verdicts


if __name__ == "__main__":
    monitor.replay_checks = replay_every_baseline
    seed, models, out, null_replicates, change_replicates = sys.argv[1:6]
    result = monitor.benchmark_monitor(
        Path("params.yaml"),
        {},
        Path(out),
        models=models.split(","),
        null_replicates=int(null_replicates),
        change_replicates=int(change_replicates),
        epochs=15,
        seed=int(seed),
    )
    print(monitor.format_table(result))
