"""`make bench`: run the CPU benchmarks, print one table per benchmark, write bench/results.json.

    python bench/run.py                    # all: windowing memory, CPU throughput, the backend table, overhead,
                                           # scale-out, start-up, `make run`
    python bench/run.py --skip make_run    # leave out timing `make run` on the demo (minutes)
    python bench/run.py --quick            # tiny sizes, no `make run`: a smoke run of the harness
    python -m bench startup nab_speed      # only these (`python -m bench` = bench/run.py)

Each benchmark runs in its own fresh Python process (clean memory baseline, no state shared
between them). GPU results (`bench/gpu.py`, run on the lent GPU machine) are read from any
`bench/measured/gpu-*.json` and shown as they were measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))  # bench/ holds scripts, not a package: they import each other by name
from _env import ROOT, BenchError, bench_env, options, run_checked, run_for_json  # noqa: E402
from backends import table as backends_table  # noqa: E402
from tables import format_table  # noqa: E402

RESULTS = BENCH / "results.json"
# Index arrays (one int64 per window, as large as the float64 series) plus one batch: a small
# multiple of the series. A materialised window array would cost `window` times the series.
MAX_WINDOWING_OVER_SERIES = 4.0
OVERHEAD_TARGET = 1.10
# name -> (what runs it after `python`, from the repository root, in a fresh process with `--out <tmp>.json`;
# its time limit in seconds; its options; what --quick changes in them, None where --quick leaves it out),
# in the order they run. `make_run` (timing `make run` itself) runs last, not with --quick: make_run_wall_time().
BENCHMARKS: dict[str, tuple[str, float, dict[str, Any], dict[str, Any] | None]] = {
    "windowing_memory": ("bench/windowing_memory.py", 900, {"points": 1_000_000, "window": 128}, {"points": 100_000}),
    "throughput": (
        "bench/train_throughput.py",
        3600,
        {"params": ROOT / "params.yaml", "samples": 6400, "epochs": 3, "scoring_windows": 20_000},
        {"samples": 256, "epochs": 1, "scoring_windows": 512},
    ),
    # train and score throughput per model and Keras backend, interleaved
    "backends": (
        "bench/backends.py",
        3600,
        {
            "rounds": 3,
            "samples": 2048,
            "epochs": 2,
            "scoring_windows": 2048,
            "variants": ["tensorflow", "jax", "torch", "tensorflow+xla"],
        },
        {"rounds": 1, "samples": 256, "epochs": 1, "scoring_windows": 256, "variants": ["tensorflow", "jax"]},
    ),
    # the demo forecaster as a bare Keras fit (a) and through the retrain flow (b)
    "overhead": ("bench/pipeline.py overhead", 3600, {"runs": 5, "epochs": 30}, {"runs": 1, "epochs": 2}),
    # the ingest work as plain calls and through the Prefect flow
    "prefect_overhead": ("bench/pipeline.py prefect", 1800, {"runs": 5}, {"runs": 1}),
    # wall and CPU seconds of `lstmops --help`, `registry list`, `registry history`, their heavy imports
    "startup": ("bench/startup.py", 600, {"repeats": 3}, {"repeats": 1}),
    # `lstmops benchmark nab` seconds per series and per epoch on synthetic NAB-layout series (the product's
    # detector; `--set KEY=VALUE`: a params.yaml override)
    "nab_speed": (
        "-m lstmops.cli benchmark nab-speed",
        3600,
        {"series": 2, "bins": 4000},
        {"series": 1, "set": "train.epochs=1"},
    ),
    # one retrain's trainings on threads and on a 2-worker Dask cluster
    "scaleout": ("bench/pipeline.py scaleout", 3600, {"series": 8, "epochs": 5}, None),
}


def run_benchmark(name: str, *, quick: bool, points: int | None = None) -> dict[str, Any]:
    """Benchmark `name` in a fresh process, with the verdicts `make bench` adds to what it measured."""
    if name == "make_run":
        return make_run_wall_time()
    command, timeout, sizes, quick_sizes = BENCHMARKS[name]
    sizes = {**sizes, **(quick_sizes if quick else {})}
    if name == "windowing_memory" and points:
        sizes["points"] = points
    result = run_for_json([sys.executable, *command.split(), *options(**sizes)], timeout=timeout)
    if name == "windowing_memory":
        result["o_series"] = result["delta_over_series"] <= MAX_WINDOWING_OVER_SERIES
    if name == "overhead":
        result["target_met"] = result["flow_over_bare"] <= OVERHEAD_TARGET
    return result


def make_run_wall_time(*, timeout: float = 3600) -> dict[str, Any]:
    """Wall time of what `make run` runs (`python flows/retrain.py`) on the demo, in a temp folder with its
    own data root, MLflow store and Prefect home, and where it went (`bench/pipeline.py breakdown` on that folder)."""
    with tempfile.TemporaryDirectory(prefix="lstmops-bench-") as tmp:
        folder = Path(tmp)
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        params["data"]["root"] = str(folder / "data")
        (folder / "params.yaml").write_text(yaml.safe_dump(params))
        command = [sys.executable, str(ROOT / "flows" / "retrain.py"), str(folder / "params.yaml")]
        env = bench_env(
            PREFECT_HOME=str(folder / "prefect"),
            MLFLOW_TRACKING_URI=f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}",
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        (folder / "mlruns").mkdir()
        since = datetime.now(UTC)
        start = time.perf_counter()
        run_checked(command, cwd=folder, env=env, timeout=timeout)
        wall = time.perf_counter() - start
        breakdown = run_for_json(
            [sys.executable, "bench/pipeline.py", "breakdown", "--since", since.isoformat()], timeout=600, env=env
        )
    return {"command": "make run", "wall_s": wall, **breakdown}


# the GPU table's columns: header -> key of a gpu_results() summary
GPU_COLUMNS = {
    "file": "file",
    "measured at": "measured_at",
    "backend": "backend",
    "gpu": "gpus",
    "model": "model",
    "cuDNN": "cudnn_samples_per_s",
    "keras project": "project_samples_per_s",
    "keras arrays": "arrays_samples_per_s",
    "best / cuDNN": "keras_over_cudnn",
}


def gpu_results(folder: Path = BENCH / "measured") -> list[dict[str, Any]]:
    """Summaries of the gpu-*.json files in `folder`, written by bench/gpu.py on the GPU machine."""
    summaries = []
    for path in sorted(folder.glob("gpu-*.json")):
        result = json.loads(path.read_text())
        env = result["environment"]
        for kind, row in result["models"].items():
            summaries.append(
                {
                    "file": path.name,
                    "measured_at": result["measured_at"],
                    "backend": env["backend"],
                    "gpus": ", ".join(env["gpus"]) or env["device"],
                    "tiny": result["tiny"],
                    "model": kind,
                    "cudnn_samples_per_s": row["cudnn_reference"].get("samples_per_s"),
                    "project_samples_per_s": row.get("project", {}).get("samples_per_s"),
                    "arrays_samples_per_s": row.get("arrays", {}).get("samples_per_s"),
                    "keras_over_cudnn": row["keras_over_cudnn"],
                }
            )
    return summaries


def machine() -> dict[str, Any]:
    """What the numbers were measured on, and how busy it was (other work on the CPUs skews them)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    return {
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
        "git_commit": commit.stdout.strip() or None,
        "git_dirty": bool(dirty.stdout.strip()),
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _spread(values: Sequence[float]) -> str:
    return f"{min(values):.1f}-{max(values):.1f}"


def one_row(title: str, columns: dict[str, Any]) -> str:
    """A table of one row, its headers the keys of `columns`."""
    return format_table(title, list(columns), [list(columns.values())])


def report(results: dict[str, Any]) -> str:
    """The tables `make bench` prints, one per benchmark that ran."""
    tables = []
    m = results["machine"]
    tables.append(
        f"machine: {m['cpu']}, {m['cpu_count']} cores, load average at start "
        f"{', '.join(f'{x:.1f}' for x in m['load_average_at_start'])}, commit {m['git_commit']}"
        f"{' (dirty)' if m['git_dirty'] else ''}"
    )
    if "windowing_memory" in results:
        w = results["windowing_memory"]
        tables.append(
            one_row(
                "windowing memory: split + train/val/test windows + one WindowBatches pass over train",
                {
                    "points": w["points"],
                    "window": w["window"],
                    "series MB": w["series_mb"],
                    "windows if materialised MB": w["materialised_windows_mb"],
                    "peak RSS delta MB": w["peak_rss_delta_mb"],
                    "delta / series": w["delta_over_series"],
                    "materialised / series": w["materialised_over_series"],
                    f"O(series) (<= {MAX_WINDOWING_OVER_SERIES:g}x)": w["o_series"],
                },
            )
        )
    if "throughput" in results:
        t = results["throughput"]
        tables.append(
            format_table(
                f"CPU throughput ({t['backend']} backend, batch {t['batch_size']}; warm-up epoch excluded)",
                ["model", "shape", "train samples/s", "warm-up epoch s", "score windows/s"],
                [
                    [
                        kind,
                        r["shape"],
                        r["training"]["samples_per_s"],
                        r["training"]["warmup_epoch_seconds"],
                        r["scoring"]["windows_per_s"],
                    ]
                    for kind, r in t["models"].items()
                ],
            )
        )
    if "backends" in results:
        tables.append(backends_table(results["backends"]))
    if "overhead" in results:
        o = results["overhead"]
        tables.append(
            one_row(
                f"pipeline overhead: {o['workload']}; (a) bare Keras fit, (b) the retrain flow with validation, "
                f"MLflow and the registry gate (target (b)/(a) <= {OVERHEAD_TARGET}), medians of {o['runs']} runs",
                {
                    "(a) bare s": o["bare_median_s"],
                    "(a) runs min-max": _spread(o["bare_keras_s"]),
                    "(b) flow s": o["flow_median_s"],
                    "(b) runs min-max": _spread(o["flow_s"]),
                    "(b) / (a)": o["flow_over_bare"],
                    "target met": o["target_met"],
                    "(b) - (a) s": o["overhead_s"],
                    "(b) minus its train phase s": o["flow_minus_train_phase_median_s"],
                    "epochs (a) / (b)": f"{o['bare_epochs'][0]} / {o['flow_epochs'][0]}",
                },
            )
        )
        tables.append(
            format_table(
                "where (b) goes, median run: Prefect task runs, and the train task's phases (MLflow seconds/*)",
                ["step", "seconds"],
                [
                    *([f"task {name}", seconds] for name, seconds in o["median_flow_tasks_s"].items()),
                    *(
                        [f"train task: {phase}", seconds]
                        for phase, seconds in o["median_flow_training_phases_s"].items()
                    ),
                ],
            )
        )
    if "nab_speed" in results:
        n = results["nab_speed"]
        tables.append(
            one_row(
                f"NAB benchmark, detector {n.get('detector', 'seasonal_ae_global')}, {n['series']} synthetic series "
                f"of {n['bins']} bins, one seed",
                {
                    "s per series (mean)": n["seconds_per_series"]["mean"],
                    "max": n["seconds_per_series"]["max"],
                    "first (empty compile cache)": n["seconds_first_series_cold_cache"],
                    "later (mean)": n["seconds_per_later_series"]["mean"],
                    "target <=": n["target_s_per_series"],
                    "s per epoch (mean)": n["seconds_per_epoch"]["mean"],
                    "epochs": ", ".join(str(e) for e in n["epochs"]),
                },
            )
        )
    if "startup" in results:
        tables.append(
            format_table(
                "command start-up (fresh process, median wall and CPU seconds)",
                ["command", "seconds", "CPU seconds", "target <", "heavy imports"],
                [
                    [
                        label,
                        row["median_s"],
                        row["median_cpu_s"],
                        row["target_s"],
                        ", ".join(row["heavy_imports"]) or "none",
                    ]
                    for label, row in results["startup"]["commands"].items()
                ],
            )
        )
    if "prefect_overhead" in results:
        p = results["prefect_overhead"]
        tables.append(
            one_row(
                f"Prefect on short tasks: the ingest work as plain calls and through the flow, medians of {p['runs']}",
                {
                    "plain s": p["plain_median_s"],
                    "flow s": p["flow_median_s"],
                    "flow / plain": p["flow_over_plain"],
                    "unchanged re-run s": p["unchanged_rerun_median_s"],
                    "first flow call s": p["first_flow_call_s"],
                },
            )
        )
    if "scaleout" in results:
        tables.append(
            format_table(
                "trainings of one retrain on threads vs a Dask cluster (2 at a time either way; forecasters on demo "
                "tickers); engine-added = Prefect train task seconds minus the MLflow run's own seconds",
                ["runner", "series", "wall s", "training s (mean)", "engine-added s (mean)", "(max)", "processes"],
                [
                    [
                        r["runner"],
                        r["series"],
                        r["wall_s"],
                        r["training_s_mean"],
                        r["engine_added_s_mean"],
                        r["engine_added_s_max"],
                        len(r["workers"]),
                    ]
                    for r in results["scaleout"]["rows"]
                ],
            )
        )
    if "make_run" in results:
        r = results["make_run"]
        tables.append(
            format_table(
                f"`{r['command']}` on the demo: {r['wall_s']:.1f} s wall; Prefect task runs (trainings overlap, "
                "3 at a time)",
                ["task run", "seconds"],
                [[t["name"], t["seconds"]] for t in r["task_runs"]],
            )
        )
        phases = sorted({key for t in r["trainings"] for key in t if key not in ("kind", "series")})
        tables.append(
            format_table(
                "each training's phases (MLflow seconds/*; the forecaster's evaluate includes its walk-forward backtest)",
                ["model", "series", *phases],
                [[t["kind"], t["series"], *(t.get(p) for p in phases)] for t in r["trainings"]],
            )
        )
    if results.get("gpu"):
        tables.append(
            format_table(
                "GPU training samples/s (from bench/measured/gpu-*.json, measured on the GPU machine)",
                list(GPU_COLUMNS),
                [[g[key] for key in GPU_COLUMNS.values()] for g in results["gpu"]],
            )
        )
    errors = results.get("errors", {})
    tables.extend(f"!! {name} FAILED: {message}" for name, message in errors.items())
    return "\n\n".join(tables)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and no `make run`: checks the harness, not the machine"
    )
    names = [*BENCHMARKS, "make_run"]
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"only these: {', '.join(names)}")
    parser.add_argument("--skip", nargs="+", default=[], choices=names)
    parser.add_argument("--points", type=int, help="windowing series length (default 1,000,000)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if unknown := set(args.names) - set(names):
        parser.error(f"no benchmark {', '.join(sorted(unknown))}")

    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    errors: dict[str, str] = {}
    for name in names:
        quick_skips = name == "make_run" or BENCHMARKS[name][3] is None
        if name in args.skip or (args.names and name not in args.names) or (args.quick and quick_skips):
            continue
        print(f"running {name} ...", flush=True)
        start = time.perf_counter()
        try:
            results[name] = run_benchmark(name, quick=args.quick, points=args.points)
        except (BenchError, subprocess.TimeoutExpired) as err:
            errors[name] = str(err)
        print(f"  {time.perf_counter() - start:.1f} s", flush=True)
    results["gpu"] = gpu_results()
    results["machine"]["load_average_at_end"] = os.getloadavg()
    if errors:
        results["errors"] = errors
    args.out.write_text(json.dumps(results, indent=2))
    print("\n" + report(results) + f"\n\nwritten: {args.out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
