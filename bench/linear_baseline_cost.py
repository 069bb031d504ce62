"""What the linear baseline adds to an evaluation (issue 30 asks for at most 5 %).

    .venv/bin/python bench/linear_baseline_cost.py               # tiny test settings and the demo's sizes
    .venv/bin/python bench/linear_baseline_cost.py --repeats 5 --sizes tiny

For the forecaster and the seq2seq on the first demo series of their data kind, at each size: a model
trained for one epoch (the baseline's cost does not depend on how well the model learnt), then the
median over `--repeats` of the evaluation as `make run` does it (`gate=False`: figures, tables; the
forecaster's walk-forward backtest is off, `backtest_folds: 0`, which leaves the evaluation shorter
and the ratio larger) and as the registry gate does it (`gate=True`), each timed with the linear
baseline and without it (its fit and forecasts replaced by persistence's, which costs nothing), runs
alternating so drifting machine load hits both. `added` = with / without - 1. Sizes: `tiny` is each
task's tiny_overrides (the test suite's), `demo` params.yaml's data sizes with the task's tiny
network. Writes one JSON object to stdout.
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
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT / "bench")]
from _env import QUIET_ENV  # noqa: E402

for name, value in QUIET_ENV.items():
    os.environ.setdefault(name, value)

import numpy as np  # noqa: E402

from lstmops.config import load_params  # noqa: E402
from lstmops.data import ingest, prepare  # noqa: E402
from lstmops.tasks import get_task  # noqa: E402

ONE_EPOCH = {"train.epochs": 1, "train.verbose": 0, "models.forecaster.backtest_folds": 0}


def seconds(work: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    started = time.perf_counter()
    work(*args, **kwargs)
    return time.perf_counter() - started


@dataclass
class Persistence:
    """Stands in for a fitted linear baseline: persistence's forecasts, nothing fitted."""

    horizon: int
    alpha: float = float("nan")

    def predict(self, values: np.ndarray, origins: np.ndarray) -> np.ndarray:
        return np.repeat(values[origins][:, None], self.horizon, axis=1)


def without_linear(kind: str, trained: Any) -> AbstractContextManager:
    """The evaluation of `kind` with the linear baseline's work taken out (see the docstring)."""
    if kind == "forecaster":

        def previous_close(prepared: Any, window: int, rows: np.ndarray) -> tuple[np.ndarray, float]:
            return prepared.features["close"].to_numpy()[rows - 1], float("nan")

        return mock.patch("lstmops.tasks.forecaster.evaluate.linear_closes", previous_close)
    return mock.patch("lstmops.tasks.seq2seq.evaluate.fit_linear", lambda *args: Persistence(trained.horizon))


def measure(kind: str, size: str, repeats: int, root: Path) -> dict[str, Any]:
    task = get_task(kind)
    tiny = dict(task.tiny_overrides)
    if size == "demo":  # the demo's data sizes, the tiny network
        tiny = {key: value for key, value in tiny.items() if not key.endswith(("n_points", "n_days"))}
    params = load_params(overrides={"data.root": str(root / f"{kind}-{size}"), **tiny, **ONE_EPOCH})
    params = params.for_task(kind)
    validated = ingest.validate_all(ingest.snapshot(task.data_kind, params, source="demo"), params)[0]
    prepared = prepare.prepare_series(validated.validated_path, params)
    trained = task.train(prepared, params)

    result: dict[str, Any] = {"task": kind, "size": size, "rows": len(prepared.features)}
    for label, gate in (("evaluation", False), ("gate_evaluation", True)):
        task.evaluate(trained, prepared, params, gate=gate)  # warm-up: imports, compiled predict functions
        times: dict[str, list[float]] = {"with": [], "without": []}
        for _ in range(repeats):
            times["with"].append(seconds(task.evaluate, trained, prepared, params, gate=gate))
            with without_linear(kind, trained):
                times["without"].append(seconds(task.evaluate, trained, prepared, params, gate=gate))
        with_s, without_s = (statistics.median(times[side]) for side in ("with", "without"))
        result |= {f"{label}_with_linear_s": with_s, f"{label}_without_s": without_s}
        result[f"{label}_added"] = with_s / without_s - 1
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--sizes", nargs="+", choices=("tiny", "demo"), default=["tiny", "demo"])
    parser.add_argument("--tasks", nargs="+", choices=("forecaster", "seq2seq"), default=["forecaster", "seq2seq"])
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lstmops-linear-cost-"))
    results = [measure(kind, size, args.repeats, root) for size in args.sizes for kind in args.tasks]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
