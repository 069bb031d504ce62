"""What the pipeline costs on top of training: one training config as (a) a bare Keras fit and (b) the retrain flow.

    .venv/bin/python bench/overhead.py                 # demo forecaster, 5 timed runs of each
    .venv/bin/python bench/overhead.py --runs 5 --epochs 60

(a) bare Keras: `lstmops.tasks.forecaster.network.build_forecaster`, then `model.fit` on float32 arrays of the same
    prepared train/val windows, with the same epochs, batch size, learning rate, seed and callbacks
    (early stopping, ReduceLROnPlateau): what a notebook would run on already prepared arrays.
(b) the flow: `flows/retrain.py`'s `retrain` for the same ticker, run as `make run` runs it (no
    flow-run heartbeats, see flows/shell.py `started_from_a_shell`): raw snapshot, Great Expectations
    gate, features, the same training, hold-out evaluation with plots, the MLflow run with its pyfunc
    model, the Prefect artifact, the registry gate.

The config is params.yaml's forecaster on one demo ticker with two changes, both applied to (a) and
(b): early stopping patience = epochs, so both sides train exactly `--epochs` epochs and time the
same amount of training; and no walk-forward backtest (`backtest_folds: 0`), which is three more
trainings (an evaluation choice, timed on its own in `make run`'s breakdown), not pipeline overhead.

Imports, the MLflow schema and the temporary Prefect server are warmed up before timing; every (b)
run gets a fresh data root (the validation and feature caches miss, as on new data) and shares one
MLflow store (from the second run on the gate compares against a champion, as in scheduled
retraining). Runs alternate (a), (b) so drifting machine load hits both. Where (b)'s time goes comes
from Prefect's task runs and the MLflow run's `seconds/*` metrics. Writes one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT / "flows"), str(PROJECT / "bench")]
from _env import QUIET_ENV  # noqa: E402

SCRATCH = Path(tempfile.mkdtemp(prefix="lstmops-overhead-"))
for name, value in {
    **QUIET_ENV,
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_HOME": str(SCRATCH / "prefect"),
    "MLFLOW_TRACKING_URI": f"sqlite:///{SCRATCH / 'mlruns' / 'mlflow.db'}",
}.items():
    os.environ.setdefault(name, value)

from lstmops.config import Params, load_params  # noqa: E402

TICKER = "DEMOA"


def workload(epochs: int, data_root: Path) -> dict[str, Any]:
    """params.yaml's forecaster on one ticker, exactly `epochs` epochs, no backtest (see the docstring)."""
    return {
        "prices.tickers": [TICKER],
        "train.verbose": 0,
        "train.epochs": epochs,
        "models.forecaster.train.patience": epochs,
        "models.forecaster.backtest_folds": 0,
        "data.root": str(data_root),
    }


def prepared_arrays(params: Params) -> tuple[Any, ...]:
    """The forecaster's train/val windows as float32 arrays (what (a) starts from; preparing them is untimed)."""
    import numpy as np

    from lstmops.data import ingest, prepare
    from lstmops.data.scaling import StandardScaler
    from lstmops.data.windows import supervised_windows

    (result,) = ingest.validate_all(ingest.snapshot_prices(params, source="demo"), params)
    prepared = prepare.prepare_series(result.validated_path, params)
    inputs = prepared.scaled_inputs()
    target = prepared.features[prepared.target].to_numpy(dtype=np.float64)
    scaled = StandardScaler().fit(target[prepared.split.train]).transform(target)
    train = supervised_windows(inputs, scaled, prepared.window, split=prepared.split.train)
    val = supervised_windows(inputs, scaled, prepared.window, split=prepared.split.val)
    as32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    return as32(train.X), as32(train.y), as32(val.X), as32(val.y), prepared.window, len(prepared.columns)


def bare_keras_fit(params: Params, arrays: tuple[Any, ...]) -> tuple[float, int]:
    """(a): seconds and epochs of a plain `model.fit` on the prepared arrays."""
    import keras

    from lstmops.tasks.forecaster.network import build_forecaster

    x_train, y_train, x_val, y_val, window, n_features = arrays
    train = params.train_params("forecaster")
    config = params.models.forecaster
    started = time.perf_counter()
    keras.utils.set_random_seed(params.train.seed)
    model = build_forecaster(
        window, n_features, units=config.units, dropout=config.dropout, learning_rate=config.learning_rate
    )
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=train.epochs,
        batch_size=train.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=[
            keras.callbacks.EarlyStopping(patience=train.patience, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(factor=train.lr_factor, patience=train.lr_patience, min_lr=1e-5),
        ],
    )
    return time.perf_counter() - started, len(history.history["loss"])


