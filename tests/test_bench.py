"""Smoke tests of the benchmark harness (bench/) at tiny sizes.

They check that each benchmark measures what it says (the warm-up epoch left out, every window
scored, a materialised copy would show in the memory peak) and that the GPU script runs on CPU.
No test asserts a speed: timings belong in `make bench`, not in CI.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
SRC = ROOT / "src"
QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "DO_NOT_TRACK": "1"}


def bench_module(name: str):
    """bench/ holds scripts, not a package: import them the way they import each other."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


def test_peak_rss_sees_an_allocation_made_and_freed_inside_the_block():
    windowing_memory = bench_module("windowing_memory")
    size = 48 * 1024 * 1024
    with windowing_memory.PeakRss() as peak:
        block = np.ones(size // 8)  # written, so resident
        del block
    assert peak.delta_bytes >= 0.9 * size


def test_windowing_memory_stays_a_small_multiple_of_the_series():
    windowing_memory = bench_module("windowing_memory")
    result = windowing_memory.measure(200_000, 128, batch_size=64)

    assert result["windows"] == 200_000 - 128  # train, val and test windows together
    assert result["materialised_over_series"] == pytest.approx(128, rel=0.01)
    # A materialised (n, 128, 1) copy would cost ~195 MB here; views and indices cost a few MB.
    assert result["peak_rss_delta_mb"] < result["materialised_windows_mb"] / 10
    assert result["delta_over_series"] <= bench_module("run").MAX_WINDOWING_OVER_SERIES


def test_training_throughput_times_every_epoch_but_the_warm_up():
    train_throughput = bench_module("train_throughput")
    case = train_throughput.forecaster_case(64, window=8, n_features=2, units=[4])

    result = train_throughput.training_throughput(case, batch_size=16, epochs=2)

    assert result["samples_per_epoch"] == 64
    assert len(result["epoch_seconds"]) == 2 and len(result["loss_per_epoch"]) == 3
    assert result["samples_per_s"] == pytest.approx(64 / statistics.median(result["epoch_seconds"]))
    assert result["warmup_epoch_seconds"] > 0


def test_epoch_summary_refuses_a_run_with_only_the_warm_up_epoch():
    train_throughput = bench_module("train_throughput")
    with pytest.raises(ValueError, match="timed epoch"):
        train_throughput.epoch_summary([1.0], [0.5], 64, path="test")


def test_scoring_throughput_scores_every_window_with_the_recursive_decoder():
    train_throughput = bench_module("train_throughput")
    case = train_throughput.seq2seq_case(40, window=8, n_features=3, horizon=4, units=4)

    result = train_throughput.scoring_throughput(case, repeats=1)

    assert result["windows"] == 40 and result["windows_per_s"] > 0
    assert case.windows.shape == (40, 8, 3)
    assert case.targets.shape == (40, 4, 1)  # teacher-forced training targets


def test_the_backend_table_shows_medians_spread_and_speed_up_over_the_first_backend():
    backends = bench_module("backends")

    def run(train: float, score: float) -> dict:
        row = {
            "shape": "10x1",
            "training": {"samples_per_s": train, "cpu_samples_per_s": train, "warmup_epoch_seconds": 1.0},
        }
        return {"models": {"forecaster": {**row, "scoring": {"windows_per_s": score}}}}

    runs = {"tensorflow": [run(100, 10), run(300, 30), run(200, 20)], "jax": [run(400, 50), run(600, 70), run(500, 60)]}
    headers, rows = backends.table_rows({"variants": ["tensorflow", "jax"], "models": backends.summarise(runs)})

    assert headers[4] == "train vs tensorflow"
    assert rows[0][1:5] == ["tensorflow", 200, "100-300", "1.00x"]
    assert rows[1][1:5] == ["jax", 500, "400-600", "2.50x"] and rows[1][8:] == [60, "50-70", "3.00x"]


def test_autoencoder_case_reconstructs_its_own_windows():
    train_throughput = bench_module("train_throughput")
    case = train_throughput.autoencoder_case(30, window=6, units=4)
    assert case.inputs is case.targets and case.inputs.shape == (30, 6, 1)
    assert not case.inputs.flags.owndata  # views over the series, as in training


def _module_level_imports(path: Path) -> set[str]:
    """Modules a file imports when it is loaded (imports inside functions run only when called)."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                names.add(child.module)
            visit(child)

    visit(ast.parse(path.read_text()))
    return names


def _source_of(module: str) -> Path | None:
    for candidate in (
        SRC / module.replace(".", "/") / "__init__.py",
        SRC / (module.replace(".", "/") + ".py"),
        BENCH / f"{module}.py",
    ):
        if candidate.exists():
            return candidate
    return None


def test_the_gpu_script_imports_no_tensorflow_when_loaded():
    """The GPU image has no TensorFlow: nothing gpu.py loads may import it at module level
    (device_report imports it inside the TensorFlow branch only)."""
    seen: dict[str, set[str]] = {}
    pending = ["gpu", "torch_reference"]
    while pending:
        module = pending.pop()
        parts = module.split(".")
        packages = [".".join(parts[:i]) for i in range(1, len(parts))]  # parents run their __init__ first
        for name in [*packages, module]:
            source = _source_of(name)
            if name in seen or source is None:
                continue
            seen[name] = _module_level_imports(source)
            pending.extend(seen[name])

    assert {"lstmops.train.common", "lstmops.tasks.seq2seq.network", "lstmops.config", "train_throughput"} <= set(seen)
    offenders = {module: sorted(n for n in names if n.split(".")[0] == "tensorflow") for module, names in seen.items()}
    assert not {module: names for module, names in offenders.items() if names}


def test_gpu_script_runs_tiny_on_cpu_beside_the_plain_pytorch_reference(tmp_path):
    out = tmp_path / "gpu-tensorflow.json"
    completed = subprocess.run(
        [sys.executable, str(BENCH / "gpu.py"), "--tiny", "--models", "forecaster", "--out", str(out)],
        cwd=ROOT,
        env={**QUIET, "KERAS_BACKEND": "tensorflow"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(out.read_text())

    row = result["models"]["forecaster"]
    assert row["shape"] == "12x5 -> 1, units [8]"
    assert row["project"]["path"] == "lstmops.train.common.fit + WindowBatches"
    assert row["project"]["samples_per_epoch"] == 3 * 16  # 3 steps of batch 16
    assert row["arrays"]["samples_per_s"] > 0
    # torch comes with the dev extra, as its CPU build: the reference trains torch.nn.LSTM on the CPU
    assert row["cudnn_reference"]["samples_per_s"] > 0 and row["cudnn_reference"]["device"] == "cpu"
    # run.py shows such a file in the `make bench` table
    (summary,) = bench_module("run").gpu_results(tmp_path)
    assert summary["model"] == "forecaster" and summary["backend"] == "tensorflow" and summary["tiny"]


def run_pipeline(tmp_path: Path, *args: str, timeout: float) -> tuple[dict, str]:
    """`bench/pipeline.py ARGS --out ...` in its own process group: whatever it starts (the temporary Prefect
    server, an MLflow server, Dask workers) must be gone when it exits, and is killed on a timeout."""
    out = tmp_path / "result.json"
    command = [sys.executable, str(BENCH / "pipeline.py"), *args, "--out", str(out)]
    with subprocess.Popen(
        command,
        cwd=tmp_path,
        env=QUIET,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            output = process.communicate(timeout=timeout)[0]
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"{' '.join(args)} ran past {timeout} s:\n{process.communicate()[0][-3000:]}")
    deadline = time.monotonic() + 30  # processes it stopped may take a moment to exit
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = _group_alive(process.pid)
    if left:
        os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, output[-6000:]
    assert not left, f"{' '.join(args)} left processes running"
    return json.loads(out.read_text()), output


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.integration
def test_overhead_trains_the_same_epochs_both_ways_and_says_where_the_flow_time_went(tmp_path):
    result, output = run_pipeline(tmp_path, "overhead", "--runs", "1", "--epochs", "2", timeout=900)

    assert result["bare_epochs"] == result["flow_epochs"] == [2]  # the same amount of training both ways
    assert result["flow_over_bare"] == pytest.approx(result["flow_median_s"] / result["bare_median_s"])
    assert 0 < result["flow_minus_train_phase_median_s"] < result["flow_median_s"]
    # every step of the flow is timed, the ingest subflow's wrapper is not counted twice
    assert set(result["median_flow_tasks_s"]) == {"snapshot", "validate", "prepare", "train", "report", "gate"}
    assert set(result["median_flow_training_phases_s"]) == {
        "open",
        "train",
        "evaluate",
        "log",
    }  # open: the MLflow run, before training
    assert sum(result["median_flow_tasks_s"].values()) <= result["flow_median_s"]
    assert "(b) / (a)" in output


@pytest.mark.integration
def test_prefect_mode_times_the_ingest_work_both_ways_and_the_cached_rerun(tmp_path):
    result, output = run_pipeline(tmp_path, "prefect", "--runs", "1", timeout=600)

    assert result["runs"] == 1 and len(result["plain_s"]) == len(result["flow_s"]) == 1
    assert result["flow_over_plain"] == pytest.approx(result["flow_median_s"] / result["plain_median_s"])
    assert result["unchanged_rerun_median_s"] > 0 and result["first_flow_call_s"] > 0
    assert "flow / plain" in output


@pytest.mark.slow  # starts an MLflow server, a Prefect server and a Dask cluster and retrains twice
@pytest.mark.integration
def test_scaleout_mode_runs_the_trainings_on_threads_and_on_dask_and_says_what_the_engine_adds(tmp_path):
    result, output = run_pipeline(tmp_path, "scaleout", "--series", "2", "--epochs", "1", timeout=900)

    threads, dask = result["rows"]
    assert (threads["runner"], dask["runner"]) == ("threads", "dask")
    for row in (threads, dask):
        assert row["series"] == 2 and 0 < row["training_s_mean"] < row["wall_s"]
        assert row["engine_added_s_max"] >= row["engine_added_s_mean"]
    assert len(threads["workers"]) == 1  # threads: every training in the flow's own process
    assert "engine adds" in output


def test_seconds_per_step_sums_task_runs_by_the_name_before_the_first_dash():
    pipeline = bench_module("pipeline")
    runs = [
        {"name": "train-forecaster-DEMOA-2021-09-30", "seconds": 20.0},
        {"name": "train-forecaster-DEMOB-2021-09-30", "seconds": 22.0},
        {"name": "gate-forecaster-DEMOA", "seconds": 1.0},
    ]
    assert pipeline.seconds_per_step(runs) == {"train": 42.0, "gate": 1.0}


def test_the_report_has_a_table_for_each_benchmark_that_ran():
    run = bench_module("run")
    results = {
        "machine": {
            "cpu": "cpu",
            "cpu_count": 2,
            "load_average_at_start": (0.5, 0.5, 0.5),
            "git_commit": "abc",
            "git_dirty": False,
        },
        "backends": {
            "variants": ["tensorflow", "jax"],
            "rounds": 3,
            "samples": 2048,
            "epochs": 2,
            "scoring_windows": 2048,
            "batch_size": 64,
            "models": bench_module("backends").summarise(
                {
                    backend: [{"models": {"seq2seq": {"shape": "96x5", "training": training, "scoring": scoring}}}]
                    for backend, training, scoring in [
                        (
                            "tensorflow",
                            {"samples_per_s": 2000.0, "warmup_epoch_seconds": 5.0},
                            {"windows_per_s": 4000.0},
                        ),
                        ("jax", {"samples_per_s": 6000.0, "warmup_epoch_seconds": 6.0}, {"windows_per_s": 12000.0}),
                    ]
                }
            ),
        },
        "overhead": {
            "workload": "forecaster DEMOA",
            "runs": 3,
            "bare_median_s": 20.0,
            "flow_median_s": 25.0,
            "bare_keras_s": [19.0, 20.0, 22.5],
            "flow_s": [24.0, 25.0, 26.0],
            "flow_minus_train_phase_median_s": 4.5,
            "flow_over_bare": 1.25,
            "target_met": False,
            "overhead_s": 5.0,
            "bare_epochs": [30],
            "flow_epochs": [30],
            "median_flow_tasks_s": {"train": 22.0, "gate": 1.0},
            "median_flow_training_phases_s": {"train": 20.5, "log": 1.2},
        },
        "prefect_overhead": {
            "runs": 5,
            "plain_median_s": 2.0,
            "flow_median_s": 4.0,
            "flow_over_plain": 2.0,
            "unchanged_rerun_median_s": 1.0,
            "first_flow_call_s": 15.0,
        },
        "scaleout": {
            "rows": [
                {
                    "runner": "dask",
                    "series": 8,
                    "wall_s": 120.0,
                    "training_s_mean": 20.0,
                    "engine_added_s_mean": 1.5,
                    "engine_added_s_max": 2.5,
                    "workers": ["11", "12"],
                }
            ]
        },
        "make_run": {
            "command": "make run",
            "wall_s": 200.0,
            "task_runs": [{"name": "train-autoencoder-demo/machine_a", "seconds": 90.0}],
            "trainings": [{"kind": "autoencoder", "series": "demo/machine_a", "train": 80.0, "log": 2.0}],
        },
    }
    text = run.report(results)
    assert "Keras backends on CPU" in text and "seq2seq (96x5)" in text and "3.00x" in text
    assert "(b) / (a)" in text and "1.25" in text and "19.0-22.5" in text
    assert "task gate" in text and "train task: log" in text
    assert "Prefect on short tasks" in text and "200.0 s wall" in text
    assert "train-autoencoder-demo/machine_a" in text and "autoencoder  demo/machine_a" in text
    assert "threads vs a Dask cluster" in text and "dask" in text


def test_format_table_right_aligns_numbers_and_left_aligns_text():
    tables = bench_module("tables")
    table = tables.format_table("t", ["model", "samples/s"], [["forecaster", 123456.7], ["ae", 9.5]])
    lines = table.splitlines()
    assert lines[0] == "== t"
    assert lines[3] == "forecaster    123,457"
    assert lines[4] == "ae               9.50"


def test_startup_times_a_command_in_fresh_processes_and_names_the_heavy_libraries_it_imported():
    startup = bench_module("startup")

    light = startup.measure(["-c", "import json"], repeats=2)
    heavy = startup.heavy_imports(["-c", "import statsmodels"])

    assert len(light["runs_s"]) == 2 and light["median_s"] > 0 and light["median_cpu_s"] > 0
    assert light["heavy_imports"] == []
    assert heavy == ["statsmodels"]


QUICK_NAMES = ["windowing_memory", "overhead", "prefect_overhead", "startup", "nab_speed"]


@pytest.mark.slow
def test_make_bench_quick_prints_the_tables_and_writes_results(tmp_path):
    out = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *QUICK_NAMES, "--out", str(out)],
        cwd=ROOT,
        env=QUIET,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["windowing_memory"]["points"] == 100_000 and results["windowing_memory"]["o_series"]
    assert results["overhead"]["runs"] == 1 and results["machine"]["cpu_count"] == os.cpu_count()
    assert results["prefect_overhead"]["runs"] == 1 and "make_run" not in results
    assert "throughput" not in results and "backends" not in results  # only the benchmarks named
    assert results["nab_speed"]["series"] == 1 and results["nab_speed"]["seconds_per_epoch"]["mean"] > 0
    assert "== windowing memory" in completed.stdout and "pipeline overhead" in completed.stdout
