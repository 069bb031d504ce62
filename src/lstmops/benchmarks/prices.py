"""Benchmark the price forecaster on Yahoo-layout CSVs by walk-forward evaluation.

Per file (series name = file stem): read, validate (the GX gate's rules), prepare in memory as the
pipeline does (features, chronological split), then run the walk-forward backtest of
`evaluate.forecaster.walk_forward`: the test part (params.windows.split.test) is cut into
params.models.forecaster.backtest_folds consecutive folds; each fold retrains from scratch
(backtest_epochs epochs) on every bar before it, its latest 15% as validation (early stopping and
conformal calibration), and forecasts the fold's bars one step ahead in price space.

Reported per series: the MEAN OVER FOLDS of each fold's mase (model MAE / persistence MAE on the
fold's bars), rmse, rmse_persistence, directional_accuracy and coverage_<1-alpha> of the conformal
interval; over all folds' bars at once mase_pooled with its 95% block-bootstrap interval
(mase_pooled_ci_low/_high), mae_vs_drift (model MAE / drift MAE), and `vs_persistence`: whether that
interval lies below 1 ("better"), above 1 ("worse") or covers it ("indistinguishable"); `seconds` is
the wall time of the whole series (read + validate + all folds). A series with no learnable signal (a
random walk, `bench/random_walk_leak_check.py`, retired: `git show 4149a9e:bench/random_walk_leak_check.py`)
must come out indistinguishable from persistence: an
interval wholly below 1 there means future information leaked into features or scaling.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lstmops.benchmarks.inputs import prepare_price_csv
from lstmops.config import Params
from lstmops.tasks.forecaster.evaluate import BOOTSTRAP_BLOCK, backtest_metrics, coverage_key, walk_forward


def _benchmark_series(csv: Path, params: Params) -> dict[str, Any]:
    started = time.perf_counter()
    folds = walk_forward(prepare_price_csv(csv, params), params)
    reported = (
        "mase",
        "rmse",
        "rmse_persistence",
        "directional_accuracy",
        coverage_key(params.models.forecaster.interval_alpha),
    )
    means = {key: float(np.mean([fold.metrics[key] for fold in folds])) for key in reported}
    pooled = backtest_metrics(folds)
    low, high = pooled["backtest_mase_pooled_ci_low"], pooled["backtest_mase_pooled_ci_high"]
    return {
        "name": csv.stem,
        **means,
        "mase_pooled": pooled["backtest_mase_pooled"],
        "mase_pooled_ci_low": low,
        "mase_pooled_ci_high": high,
        "mae_vs_drift": pooled["backtest_mae_vs_drift"],
        "vs_persistence": vs_persistence(low, high),
        "points": int(sum(len(fold.points) for fold in folds)),
        "seconds": round(time.perf_counter() - started, 2),
    }


def vs_persistence(ci_low: float, ci_high: float) -> str:
    """Where pooled MASE's interval lies: "better" (below 1), "worse" (above 1) or "indistinguishable"."""
    if ci_high < 1:
        return "better"
    return "worse" if ci_low > 1 else "indistinguishable"


def benchmark_prices(csv_paths: Sequence[Path], params: Params, out: Path) -> dict[str, Any]:
    """Walk-forward benchmark of every CSV; writes {"protocol": ..., "series": [...]} to `out` and returns it."""
    config = params.models.forecaster
    if not csv_paths:
        raise ValueError("benchmark prices needs at least one CSV")
    if config.backtest_folds < 1:
        raise ValueError("benchmark prices is a walk-forward evaluation: set models.forecaster.backtest_folds >= 1")
    result = {
        "protocol": {
            "reported": "mean over walk-forward folds of each fold's metric (price space, one step ahead); "
            "mase_pooled over all folds' bars with a 95% moving-block bootstrap interval",
            "folds": config.backtest_folds,
            "bootstrap_block_bars": BOOTSTRAP_BLOCK,
            "epochs_per_fold": config.backtest_epochs,
            "test_fraction": params.windows.split.test,
            "window": params.windows.prices.window,
            "features": params.windows.prices.features,
            "target": params.windows.prices.target,
        },
        "series": [_benchmark_series(Path(csv), params) for csv in csv_paths],
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result
