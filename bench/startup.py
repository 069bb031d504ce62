"""Start-up time of the commands a user types most: `lstmops --help`, `registry list`, `registry history`.

    python bench/startup.py [--repeats 3] [--out result.json]

Each command runs in a fresh process (`python -m lstmops.cli ...`) against the MLflow store of the
working directory (`mlruns/`, or MLFLOW_TRACKING_URI); one warm-up run first (it may create the store),
then `--repeats` timed runs, reported as the median wall seconds and the median CPU seconds (user +
system: on a busy machine the wall time also counts waiting for a core, the CPU time does not), with
the load average beside them. One more run with `-X importtime` tells which heavy libraries the
command imported: none of Great Expectations, TensorFlow, Keras or statsmodels (only the registry
gate tests significance) should load for a command that neither validates, trains nor gates.
`python -c 'import mlflow'`, measured the same way, is the floor under the registry commands: it
varies with what else runs on the machine, and the registry commands with it.
Targets (issue 16): --help under 1.5 s, registry list and history under 3 s on the 2-core dev box.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

# label -> the Python arguments of the command
COMMANDS = {
    "lstmops --help": ["-m", "lstmops.cli.main", "--help"],
    "lstmops registry list": ["-m", "lstmops.cli.main", "registry", "list"],
    "lstmops registry history MODEL": ["-m", "lstmops.cli.main", "registry", "history", "forecaster-DEMOA"],
    # the floor under every registry command: what MLflow's own import costs on this machine right now
    "python -c 'import mlflow'": ["-c", "import mlflow"],
}
TARGETS_S = {"lstmops --help": 1.5, "lstmops registry list": 3.0, "lstmops registry history MODEL": 3.0}
HEAVY = ("great_expectations", "tensorflow", "keras", "matplotlib", "prefect", "statsmodels")


def _python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)


def heavy_imports(args: list[str]) -> list[str]:
    """The heavy top-level packages a command imports (from `python -X importtime`)."""
    stderr = _python("-X", "importtime", *args).stderr
    found = set()
    for line in stderr.splitlines():
        if line.startswith("import time:"):
            name = line.rsplit("|", 1)[-1].strip()
            if name in HEAVY:
                found.add(name)
    return sorted(found)


def measure(args: list[str], repeats: int) -> dict:
    _python(*args)  # warm-up: file-system caches, a first store migration
    seconds, cpu_seconds = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), _children_cpu_s()
        _python(*args)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(_children_cpu_s() - cpu_start)
    return {
        "median_s": statistics.median(seconds),
        "median_cpu_s": statistics.median(cpu_seconds),
        "runs_s": seconds,
        "heavy_imports": heavy_imports(args),
    }


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results = {}
    print(f"load average (1, 5, 15 min): {', '.join(f'{load:.2f}' for load in os.getloadavg())}", flush=True)
    for label, command in COMMANDS.items():
        result = measure(command, args.repeats)
        result["target_s"] = TARGETS_S.get(label)
        results[label] = result
        target = f"target < {result['target_s']:.1f} s" if result["target_s"] else "reference"
        print(
            f"{label:34s} {result['median_s']:6.2f} s ({target}), "
            f"CPU {result['median_cpu_s']:5.2f} s  "
            f"heavy imports: {', '.join(result['heavy_imports']) or 'none'}",
            flush=True,
        )
    if args.out:
        args.out.write_text(json.dumps({"load_average": os.getloadavg(), "commands": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
