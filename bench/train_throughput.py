"""Training (samples/s) and batch-scoring (windows/s) throughput of the three models.

Everything goes through the project's own code: the task network builders (`lstmops.tasks.<task>.network`), window views from
`lstmops.data.windows`, `lstmops.train.common.WindowBatches` + `fit` for training and
`lstmops.train.common.predict` (forecaster, autoencoder) or `Seq2Seq.predict` (recursive decoding)
for scoring. Inputs are synthetic series of the right shape: throughput does not depend on values.
The first epoch (graph tracing / compilation) is timed apart and left out of samples/s.

    python bench/train_throughput.py                 # params.yaml sizes, prints a table
    python bench/train_throughput.py --samples 512 --epochs 1 --out /tmp/throughput.json
    KERAS_BACKEND=tensorflow python bench/train_throughput.py --jit-compile   # TensorFlow with XLA

The backend is the process's Keras backend (`KERAS_BACKEND`, else lstmops' default): `bench/backends.py`
runs this script once per backend per round, interleaved, for the backend table.

`bench/gpu.py` reuses the case builders below at the GPU reference shapes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# isort: off
import lstmops  # noqa: F401  chooses the Keras backend (KERAS_BACKEND, else the project default) first
import keras

# isort: on
import numpy as np

from lstmops.config import Params, TrainParams, load_params
from lstmops.data.windows import supervised_windows
from lstmops.tasks.autoencoder.network import build_autoencoder
from lstmops.tasks.forecaster.network import build_forecaster
from lstmops.tasks.seq2seq.network import build_seq2seq
from lstmops.train.common import WindowBatches, fit, predict, set_seed

KINDS = ("forecaster", "autoencoder", "seq2seq")


@dataclass
class TrainingCase:
    """One model kind ready to train and score: the model `fit` trains, its inputs and targets as
    window views over a synthetic series, and the scoring call for a batch of windows."""

    kind: str
    shape: str  # e.g. "30x3 -> 1, units [32, 16]"
    model: keras.Model
    inputs: np.ndarray | tuple[np.ndarray, ...]
    targets: np.ndarray
    score: Callable[[np.ndarray], Any]
    windows: np.ndarray  # what `score` takes: (n, window, features) views

    @property
    def n_samples(self) -> int:
        return len(self.targets)


def synthetic_series(n_rows: int, n_features: int, *, seed: int = 0) -> np.ndarray:
    """(n_rows, n_features) float64: a daily-like sine plus a random walk per column."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)[:, None]
    walk = rng.standard_normal((n_rows, n_features)).cumsum(axis=0) * 0.05
    return np.sin(2 * np.pi * t / 288 + np.arange(n_features)) + walk


