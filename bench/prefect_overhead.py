"""What Prefect costs: the same small workload as plain function calls and through the flows.

    .venv/bin/python bench/prefect_overhead.py                       # ingest workload, 5 runs each
    .venv/bin/python bench/prefect_overhead.py --workload retrain --runs 3

Workloads (demo data, one ticker of 300 bars and, for ingest, one sensor series of 600 points):
- ingest:  snapshot -> validation gate -> features, for prices and sensors;
- retrain: the same for prices, then a tiny forecaster trained, logged to MLflow and gated.
Every timed run gets a fresh data root, so the flow's caches miss and both sides do the same work.
The Prefect server is started (and the libraries imported) before timing; its start-up time, and
a re-run with unchanged data (the cache hits), are printed on their own lines. No asserts: numbers
for the closing note.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

for name, value in {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    "MLFLOW_DISABLE_TELEMETRY": "true", "TF_CPP_MIN_LOG_LEVEL": "2",
                    "PREFECT_LOGGING_LEVEL": "WARNING",
                    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}.items():
    os.environ.setdefault(name, value)

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "flows"))

from lstmops.config import Params, load_params  # noqa: E402

TINY = {"prices.tickers": ["DEMOA"], "prices.demo.n_days": 300, "sensors.series": ["demo/machine_a"],
        "sensors.demo.n_points": 600, "train.epochs": 1, "train.verbose": 0,
        "models.forecaster.units": [4], "models.forecaster.backtest_folds": 0}


def plain_ingest(params: Params) -> None:
    from lstmops.data import ingest, prepare

    for kind, snapshot in (("prices", ingest.snapshot_prices), ("sensors", ingest.snapshot_sensors)):
        for result in ingest.validate_all(snapshot(params, source="demo"), params):
            prepare.prepare_series(result.validated_path, params)


def plain_retrain(params: Params) -> None:
    from lstmops import experiment, registry, tracking
    from lstmops.data import ingest, prepare

    tracking.configure_tracking()
    for result in ingest.validate_all(ingest.snapshot_prices(params, source="demo"), params):
        prepared = prepare.prepare_series(result.validated_path, params)
        outcome = experiment.run_experiment("forecaster", prepared, params)
        registry.register_and_gate(outcome, prepared, params, actor="bench")


def flow_ingest(overrides: dict[str, Any]) -> None:
    from ingest import ingest

    for kind in ("prices", "sensors"):
        ingest(kind, overrides=overrides)


def flow_retrain(overrides: dict[str, Any]) -> None:
    from retrain import retrain

    retrain(overrides=overrides, data_kinds=["prices"])


WORKLOADS: dict[str, tuple[Callable[[Params], None], Callable[[dict[str, Any]], None]]] = {
    "ingest": (plain_ingest, flow_ingest),
    "retrain": (plain_retrain, flow_retrain),
}


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="ingest")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    plain, through_flow = WORKLOADS[args.workload]

    scratch = Path(tempfile.mkdtemp(prefix="lstmops-bench-"))
    os.chdir(scratch)  # no params.yaml here: the defaults + TINY
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{scratch / 'mlruns' / 'mlflow.db'}")
    roots = iter(scratch / f"data-{i}" for i in range(10 * args.runs + 10))

    def overrides() -> dict[str, Any]:
        return {**TINY, "data.root": str(next(roots))}

    # Warm-up, untimed for the medians: imports, the MLflow schema, the temporary Prefect server.
    plain(load_params(overrides=overrides()))
    startup = timed(lambda: through_flow(overrides()))

    plain_s = [timed(lambda: plain(load_params(overrides=overrides()))) for _ in range(args.runs)]
    flow_s = [timed(lambda: through_flow(overrides())) for _ in range(args.runs)]
    unchanged = overrides()
    through_flow(unchanged)
    rerun_s = [timed(lambda: through_flow(unchanged)) for _ in range(args.runs)]

    plain_median, flow_median = statistics.median(plain_s), statistics.median(flow_s)
    print(f"workload: {args.workload}, {args.runs} runs each, {os.cpu_count()} CPUs")
    print(f"plain functions      median {plain_median:7.2f} s   runs {', '.join(f'{t:.2f}' for t in plain_s)}")
    print(f"through the flow     median {flow_median:7.2f} s   runs {', '.join(f'{t:.2f}' for t in flow_s)}")
    print(f"flow / plain         {flow_median / plain_median:7.2f}x  (+{flow_median - plain_median:.2f} s per run)")
    print(f"unchanged re-run     median {statistics.median(rerun_s):7.2f} s   (validation and features cached)")
    print(f"first flow call      {startup:7.2f} s   (includes starting the temporary Prefect server)")


if __name__ == "__main__":
    main()
