"""What Prefect itself costs on short tasks: the ingest work as plain function calls and through the flow.

    .venv/bin/python bench/prefect_overhead.py --runs 5 [--out result.json]

Workload (demo data, one ticker of 300 bars and one sensor series of 600 points): snapshot ->
validation gate -> features, for prices and sensors. Tasks this short show Prefect's fixed costs
(task runs, states, cached results) at their largest; bench/overhead.py measures the whole pipeline
against a bare Keras fit. Every timed run gets a fresh data root, so the flow's caches miss and
both sides do the same work.
The Prefect server is started (and the libraries imported) before timing; its start-up time, and
a re-run with unchanged data (the cache hits), are printed on their own lines. No asserts: numbers
for the closing note.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT / "flows"), str(PROJECT / "bench")]
from _env import QUIET_ENV  # noqa: E402

for name, value in {**QUIET_ENV, "PREFECT_LOGGING_LEVEL": "WARNING"}.items():
    os.environ.setdefault(name, value)

from lstmops.config import Params, load_params  # noqa: E402

TINY = {
    "prices.tickers": ["DEMOA"],
    "prices.demo.n_days": 300,
    "sensors.series": ["demo/machine_a"],
    "sensors.demo.n_points": 600,
    # the seq2seq's enough_rows rule asks for its longest season within the train part: a week of
    # 5-minute rows would reject 600 rows, so the tiny run's seasons are a few hours and a day
    "models.seq2seq.seasons": [48, 288],
}


def plain_ingest(params: Params) -> None:
    from lstmops.data import ingest, prepare

    for _kind, snapshot in (("prices", ingest.snapshot_prices), ("sensors", ingest.snapshot_sensors)):
        for result in ingest.validate_all(snapshot(params, source="demo"), params):
            prepare.prepare_series(result.validated_path, params)


def flow_ingest(overrides: dict[str, Any]) -> None:
    from ingest import ingest
    from shell import started_from_a_shell

    with started_from_a_shell():  # as `python flows/ingest.py` runs it
        for kind in ("prices", "sensors"):
            ingest(kind, overrides=overrides)


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, help="also write the numbers here as JSON")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="lstmops-bench-"))
    os.chdir(scratch)  # no params.yaml here: the defaults + TINY
    roots = iter(scratch / f"data-{i}" for i in range(2 * args.runs + 3))

    def overrides() -> dict[str, Any]:
        return {**TINY, "data.root": str(next(roots))}

    # Warm-up, untimed for the medians: imports, Great Expectations' context, the temporary Prefect server.
    plain_ingest(load_params(overrides=overrides()))
    startup = timed(lambda: flow_ingest(overrides()))

    plain_s = [timed(lambda: plain_ingest(load_params(overrides=overrides()))) for _ in range(args.runs)]
    flow_s = [timed(lambda: flow_ingest(overrides())) for _ in range(args.runs)]
    unchanged = overrides()
    flow_ingest(unchanged)
    rerun_s = [timed(lambda: flow_ingest(unchanged)) for _ in range(args.runs)]

    plain_median, flow_median = statistics.median(plain_s), statistics.median(flow_s)
    result = {
        "workload": "ingest",
        "runs": args.runs,
        "plain_s": plain_s,
        "flow_s": flow_s,
        "plain_median_s": plain_median,
        "flow_median_s": flow_median,
        "flow_over_plain": flow_median / plain_median,
        "unchanged_rerun_median_s": statistics.median(rerun_s),
        "first_flow_call_s": startup,
    }
    print(f"workload: ingest, {args.runs} runs each, {os.cpu_count()} CPUs")
    print(f"plain functions      median {plain_median:7.2f} s   runs {', '.join(f'{t:.2f}' for t in plain_s)}")
    print(f"through the flow     median {flow_median:7.2f} s   runs {', '.join(f'{t:.2f}' for t in flow_s)}")
    print(f"flow / plain         {flow_median / plain_median:7.2f}x  (+{flow_median - plain_median:.2f} s per run)")
    print(f"unchanged re-run     median {result['unchanged_rerun_median_s']:7.2f} s   (validation and features cached)")
    print(f"first flow call      {startup:7.2f} s   (includes starting the temporary Prefect server)")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
