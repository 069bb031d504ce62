"""Models crossing Keras backends: each task's model trained and saved on one backend, loaded and scored
on another, and the largest difference between the two backends' forecasts of the same rows.

A `.keras` file does not depend on the backend that wrote it, so the same weights should give the same
forecasts up to float32 round-off (the backends' kernels sum in different orders); tests/test_backends.py
asserts that for tiny models, this prints how large the difference is. Keras picks its backend once per
process, so every training and every scoring is a subprocess of this script with `KERAS_BACKEND` set.

    python bench/cross_backend.py                                  # torch <-> jax, params.yaml models, 1 epoch
    python bench/cross_backend.py --backends jax tensorflow torch --tiny --out /tmp/cross.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))  # bench/ holds scripts, not a package: they import each other by name
from _env import QUIET_ENV  # noqa: E402

RAW_FILE, PREDICTIONS_FILE, MODEL_FOLDER = "raw.parquet", "predictions.parquet", "model"


def train_here(work: Path, *, params_file: Path, epochs: int, tiny: bool) -> None:
    """On this process's backend: per task, train on its first demo series, then save the model, the raw
    rows and the model's forecasts of them under `work/<backend>/<task>/`."""
    import keras

    from lstmops.config import load_params
    from lstmops.data import ingest, prepare
    from lstmops.tasks import get_task, task_names

    backend = keras.backend.backend()
    for name in task_names():
        task = get_task(name)
        folder = work / backend / name
        folder.mkdir(parents=True, exist_ok=True)
        overrides = {
            "data.root": str(folder / "data"),
            **(task.tiny_overrides if tiny else {}),
            "train.epochs": epochs,
            "train.verbose": 0,
        }
        params = load_params(params_file, overrides=overrides)
        validated = ingest.validate_all(ingest.snapshot(task.data_kind, params, source="demo"), params)[0]
        raw = ingest.load_validated(validated.validated_path)[0]
        trained = task.train(prepare.prepare_series(validated.validated_path, params), params)
        trained.save(folder / MODEL_FOLDER)
        raw.to_parquet(folder / RAW_FILE)
        trained.predict_raw(raw).to_parquet(folder / PREDICTIONS_FILE)


def score_here(work: Path, trained_on: str) -> list[dict[str, Any]]:
    """On this process's backend: load each model `trained_on` saved, forecast its raw rows, compare."""
    import keras
    import numpy as np
    import pandas as pd

    from lstmops.tasks import get_task, task_names

    rows = []
    for name in task_names():
        folder = work / trained_on / name
        loaded = get_task(name).trained_class().load(folder / MODEL_FOLDER)
        here = loaded.predict_raw(pd.read_parquet(folder / RAW_FILE)).select_dtypes("number")
        there = pd.read_parquet(folder / PREDICTIONS_FILE).select_dtypes("number")
        if list(here.columns) != list(there.columns) or len(here) != len(there):
            raise RuntimeError(f"{name}: forecasts of different shape on {trained_on} and {keras.backend.backend()}")
        difference = np.abs(here.to_numpy(dtype=float) - there.to_numpy(dtype=float))
        rows.append(
            {
                "task": name,
                "trained_on": trained_on,
                "scored_on": keras.backend.backend(),
                "values": int(np.isfinite(difference).sum()),
                "max_abs_diff": float(np.nanmax(difference)),
                "max_abs_forecast": float(np.nanmax(np.abs(there.to_numpy(dtype=float)))),
            }
        )
    return rows


def on_backend(backend: str, arguments: list[str], *, timeout: float) -> None:
    """Run this script's `arguments` in a subprocess whose Keras backend is `backend`."""
    command = [sys.executable, str(Path(__file__).resolve()), *arguments]
    env = {**os.environ, **QUIET_ENV, "KERAS_BACKEND": backend}
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0:
        raise RuntimeError(
            f"KERAS_BACKEND={backend} {' '.join(command)} exited {completed.returncode}:\n"
            f"{(completed.stdout + completed.stderr)[-3000:]}"
        )


def measure(
    backends: Sequence[str], *, params_file: Path, epochs: int, tiny: bool, timeout: float
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="lstmops-cross-") as scratch:
        work = Path(scratch)
        for backend in backends:
            train = ["--train", "--work", str(work), "--params", str(params_file), "--epochs", str(epochs)]
            on_backend(backend, train + (["--tiny"] if tiny else []), timeout=timeout)
        for trained_on, scored_on in itertools.permutations(backends, 2):
            result = work / f"{trained_on}-on-{scored_on}.json"
            on_backend(
                scored_on,
                ["--score", "--work", str(work), "--trained-on", trained_on, "--result", str(result)],
                timeout=timeout,
            )
            rows.extend(json.loads(result.read_text()))
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]] | None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=["torch", "jax"])
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--tiny", action="store_true", help="the test suite's tiny data and models")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per training or scoring process")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    # one side of the measurement, run by `on_backend` in a subprocess
    parser.add_argument("--train", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--score", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trained-on", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.train or args.score:
        import lstmops  # noqa: F401  chooses the Keras backend (KERAS_BACKEND) before Keras is imported

        if args.train:
            train_here(args.work, params_file=args.params, epochs=args.epochs, tiny=args.tiny)
        else:
            args.result.write_text(json.dumps(score_here(args.work, args.trained_on)))
        return None

    rows = measure(args.backends, params_file=args.params, epochs=args.epochs, tiny=args.tiny, timeout=args.timeout)
    from tables import format_table

    headers = ["task", "trained on", "scored on", "values", "max |diff|", "max |forecast|"]
    table = [
        [r["task"], r["trained_on"], r["scored_on"], r["values"], f"{r['max_abs_diff']:.2e}", r["max_abs_forecast"]]
        for r in rows
    ]
    size = "tiny models" if args.tiny else f"{args.params.name} models"
    print(
        format_table(
            f"Forecasts of one saved model on two Keras backends ({size}, {args.epochs} epoch(s))", headers, table
        )
    )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