def forecaster_case(
    n_samples: int,
    *,
    window: int,
    n_features: int,
    units: Sequence[int],
    dropout: float = 0.0,
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> TrainingCase:
    series = synthetic_series(n_samples + window, n_features, seed=seed)
    windows = supervised_windows(series, series[:, 0], window)
    model = build_forecaster(window, n_features, units=units, dropout=dropout, learning_rate=learning_rate)
    return TrainingCase(
        kind="forecaster",
        shape=f"{window}x{n_features} -> 1, units {list(units)}",
        model=model,
        inputs=windows.X,
        targets=windows.y,
        score=lambda x: predict(model, x),
        windows=windows.X,
    )


def autoencoder_case(
    n_samples: int, *, window: int, units: int, learning_rate: float = 1e-3, seed: int = 0
) -> TrainingCase:
    series = synthetic_series(n_samples + window, 1, seed=seed)
    # The autoencoder reconstructs each window: inputs and targets are the same views.
    windows = supervised_windows(series, series[:, 0], window).X
    model = build_autoencoder(window, 1, units=units, learning_rate=learning_rate)
    return TrainingCase(
        kind="autoencoder",
        shape=f"{window}x1 -> {window}x1, units {units}",
        model=model,
        inputs=windows,
        targets=windows,
        score=lambda x: predict(model, x),
        windows=windows,
    )


def seq2seq_case(
    n_samples: int,
    *,
    window: int,
    n_features: int,
    horizon: int,
    units: int,
    attention: str = "luong",
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> TrainingCase:
    series = synthetic_series(n_samples + window + horizon - 1, n_features, seed=seed)
    windows = supervised_windows(series, series[:, 0], window, horizon)
    seq2seq = build_seq2seq(
        window, n_features, horizon, units=units, attention=attention, learning_rate=learning_rate, target_index=0
    )
    x, decoder_inputs = seq2seq.training_inputs(windows.X, windows.y)  # teacher forcing
    return TrainingCase(
        kind="seq2seq",
        shape=f"{window}x{n_features} -> {horizon} steps, units {units}, {attention} attention",
        model=seq2seq.training_model,
        inputs=(x, decoder_inputs),
        targets=windows.y[:, :, None],
        score=lambda w: seq2seq.predict(w)[0],
        windows=windows.X,
    )


CASES = {"forecaster": forecaster_case, "autoencoder": autoencoder_case, "seq2seq": seq2seq_case}


def default_cases(params: Params, n_samples: int, kinds: Sequence[str] = KINDS) -> list[TrainingCase]:
    """The three models at the sizes `params` (params.yaml) trains them with."""
    f, a, s, prices = params.models.forecaster, params.models.autoencoder, params.models.seq2seq, params.windows.prices
    sizes = {
        "forecaster": {
            "window": prices.window,
            "n_features": len(prices.features),
            "units": f.units,
            "dropout": f.dropout,
            "learning_rate": f.learning_rate,
        },
        "autoencoder": {"window": params.windows.sensors.window, "units": a.units, "learning_rate": a.learning_rate},
        "seq2seq": {
            "window": s.window,
            "n_features": 1 + 2 * len(s.calendar),  # what the seq2seq trainer builds: the value + sin/cos per period
            "horizon": s.horizon,
            "units": s.units,
            "attention": s.attention,
            "learning_rate": s.learning_rate,
        },
    }
    return [CASES[kind](n_samples, seed=params.train.seed, **sizes[kind]) for kind in kinds]


class EpochTimer(keras.callbacks.Callback):
    """Wall and process CPU time of each epoch; reading the epoch's loss first waits for the device to finish.

    CPU seconds (all threads of this process) are the steadier number on a shared machine: other
    work on the cores stretches wall time, not the CPU time this process needs."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []
        self.losses: list[float] = []
        self._start = 0.0
        self._cpu_start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.losses.append(float((logs or {})["loss"]))
        self.seconds.append(time.perf_counter() - self._start)
        self.cpu_seconds.append(time.process_time() - self._cpu_start)


def use_xla(case: TrainingCase) -> None:
    """Compile `case.model`'s train and predict steps with XLA (TensorFlow's `jit_compile=True`).

    Keras turns XLA off on TensorFlow whenever op determinism is on (`set_seed` switches it on), so
    the XLA variant is seeded but not bitwise deterministic.
    """
    if keras.backend.backend() == "tensorflow":
        from tensorflow.python.framework import config as tf_config

        tf_config.disable_op_determinism()
    case.model.jit_compile = True
    if not case.model.jit_compile:
        raise RuntimeError(f"{case.kind}: Keras refused jit_compile on this model")


def training_throughput(
    case: TrainingCase, *, batch_size: int, epochs: int, seed: int = 0, jit_compile: bool = False
) -> dict[str, Any]:
    """Samples/s of `common.fit` over shuffled `WindowBatches`: 1 warm-up epoch, then `epochs` timed ones."""
    set_seed(seed)
    if jit_compile:
        use_xla(case)
    timer = EpochTimer()
    # Patience beyond the run: the schedule's callbacks run (as in production) but never stop it.
    train_params = TrainParams(
        seed=seed, epochs=epochs + 1, batch_size=batch_size, patience=epochs + 2, lr_patience=epochs + 2, verbose=0
    )
    batches = WindowBatches(case.inputs, case.targets, batch_size=batch_size, shuffle=True, seed=seed)
    fit(case.model, batches, validation=None, params=train_params, callbacks=[timer])
    summary = epoch_summary(
        timer.seconds, timer.losses, case.n_samples, path="lstmops.train.common.fit + WindowBatches"
    )
    summary["cpu_samples_per_s"] = case.n_samples / statistics.median(timer.cpu_seconds[1:])
    return summary


def epoch_summary(
    seconds: Sequence[float], losses: Sequence[float], samples_per_epoch: int, *, path: str
) -> dict[str, Any]:
    """samples/s from the median timed epoch (the first, compiling one, reported apart)."""
    warmup, *timed = seconds
    if not timed:
        raise ValueError("need at least one timed epoch after the warm-up epoch")
    median = statistics.median(timed)
    return {
        "path": path,
        "samples_per_epoch": samples_per_epoch,
        "samples_per_s": samples_per_epoch / median,
        "epoch_seconds": timed,
        "warmup_epoch_seconds": warmup,
        "loss_per_epoch": list(losses),
    }


def scoring_throughput(case: TrainingCase, *, repeats: int = 3, jit_compile: bool = False) -> dict[str, Any]:
    """Windows/s of the scoring call over all of `case.windows` (best of `repeats`, after one warm-up).

    With `jit_compile`, the model's predict step is compiled by XLA (the seq2seq's recursive decoder
    runs its own inference models, which stay as they are)."""
    if jit_compile:
        use_xla(case)
    case.score(case.windows[:64])  # traces the predict function
    seconds, cpu_seconds = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        scores = case.score(case.windows)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    if len(scores) != len(case.windows):
        raise ValueError(f"{case.kind}: scoring returned {len(scores)} rows for {len(case.windows)} windows")
    return {
        "windows": len(case.windows),
        "windows_per_s": len(case.windows) / min(seconds),
        "cpu_windows_per_s": len(case.windows) / min(cpu_seconds),
        "seconds": seconds,
    }


def measure(
    params: Params,
    *,
    samples: int,
    epochs: int,
    scoring_windows: int,
    kinds: Sequence[str] = KINDS,
    jit_compile: bool = False,
) -> dict[str, Any]:
    """Training and scoring throughput of each kind at `params`' sizes, with the backend it ran on."""
    results: dict[str, Any] = {
        "backend": keras.backend.backend(),
        "jit_compile": jit_compile,
        "batch_size": params.train.batch_size,
        "models": {},
    }
    for kind in kinds:
        (train_case,) = default_cases(params, samples, [kind])
        training = training_throughput(
            train_case,
            batch_size=params.train.batch_size,
            epochs=epochs,
            seed=params.train.seed,
            jit_compile=jit_compile,
        )
        # A fresh model of the same shape: scoring time does not depend on the weights' values.
        (score_case,) = default_cases(params, scoring_windows, [kind])
        results["models"][kind] = {
            "shape": train_case.shape,
            "training": training,
            "scoring": scoring_throughput(score_case, jit_compile=jit_compile),
        }
    return results


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--samples", type=int, default=6400, help="training windows per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after the warm-up epoch")
    parser.add_argument("--scoring-windows", type=int, default=20_000)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--jit-compile", action="store_true", help="XLA-compile train and predict steps")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)

    results = measure(
        load_params(args.params),
        samples=args.samples,
        epochs=args.epochs,
        scoring_windows=args.scoring_windows,
        kinds=args.kinds,
        jit_compile=args.jit_compile,
    )
    for kind, result in results["models"].items():
        print(
            f"{kind:12s} {result['shape']:55s} train {result['training']['samples_per_s']:10,.0f} samples/s"
            f"   score {result['scoring']['windows_per_s']:10,.0f} windows/s"
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
