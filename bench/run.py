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
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))  # bench/ holds scripts, not a package: they import each other by name
from _env import BenchError, bench_env, options, run_checked, run_for_json  # noqa: E402
from backends import table as backends_table  # noqa: E402
from tables import format_table  # noqa: E402

RESULTS = BENCH / "results.json"
# Index arrays (one int64 per window, as large as the float64 series) plus one batch: a small
# multiple of the series. A materialised window array would cost `window` times the series.
MAX_WINDOWING_OVER_SERIES = 4.0
OVERHEAD_TARGET = 1.10


def run_bench_script(
    script: str, args: Sequence[str], *, timeout: float, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run bench/<script> in a fresh process with `--out <tmp>.json` and return what it wrote."""
    return run_for_json([sys.executable, str(BENCH / script), *args], timeout=timeout, env=env)


def run_lstmops(args: Sequence[str], *, timeout: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `lstmops ARGS` (this Python's) in a fresh process with `--out <tmp>.json` and return what it wrote."""
    return run_for_json([sys.executable, "-m", "lstmops.cli", *args], timeout=timeout, env=env)


def windowing_memory(points: int, window: int) -> dict[str, Any]:
    result = run_bench_script("windowing_memory.py", ["--points", str(points), "--window", str(window)], timeout=900)
    result["o_series"] = result["delta_over_series"] <= MAX_WINDOWING_OVER_SERIES
    return result


def throughput(samples: int, epochs: int, scoring_windows: int) -> dict[str, Any]:
    return run_bench_script(
        "train_throughput.py",
        options(params=ROOT / "params.yaml", samples=samples, epochs=epochs, scoring_windows=scoring_windows),
        timeout=3600,
    )


def backends(rounds: int, samples: int, epochs: int, scoring_windows: int, variants: Sequence[str]) -> dict[str, Any]:
    """bench/backends.py: the backend table (train and score throughput per model and Keras backend, interleaved)."""
    return run_bench_script(
        "backends.py",
        options(
            rounds=rounds, samples=samples, epochs=epochs, scoring_windows=scoring_windows, variants=list(variants)
        ),
        timeout=3600,
    )


def pipeline(mode: str, *args: str, timeout: float = 3600, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`bench/pipeline.py MODE ARGS` (the pipeline-overhead tool) in a fresh process; what it wrote."""
    return run_bench_script("pipeline.py", [mode, *args], timeout=timeout, env=env)


def pipeline_overhead(runs: int, epochs: int) -> dict[str, Any]:
    """The demo forecaster as a bare Keras fit (a) and through the retrain flow (b)."""
    result = pipeline("overhead", *options(runs=runs, epochs=epochs))
    result["target_met"] = result["flow_over_bare"] <= OVERHEAD_TARGET
    return result


def prefect_overhead(runs: int) -> dict[str, Any]:
    """The ingest work as plain calls and through the Prefect flow."""
    return pipeline("prefect", *options(runs=runs), timeout=1800)


def scaleout(series: int, epochs: int) -> dict[str, Any]:
    """One retrain's trainings on threads and on a 2-worker Dask cluster."""
    return pipeline("scaleout", *options(series=series, epochs=epochs))


def startup(repeats: int) -> dict[str, Any]:
    """bench/startup.py: wall and CPU seconds of `lstmops --help`, `registry list`, `registry history`, their heavy imports."""
    return run_bench_script("startup.py", ["--repeats", str(repeats)], timeout=600)


def nab_speed(series: int, bins: int, *assignments: str) -> dict[str, Any]:
    """`lstmops benchmark nab-speed`: `lstmops benchmark nab` seconds per series and per epoch on synthetic
    NAB-layout series (the product's detector; `assignments`: KEY=VALUE params.yaml overrides)."""
    options = [option for assignment in assignments for option in ("--set", assignment)]
    return run_lstmops(["benchmark", "nab-speed", "--series", str(series), "--bins", str(bins), *options], timeout=3600)


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
        breakdown = pipeline("breakdown", "--since", since.isoformat(), timeout=600, env=env)
    return {"command": "make run", "wall_s": wall, **breakdown}


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
                [
                    "file",
                    "measured at",
                    "backend",
                    "gpu",
                    "model",
                    "cuDNN",
                    "keras project",
                    "keras arrays",
                    "best / cuDNN",
                ],
                [
                    [
                        g["file"],
                        g["measured_at"],
                        g["backend"],
                        g["gpus"],
                        g["model"],
                        g["cudnn_samples_per_s"],
                        g["project_samples_per_s"],
                        g["arrays_samples_per_s"],
                        g["keras_over_cudnn"],
                    ]
                    for g in results["gpu"]
                ],
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
    names = (
        "windowing_memory",
        "throughput",
        "backends",
        "overhead",
        "prefect_overhead",
        "scaleout",
        "startup",
        "nab_speed",
        "make_run",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"only these: {', '.join(names)}")
    parser.add_argument("--skip", nargs="+", default=[], choices=names)
    parser.add_argument("--points", type=int, help="windowing series length (default 1,000,000)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if unknown := set(args.names) - set(names):
        parser.error(f"no benchmark {', '.join(sorted(unknown))}")

    points = args.points or (100_000 if args.quick else 1_000_000)
    benchmarks = {
        "windowing_memory": lambda: windowing_memory(points, 128),
        "throughput": lambda: throughput(256, 1, 512) if args.quick else throughput(6400, 3, 20_000),
        "backends": lambda: (
            backends(1, 256, 1, 256, ["tensorflow", "jax"])
            if args.quick
            else backends(3, 2048, 2, 2048, ["tensorflow", "jax", "torch", "tensorflow+xla"])
        ),
        "overhead": lambda: pipeline_overhead(1, 2) if args.quick else pipeline_overhead(5, 30),
        "prefect_overhead": lambda: prefect_overhead(1 if args.quick else 5),
        "startup": lambda: startup(1 if args.quick else 3),
        "nab_speed": lambda: nab_speed(1, 4000, "train.epochs=1") if args.quick else nab_speed(2, 4000),
    }
    if not args.quick:
        benchmarks["scaleout"] = lambda: scaleout(8, 5)
        benchmarks["make_run"] = make_run_wall_time
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    errors: dict[str, str] = {}
    for name, benchmark in benchmarks.items():
        if name in args.skip or (args.names and name not in args.names):
            continue
        print(f"running {name} ...", flush=True)
        start = time.perf_counter()
        try:
            results[name] = benchmark()
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
