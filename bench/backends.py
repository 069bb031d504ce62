"""The backend table: training samples/s and scoring windows/s of every model on each Keras backend.

Keras picks its backend once, at import, so each measurement is one `train_throughput.py` process
with `KERAS_BACKEND` set. Backends are interleaved (round r runs them in turn, the order reversed
every other round) so that load from other work on the machine falls on all of them alike; the
table shows the median over rounds and the min-max spread.

    python bench/backends.py                                     # tensorflow, jax and torch, 3 rounds
    python bench/backends.py --rounds 5 --variants tensorflow jax tensorflow+xla
    python bench/backends.py --samples 512 --epochs 1 --rounds 1 # smoke run

A variant is a backend name, optionally `+xla` (XLA-compiled train and predict steps; on JAX that is
always the case, on TensorFlow it means `jit_compile=True`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))  # bench/ holds scripts, not a package: they import each other by name
from _env import ROOT, BenchError, bench_env, options, run_for_json  # noqa: E402
from tables import format_table  # noqa: E402


def run_variant(variant: str, args: Sequence[str], *, timeout: float = 3600) -> dict[str, Any]:
    """One `train_throughput.py` process on `variant` ("jax", "tensorflow", "torch", "tensorflow+xla")."""
    backend, _, extra = variant.partition("+")
    command = [sys.executable, str(BENCH / "train_throughput.py"), *args]
    if extra == "xla":
        command.append("--jit-compile")
    try:
        result = run_for_json(command, timeout=timeout, env=bench_env(KERAS_BACKEND=backend))
    except BenchError as err:
        raise BenchError(f"KERAS_BACKEND={backend} {err}") from None
    if result["backend"] != backend:
        raise RuntimeError(f"asked for {backend}, the process ran on {result['backend']}")
    return result


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per model and variant: median and min/max over rounds of samples/s and windows/s."""
    models: dict[str, Any] = {}
    for variant, results in runs.items():
        for kind in results[0]["models"]:
            rows = [r["models"][kind] for r in results]
            train = [row["training"]["samples_per_s"] for row in rows]
            score = [row["scoring"]["windows_per_s"] for row in rows]
            warmup = [row["training"]["warmup_epoch_seconds"] for row in rows]
            train_cpu = [row["training"].get("cpu_samples_per_s", float("nan")) for row in rows]
            entry = models.setdefault(kind, {"shape": rows[0]["shape"], "variants": {}})
            entry["variants"][variant] = {
                "train_samples_per_s": statistics.median(train),
                "train_min_max": [min(train), max(train)],
                "score_windows_per_s": statistics.median(score),
                "score_min_max": [min(score), max(score)],
                "warmup_epoch_s": statistics.median(warmup),
                "train_samples_per_cpu_s": statistics.median(train_cpu),
                "rounds": len(rows),
            }
    return models


def measure(
    *, variants: Sequence[str], rounds: int, samples: int, epochs: int, scoring_windows: int, params: Path
) -> dict[str, Any]:
    args = options(params=params, samples=samples, epochs=epochs, scoring_windows=scoring_windows)
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
    for round_ in range(rounds):
        order = list(variants) if round_ % 2 == 0 else list(reversed(variants))
        for variant in order:
            runs[variant].append(run_variant(variant, args))
    return {
        "variants": list(variants),
        "rounds": rounds,
        "samples": samples,
        "epochs": epochs,
        "scoring_windows": scoring_windows,
        "batch_size": runs[variants[0]][0]["batch_size"],
        "models": summarise(runs),
        "runs": runs,
    }


def table_rows(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the backend table: one row per model and variant, with speed-up over the first."""
    base = result["variants"][0]
    headers = [
        "model",
        "backend",
        "train samples/s",
        "train min-max",
        f"train vs {base}",
        "train samples/CPU-s",
        f"CPU-s vs {base}",
        "warm-up epoch s",
        "score windows/s",
        "score min-max",
        f"score vs {base}",
    ]
    rows = []
    for kind, model in result["models"].items():
        first = model["variants"][base]
        for variant, v in model["variants"].items():
            rows.append(
                [
                    f"{kind} ({model['shape']})",
                    variant,
                    v["train_samples_per_s"],
                    "{:,.0f}-{:,.0f}".format(*v["train_min_max"]),
                    f"{v['train_samples_per_s'] / first['train_samples_per_s']:.2f}x",
                    v["train_samples_per_cpu_s"],
                    f"{v['train_samples_per_cpu_s'] / first['train_samples_per_cpu_s']:.2f}x",
                    v["warmup_epoch_s"],
                    v["score_windows_per_s"],
                    "{:,.0f}-{:,.0f}".format(*v["score_min_max"]),
                    f"{v['score_windows_per_s'] / first['score_windows_per_s']:.2f}x",
                ]
            )
    return headers, rows


def table(result: dict[str, Any]) -> str:
    """The backend table as `make bench` and this script print it."""
    return format_table(
        f"Keras backends on CPU, batch {result['batch_size']}: medians of {result['rounds']} interleaved rounds "
        f"({result['samples']} samples x {result['epochs']} timed epochs; {result['scoring_windows']} windows scored)",
        *table_rows(result),
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", default=["tensorflow", "jax", "torch"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=2048, help="training windows per epoch")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs after the warm-up epoch")
    parser.add_argument("--scoring-windows", type=int, default=2048)
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)

    result = measure(
        variants=args.variants,
        rounds=args.rounds,
        samples=args.samples,
        epochs=args.epochs,
        scoring_windows=args.scoring_windows,
        params=args.params,
    )
    print(table(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