def through_the_flow(overrides: dict[str, Any]) -> dict[str, Any]:
    """(b): seconds of `retrain`, and where they went (Prefect task runs, the MLflow run's phases)."""
    import mlflow
    from flow_breakdown import phase_seconds, seconds_per_step, task_runs_since

    from retrain import retrain
    from shell import started_from_a_shell

    since = datetime.now(UTC)
    started = time.perf_counter()
    with started_from_a_shell():  # as `make run` runs it
        (row,) = retrain(overrides=overrides, data_kinds=["prices"], parallel_training=False)
    wall = time.perf_counter() - started
    metrics = mlflow.get_run(row["run_id"]).data.metrics
    return {
        "seconds": wall,
        "epochs": int(metrics["epochs_trained"]),
        "decision": row["decision"],
        "tasks": seconds_per_step(task_runs_since(since)),
        "training_phases": phase_seconds(metrics),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, help="also write the JSON result here")
    args = parser.parse_args()

    roots = (SCRATCH / f"data-{i}" for i in range(args.runs + 2))
    params = load_params(overrides=workload(args.epochs, SCRATCH / "data-bare"))
    arrays = prepared_arrays(params)

    # Warm-up, untimed: imports, TensorFlow's first graph, the MLflow schema, the temporary Prefect server.
    bare_keras_fit(params, arrays)
    first_flow = through_the_flow(workload(args.epochs, next(roots)))

    bare, flows = [], []
    for _ in range(args.runs):
        bare.append(bare_keras_fit(params, arrays))
        flows.append(through_the_flow(workload(args.epochs, next(roots))))

    bare_median = statistics.median(seconds for seconds, _ in bare)
    flow_median = statistics.median(run["seconds"] for run in flows)
    median_run = sorted(flows, key=lambda run: run["seconds"])[len(flows) // 2]
    result = {
        "workload": f"forecaster {TICKER}, params.yaml, {args.epochs} epochs, no backtest",
        "runs": args.runs,
        "epochs": args.epochs,
        "bare_keras_s": [round(seconds, 3) for seconds, _ in bare],
        "bare_epochs": [epochs for _, epochs in bare],
        "flow_s": [round(run["seconds"], 3) for run in flows],
        "flow_epochs": [run["epochs"] for run in flows],
        "bare_median_s": bare_median,
        "flow_median_s": flow_median,
        "flow_over_bare": flow_median / bare_median,
        "overhead_s": flow_median - bare_median,
        # The flow's own fit loop (WindowBatches) need not take as long as the bare array fit: what the
        # pipeline adds beyond its own training is the flow minus its train phase.
        "flow_train_phase_median_s": statistics.median(run["training_phases"]["train"] for run in flows),
        "flow_minus_train_phase_median_s": statistics.median(
            run["seconds"] - run["training_phases"]["train"] for run in flows
        ),
        "first_flow_call_s": first_flow["seconds"],
        "median_flow_tasks_s": median_run["tasks"],
        "median_flow_training_phases_s": median_run["training_phases"],
        "decisions": [run["decision"] for run in flows],
    }
    print(f"workload: {result['workload']}, {args.runs} runs each, {os.cpu_count()} CPUs")
    print(f"(a) bare Keras fit   median {bare_median:7.2f} s   runs {', '.join(f'{s:.2f}' for s, _ in bare)}")
    flow_runs = ", ".join(f"{run['seconds']:.2f}" for run in flows)
    print(f"(b) retrain flow     median {flow_median:7.2f} s   runs {flow_runs}")
    print(f"(b) / (a)            {flow_median / bare_median:7.2f}x  (+{flow_median - bare_median:.2f} s per run)")
    print(f"(b) minus its own train phase  median {result['flow_minus_train_phase_median_s']:.2f} s")
    print("(b) tasks, s:        " + ", ".join(f"{k} {v:.2f}" for k, v in median_run["tasks"].items()))
    print("(b) train task, s:   " + ", ".join(f"{k} {v:.2f}" for k, v in median_run["training_phases"].items()))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
