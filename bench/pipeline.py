"""The pipeline-overhead tool: what the orchestration around training (Prefect, MLflow, the flows) costs.

    python bench/pipeline.py overhead|prefect|scaleout|breakdown [options] [--out F.json]   # --help per mode

overhead: params.yaml's forecaster on one demo ticker (a) as a bare Keras fit (`build_forecaster`, `model.fit`
    on float32 arrays of the same prepared windows, same epochs, batch, learning rate, seed, callbacks: what a
    notebook would run) and (b) through the `retrain` flow as `make run` runs it (snapshot, Great Expectations
    gate, features, the same training, evaluation and plots, MLflow run and pyfunc model, Prefect artifact,
    registry gate). Both train exactly `--epochs` epochs (patience = epochs) and skip the walk-forward backtest
    (more trainings: an evaluation choice, timed in `make run`'s breakdown). Every (b) run gets a fresh data root
    (caches miss, as on new data) and all share one MLflow store (from the second run on the gate meets a
    champion, as in scheduled retraining). Where (b)'s time went: task runs and the train task's phases.
prefect: Prefect's fixed costs (task runs, states, cached results) where tasks are shortest: the ingest work
    (snapshot, validation gate, features; one ticker of 300 bars, one sensor series of 600 points) as plain
    calls and through the `ingest` flow, on fresh data roots; also a re-run on unchanged data (caches hit).
scaleout: one retrain's trainings (demo tickers, forecasters), two at a time on threads and on a temporary
    local Dask cluster of 2 single-threaded workers, against one MLflow server on loopback (a Dask run refuses
    SQLite). Per side the wall time and, per training, the Prefect task's seconds minus the MLflow run's own
    `seconds/*`: what the engine adds (shipping series and params to a worker, the task engine, the result back).
breakdown: where the runs after `--since` went (Prefect task runs, MLflow `seconds/*`), from the Prefect and
    MLflow stores the environment names: bench/run.py runs it after timing `make run`, in that run's environment.

The timing modes use a scratch PREFECT_HOME and MLflow store (unless the environment names others), warm up
untimed (imports, TensorFlow, the MLflow schema, the temporary Prefect server, whose start is reported as the
first flow call) and alternate plain and flow runs so that drifting load hits both. Each writes one JSON object.
"""

from __future__ import annotations

import argparse
import atexit
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import chdir, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent / "flows"), str(BENCH)]
from _env import QUIET_ENV  # noqa: E402

TICKER = "DEMOA"
TINY_INGEST = {
    "prices.tickers": [TICKER],
    "prices.demo.n_days": 300,
    "sensors.series": ["demo/machine_a"],
    "sensors.demo.n_points": 600,
    # the seq2seq's enough_rows rule asks for its longest season within the train part: a week of
    # 5-minute rows would reject 600 rows, so the tiny run's seasons are a few hours and a day
    "models.seq2seq.seasons": [48, 288],
}


