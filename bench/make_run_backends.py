"""`make run` on the demo under each Keras backend: wall time, and whether every model got a champion.

    python bench/make_run_backends.py                       # tensorflow, then jax
    python bench/make_run_backends.py --backends jax tensorflow --out /tmp/make-run.json

Each run is what `make run` runs (`python flows/retrain.py`) in its own temp folder (data root,
MLflow store, Prefect home), as `bench/run.py` times it; after it, the registry of that store is read:
each registered model's @champion version and its gate metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
from run import BenchError, bench_env  # noqa: E402

CHAMPIONS = """
import json, sys, mlflow
client = mlflow.MlflowClient()
out = {}
for model in client.search_registered_models():
    aliases = client.get_registered_model(model.name).aliases
    version = aliases.get("champion")
    run = client.get_run(client.get_model_version(model.name, version).run_id) if version else None
    out[model.name] = {"aliases": aliases, "champion_metrics": run.data.metrics if run else None,
                       "backend": run.data.tags.get("device.backend") if run else None}
json.dump(out, sys.stdout)
"""


def make_run(backend: str, *, timeout: float = 3600) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"lstmops-make-run-{backend}-") as tmp:
        folder = Path(tmp)
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        params["data"]["root"] = str(folder / "data")
        (folder / "params.yaml").write_text(yaml.safe_dump(params))
        env = bench_env(
            KERAS_BACKEND=backend,
            PREFECT_HOME=str(folder / "prefect"),
            MLFLOW_TRACKING_URI=f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}",
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            PYTHONPATH=str(ROOT / "src"),  # this checkout's lstmops, whichever one the venv has installed
        )
        (folder / "mlruns").mkdir()
        command = [sys.executable, str(ROOT / "flows" / "retrain.py"), str(folder / "params.yaml")]
        start = time.perf_counter()
        completed = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)
        wall = time.perf_counter() - start
        if completed.returncode != 0:
            raise BenchError(
                f"{backend}: {' '.join(command)} exited {completed.returncode}:\n{completed.stderr[-3000:]}"
            )
        champions = subprocess.run(
            [sys.executable, "-c", CHAMPIONS], cwd=folder, env=env, capture_output=True, text=True, timeout=600
        )
    return {
        "backend": backend,
        "wall_s": wall,
        "load_average_at_end": os.getloadavg(),
        "stdout_tail": completed.stdout[-4000:],
        "registry": json.loads(champions.stdout) if champions.returncode == 0 else champions.stderr[-2000:],
    }


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results = []
    for backend in args.backends:
        result = make_run(backend)
        results.append(result)
        print(f"{backend}: make run {result['wall_s']:.1f} s wall", flush=True)
        for name, entry in (result["registry"] if isinstance(result["registry"], dict) else {}).items():
            print(f"  {name}: aliases {entry['aliases']}, champion trained on {entry['backend']}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