def scratch() -> Path:
    """A folder removed at exit, with the Prefect home and MLflow store unless the environment names others.
    Called before Prefect is imported: its server's exit handler then runs before the folder goes."""
    folder = Path(tempfile.mkdtemp(prefix="lstmops-pipeline-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for name, value in {
        **QUIET_ENV,
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_HOME": str(folder / "prefect"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}",
    }.items():
        os.environ.setdefault(name, value)
    return folder


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def versus(plain: str, plain_s: list[float], flow_s: list[float], labels: tuple[str, str, str]) -> dict[str, Any]:
    """The flow's runs, both sides' medians, their ratio and difference; printed under `labels`."""
    medians = statistics.median(plain_s), statistics.median(flow_s)
    for label, seconds, median in zip(labels, (plain_s, flow_s), medians):
        print(f"{label:20s} median {median:7.2f} s   runs {', '.join(f'{s:.2f}' for s in seconds)}")
    print(f"{labels[2]:20s} {medians[1] / medians[0]:7.2f}x  (+{medians[1] - medians[0]:.2f} s per run)")
    return {
        "flow_s": [round(s, 3) for s in flow_s],
        f"{plain}_median_s": medians[0],
        "flow_median_s": medians[1],
        f"flow_over_{plain}": medians[1] / medians[0],
        "overhead_s": medians[1] - medians[0],
    }


def task_runs_since(since: datetime, *, wait_s: float = 30.0) -> list[dict[str, Any]]:
    """Every task run started after `since` (oldest first) with its run seconds; subflow wrappers left out.
    Task run states reach the server through events, a moment after the flow returns: wait for all to end."""
    from prefect import get_client
    from prefect.client.schemas import filters

    deadline = time.monotonic() + wait_s
    with get_client(sync_client=True) as client:
        while True:
            after = filters.TaskRunFilter(start_time=filters.TaskRunFilterStartTime(after_=since))
            runs = client.read_task_runs(task_run_filter=after)
            if (runs and all(run.end_time for run in runs)) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        after = filters.FlowRunFilter(start_time=filters.FlowRunFilterStartTime(after_=since))
        flows = client.read_flow_runs(flow_run_filter=after)
    # A subflow shows up as a task run of its parent too; its own tasks are counted already.
    wrappers = {flow.parent_task_run_id for flow in flows if flow.parent_task_run_id}
    return [
        {"name": run.name, "seconds": run.total_run_time.total_seconds()}
        for run in sorted(runs, key=lambda run: run.start_time)
        if run.id not in wrappers
    ]


def seconds_per_step(task_runs: list[dict[str, Any]]) -> dict[str, float]:
    """Task run seconds summed per step: the task name up to its first '-' (train, gate, validate, ...)."""
    totals: dict[str, float] = {}
    for run in task_runs:
        step = run["name"].split("-", 1)[0]
        totals[step] = totals.get(step, 0.0) + run["seconds"]
    return totals


def phase_seconds(metrics: dict[str, float]) -> dict[str, float]:
    """{phase: seconds} from an MLflow run's metrics (`seconds/<phase>`, see lstmops.experiment)."""
    return {key.split("/", 1)[1]: value for key, value in metrics.items() if key.startswith("seconds/")}


def mlflow_runs_since(since: datetime) -> list[Any]:
    """Every run of an lstmops MLflow experiment started after `since`, oldest first."""
    import mlflow

    from lstmops.tracking.store import EXPERIMENT_PREFIX, configure_tracking

    configure_tracking()
    named = mlflow.search_experiments(filter_string=f"name LIKE '{EXPERIMENT_PREFIX}%'")
    after = f"attributes.start_time >= {int(since.timestamp() * 1000)}"
    runs = mlflow.search_runs([e.experiment_id for e in named], after, output_format="list") if named else []
    return sorted(runs, key=lambda run: run.info.start_time)


# overhead
def prepared_arrays(params: Any) -> tuple[Any, ...]:
    """The forecaster's train/val windows as float32 arrays (what (a) starts from; preparing them is untimed)."""
    import numpy as np

    from lstmops.data import ingest, prepare
    from lstmops.data.scaling import StandardScaler
    from lstmops.data.windows import supervised_windows

    (result,) = ingest.validate_all(ingest.snapshot_prices(params, source="demo"), params)
    prepared = prepare.prepare_series(result.validated_path, params)
    inputs, split = prepared.scaled_inputs(), prepared.split
    target = prepared.features[prepared.target].to_numpy(dtype=np.float64)
    scaled = StandardScaler().fit(target[split.train]).transform(target)
    windows = [supervised_windows(inputs, scaled, prepared.window, split=part) for part in (split.train, split.val)]
    arrays = [np.ascontiguousarray(a, dtype=np.float32) for w in windows for a in (w.X, w.y)]
    return *arrays, prepared.window, len(prepared.columns)


def bare_keras_fit(params: Any, arrays: tuple[Any, ...]) -> tuple[float, int]:
    """(a): seconds and epochs of a plain `model.fit` on the prepared arrays."""
    import keras

    from lstmops.tasks.forecaster.network import build_forecaster

    x_train, y_train, x_val, y_val, window, n_features = arrays
    train, config = params.train_params("forecaster"), params.models.forecaster

    def fit() -> int:
        keras.utils.set_random_seed(params.train.seed)
        model = build_forecaster(
            window, n_features, units=config.units, dropout=config.dropout, learning_rate=config.learning_rate
        )
        callbacks = [
            keras.callbacks.EarlyStopping(patience=train.patience, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(factor=train.lr_factor, patience=train.lr_patience, min_lr=1e-5),
        ]
        options = {"epochs": train.epochs, "batch_size": train.batch_size, "shuffle": True, "verbose": 0}
        history = model.fit(x_train, y_train, validation_data=(x_val, y_val), callbacks=callbacks, **options)
        return len(history.history["loss"])

    return timed(fit)


def through_the_flow(overrides: dict[str, Any]) -> dict[str, Any]:
    """(b): seconds of `retrain` as `make run` runs it (no heartbeats, flows/shell.py), and where they went."""
    import mlflow

    from retrain import retrain
    from shell import started_from_a_shell

    since = datetime.now(UTC)
    with started_from_a_shell():
        wall, (row,) = timed(lambda: retrain(overrides=overrides, data_kinds=["prices"], parallel_training=False))
    metrics = mlflow.get_run(row["run_id"]).data.metrics
    tasks, phases = seconds_per_step(task_runs_since(since)), phase_seconds(metrics)
    return {
        "seconds": wall,
        "epochs": int(metrics["epochs_trained"]),
        "decision": row["decision"],
        "tasks": tasks,
        "training_phases": phases,
    }


def overhead(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from lstmops.config import load_params

    roots = (folder / f"data-{i}" for i in itertools.count())

    def workload() -> dict[str, Any]:  # see the docstring: exactly --epochs epochs, no backtest
        return {
            "prices.tickers": [TICKER],
            "train.verbose": 0,
            "train.epochs": args.epochs,
            "models.forecaster.train.patience": args.epochs,
            "models.forecaster.backtest_folds": 0,
            "data.root": str(next(roots)),
        }

    params = load_params(overrides=workload())
    arrays = prepared_arrays(params)
    bare_keras_fit(params, arrays)  # the warm-up; the first flow call also starts the temporary Prefect server
    first_flow = through_the_flow(workload())
    bare, flows = zip(*[(bare_keras_fit(params, arrays), through_the_flow(workload())) for _ in range(args.runs)])
    bare_s, flow_s = [s for s, _ in bare], [run["seconds"] for run in flows]
    median_run = sorted(flows, key=lambda run: run["seconds"])[len(flows) // 2]
    print(f"workload: forecaster {TICKER}, {args.epochs} epochs, {args.runs} runs each, {os.cpu_count()} CPUs")
    result = {
        "workload": f"forecaster {TICKER}, params.yaml, {args.epochs} epochs, no backtest",
        "runs": args.runs,
        "epochs": args.epochs,
        "bare_keras_s": [round(s, 3) for s in bare_s],
        "bare_epochs": [epochs for _, epochs in bare],
        "flow_epochs": [run["epochs"] for run in flows],
        **versus("bare", bare_s, flow_s, ("(a) bare Keras fit", "(b) retrain flow", "(b) / (a)")),
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
    print(f"(b) minus its own train phase  median {result['flow_minus_train_phase_median_s']:.2f} s")
    for label, steps in ("(b) tasks, s:", median_run["tasks"]), ("(b) train task, s:", median_run["training_phases"]):
        print(f"{label:20s} " + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()))
    return result


# prefect
def plain_ingest(overrides: dict[str, Any]) -> None:
    from lstmops.config import load_params
    from lstmops.data import ingest, prepare

    params = load_params(overrides=overrides)
    for snapshot in (ingest.snapshot_prices, ingest.snapshot_sensors):
        for result in ingest.validate_all(snapshot(params, source="demo"), params):
            prepare.prepare_series(result.validated_path, params)


def flow_ingest(overrides: dict[str, Any]) -> None:
    from ingest import ingest
    from shell import started_from_a_shell

    with started_from_a_shell():  # as `python flows/ingest.py` runs it
        for kind in ("prices", "sensors"):
            ingest(kind, overrides=overrides)


def prefect(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    roots = (folder / f"data-{i}" for i in itertools.count())

    def fresh(ingest: Callable[[dict[str, Any]], None]) -> float:
        overrides = {**TINY_INGEST, "data.root": str(next(roots))}
        return timed(lambda: ingest(overrides))[0]

    with chdir(folder):  # no params.yaml here: the defaults + TINY_INGEST
        fresh(plain_ingest)  # the warm-up
        startup = fresh(flow_ingest)
        plain_s, flow_s = zip(*[(fresh(plain_ingest), fresh(flow_ingest)) for _ in range(args.runs)])
        unchanged = {**TINY_INGEST, "data.root": str(next(roots))}
        flow_ingest(unchanged)
        rerun_s = [timed(lambda: flow_ingest(unchanged))[0] for _ in range(args.runs)]
    print(f"workload: ingest, {args.runs} runs each, {os.cpu_count()} CPUs")
    result = {
        "workload": "ingest",
        "runs": args.runs,
        "plain_s": [round(s, 3) for s in plain_s],
        **versus("plain", plain_s, flow_s, ("plain functions", "through the flow", "flow / plain")),
        "unchanged_rerun_median_s": statistics.median(rerun_s),
        "first_flow_call_s": startup,
    }
    print(f"unchanged re-run     median {result['unchanged_rerun_median_s']:7.2f} s   (validation and features cached)")
    print(f"first flow call      {startup:7.2f} s   (includes starting the temporary Prefect server)")
    return result


# scaleout
@contextmanager
def mlflow_server(root: Path, *, startup_s: float = 300) -> Iterator[str]:
    """An MLflow server on a free loopback port, stopped at the end with every process it started."""
    import psutil

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).with_name("mlflow")), "server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", "1", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}"]
    command += ["--artifacts-destination", (root / "artifacts").as_uri()]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + startup_s
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"the MLflow server did not start within {startup_s:.0f} s") from None
                time.sleep(1)
        yield url
    finally:  # `mlflow server` serves from a child process: stop them all, not just the parent
        try:
            processes = [parent := psutil.Process(server.pid), *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            processes = []
        for process in processes:
            process.terminate()
        for process in psutil.wait_procs(processes, timeout=30)[1]:
            process.kill()


def one_side(runner: str, series: int, epochs: int, root: Path) -> dict[str, Any]:
    import yaml

    import retrain as retrain_flow

    params = {
        "data": {"root": str(root / runner / "data")},
        "prices": {"tickers": [f"DEMO{number}" for number in range(series)], "demo": {"n_days": 600}},
        "train": {"epochs": epochs, "patience": epochs, "verbose": 0},
        "models": {"forecaster": {"units": [16], "backtest_folds": 0}},
        "orchestration": {"task_runner": runner, "local_workers": 2},
    }
    (params_file := root / f"{runner}.yaml").write_text(yaml.safe_dump(params))
    since = datetime.now(UTC)
    wall, _ = timed(lambda: retrain_flow.retrain(params_file=str(params_file), data_kinds=["prices"]))
    runs = [run for run in mlflow_runs_since(since) if run.data.tags.get("kind") == "forecaster"]
    run_s = {run.data.tags["series"]: sum(phase_seconds(run.data.metrics).values()) for run in runs}
    trainings = [task for task in task_runs_since(since) if task["name"].startswith("train-")]
    task_s = {task["name"].split("-")[2]: task["seconds"] for task in trainings}
    added = [task_s[name] - run_s[name] for name in run_s if name in task_s]
    workers = sorted({run.data.tags["worker.pid"] for run in runs})
    print(
        f"{runner:8s} {series} series: wall {wall:.1f} s, training {statistics.mean(run_s.values()):.1f} s each, engine"
        f" adds {statistics.mean(added):.2f} s (max {max(added):.2f}) per training, {len(workers)} process(es)"
    )
    return {
        "runner": runner,
        "series": series,
        "wall_s": wall,
        "training_s_mean": statistics.mean(run_s.values()),
        "engine_added_s_mean": statistics.mean(added),
        "engine_added_s_max": max(added),
        "workers": workers,
    }


def scaleout(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from prefect.testing.utilities import prefect_test_harness

    with mlflow_server(folder / "mlflow-server") as url, prefect_test_harness(server_startup_timeout=180):
        os.environ["MLFLOW_TRACKING_URI"] = url
        return {"rows": [one_side(runner, args.series, args.epochs, folder) for runner in ("threads", "dask")]}


def breakdown(since: datetime) -> dict[str, Any]:
    trainings = [
        {"kind": run.data.tags.get("kind"), "series": run.data.tags.get("series"), **phase_seconds(run.data.metrics)}
        for run in mlflow_runs_since(since)
    ]
    return {"task_runs": task_runs_since(since), "trainings": trainings}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode", required=True)
    options = {"overhead": {"runs": 5, "epochs": 30}, "prefect": {"runs": 5}, "scaleout": {"series": 4, "epochs": 5}}
    for name in (*options, "breakdown"):
        mode = modes.add_parser(name)  # what each mode measures: the module docstring, shown by --help
        mode.add_argument("--out", type=Path, help="write the JSON result here (else to stdout)")
        for option, default in options.get(name, {}).items():
            mode.add_argument(f"--{option}", type=int, default=default)
    modes.choices["breakdown"].add_argument(
        "--since", type=datetime.fromisoformat, required=True, help="ISO time with a time zone"
    )
    args = parser.parse_args(argv)
    if args.mode == "breakdown":
        result = breakdown(args.since)
    else:
        result = {"overhead": overhead, "prefect": prefect, "scaleout": scaleout}[args.mode](args, scratch())
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    else:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
