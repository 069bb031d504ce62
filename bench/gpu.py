"""GPU training throughput of the three models on one Keras backend, beside plain PyTorch + cuDNN.

Run once per backend on the lent GPU machine (bench/README.md has the full device command):

    KERAS_BACKEND=jax   python bench/gpu.py --out $OUT/gpu-jax.json
    KERAS_BACKEND=torch python bench/gpu.py --out $OUT/gpu-torch.json

Each model is built by its task network builder (`lstmops.tasks.<task>.network`) at the reference shapes (batch 512, hidden 64;
forecaster 60x5 -> 1, LSTM-AE 128x1 -> 128x1, seq2seq + Luong attention 60x5 -> 20 steps) and
trained two ways, both reported:
  project         `lstmops.train.common.fit` over `WindowBatches` (the production training step:
                  batches gathered on the host from window views, then copied to the device);
  arrays          `model.fit` on materialised float32 arrays made by `keras.ops.convert_to_tensor`
                  (on torch they stay on the GPU and batches are sliced there; Keras' JAX data
                  adapter copies them back to host NumPy and feeds each batch, as the project path does).
The plain PyTorch cuDNN model of the same shapes (bench/torch_reference.py) trains on the same data
in the same run. samples/s = samples per epoch / median timed epoch; the first epoch (compilation,
cuDNN autotuning) is reported apart. `--tiny` runs small shapes for a few steps (CPU is fine); without
torch the reference is skipped and the output says so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# JAX would otherwise take 75% of the card at start and starve the torch reference in the same process.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # the checkout's lstmops, installed or not

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from typing import Any  # noqa: E402

# isort: off
import lstmops  # noqa: E402,F401  chooses the Keras backend (KERAS_BACKEND, else the project default) first
import keras  # noqa: E402

# isort: on
import numpy as np  # noqa: E402
from train_throughput import (  # noqa: E402
    CASES,
    KINDS,
    EpochTimer,
    TrainingCase,
    epoch_summary,
    training_throughput,
)

from lstmops.train.common import device_report  # noqa: E402


@dataclass(frozen=True)
class Shapes:
    batch: int
    hidden: int
    forecaster: tuple[int, int]  # window, features
    autoencoder: int  # window (1 feature)
    seq2seq: tuple[int, int, int]  # window, features, horizon


REFERENCE_SHAPES = Shapes(batch=512, hidden=64, forecaster=(60, 5), autoencoder=128, seq2seq=(60, 5, 20))
TINY_SHAPES = Shapes(batch=16, hidden=8, forecaster=(12, 5), autoencoder=16, seq2seq=(12, 5, 4))

# Measured elsewhere on one H100 at REFERENCE_SHAPES (../shared/DESIGN.md); printed for context only.
H100_SAMPLES_PER_S = {
    "forecaster": {"cudnn": 176_745, "keras_jax": 131_402},
    "autoencoder": {"cudnn": 113_431, "keras_jax": 37_773},
    "seq2seq": {"cudnn": 110_317, "keras_jax": 78_356},
}
TARGET_FRACTION_OF_CUDNN = 0.8


def keras_case(kind: str, shapes: Shapes, n_samples: int, seed: int) -> TrainingCase:
    """The project's model of `kind` at `shapes`, over synthetic window views of `n_samples` rows."""
    (window, features), (s2s_window, s2s_features, horizon) = shapes.forecaster, shapes.seq2seq
    sizes = {
        # One LSTM layer and no dropout, exactly the reference network.
        "forecaster": {"window": window, "n_features": features, "units": [shapes.hidden], "dropout": 0.0},
        "autoencoder": {"window": shapes.autoencoder, "units": shapes.hidden},
        "seq2seq": {
            "window": s2s_window,
            "n_features": s2s_features,
            "horizon": horizon,
            "units": shapes.hidden,
            "attention": "luong",
        },
    }
    return CASES[kind](n_samples, seed=seed, **sizes[kind])


def array_throughput(case: TrainingCase, *, batch_size: int, epochs: int, seed: int = 0) -> dict[str, Any]:
    """samples/s of `model.fit` on materialised float32 arrays on the backend's default device."""
    keras.utils.set_random_seed(seed)
    inputs = case.inputs if isinstance(case.inputs, tuple) else (case.inputs,)
    on_device = [keras.ops.convert_to_tensor(np.ascontiguousarray(part, dtype=np.float32)) for part in inputs]
    targets = keras.ops.convert_to_tensor(np.ascontiguousarray(case.targets, dtype=np.float32))
    timer = EpochTimer()
    case.model.fit(
        on_device if len(on_device) > 1 else on_device[0],
        targets,
        batch_size=batch_size,
        epochs=epochs + 1,
        shuffle=True,
        callbacks=[timer],
        verbose=0,
    )
    return epoch_summary(timer.seconds, timer.losses, case.n_samples, path="model.fit on materialised arrays")


def torch_reference(case: TrainingCase, *, hidden: int, batch_size: int, epochs: int, seed: int) -> dict[str, Any]:
    """samples/s of the plain PyTorch cuDNN model on the same data, or why it was skipped."""
    if importlib.util.find_spec("torch") is None:
        return {"skipped": "torch is not installed here: no plain PyTorch cuDNN reference in this run"}
    import torch_reference as reference

    inputs = case.inputs if isinstance(case.inputs, tuple) else (case.inputs,)
    seconds, losses = reference.train_epochs(
        case.kind, inputs, case.targets, hidden=hidden, batch_size=batch_size, epochs=epochs + 1, seed=seed
    )
    return {**epoch_summary(seconds, losses, case.n_samples, path="plain PyTorch, cuDNN LSTM"), **reference.describe()}


def run_model(kind: str, shapes: Shapes, *, steps: int, epochs: int, paths: Sequence[str], seed: int) -> dict:
    n_samples = steps * shapes.batch  # full batches only: no retracing for a short last batch
    result: dict[str, Any] = {"kind": kind}
    print(f"  {kind}: plain PyTorch cuDNN reference ...", flush=True)
    reference_case = keras_case(kind, shapes, n_samples, seed)  # seeded: the same data every path trains on
    result["shape"] = reference_case.shape
    result["cudnn_reference"] = torch_reference(
        reference_case, hidden=shapes.hidden, batch_size=shapes.batch, epochs=epochs, seed=seed
    )
    measures = {"project": training_throughput, "arrays": array_throughput}
    for path in paths:
        print(f"  {kind}: keras {path} ...", flush=True)
        case = keras_case(kind, shapes, n_samples, seed)  # a fresh model per path
        result[path] = measures[path](case, batch_size=shapes.batch, epochs=epochs, seed=seed)
    best = max(result[path]["samples_per_s"] for path in paths)
    result["keras_best_samples_per_s"] = best
    cudnn = result["cudnn_reference"].get("samples_per_s")
    result["keras_over_cudnn"] = best / cudnn if cudnn else None
    return result


def environment() -> dict[str, Any]:
    report = device_report()
    versions = {"keras": keras.__version__, "numpy": np.__version__, "python": platform.python_version()}
    for name in ("jax", "torch"):
        if importlib.util.find_spec(name) is not None:
            versions[name] = __import__(name).__version__
    return {**report, "versions": versions, "keras_cudnn_lstm": keras_cudnn_lstm(report)}


def keras_cudnn_lstm(report: dict[str, Any]) -> bool:
    """Whether Keras' LSTM can take its cuDNN kernel here (else it runs a generic scan over time steps)."""
    backend = report["backend"]
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu" and importlib.util.find_spec("jax.experimental.rnn") is not None
    if backend == "torch":
        import torch

        return torch.cuda.is_available() and torch.backends.cudnn.is_available()
    return bool(report["gpus"])  # tensorflow: cuDNN whenever it sees a GPU


def print_table(results: dict[str, Any]) -> None:
    env = results["environment"]
    print(
        f"\nbackend {env['backend']} on {env['device']} {env['gpus'] or ''} (Keras cuDNN LSTM: "
        f"{'yes' if env['keras_cudnn_lstm'] else 'no'})  batch {results['shapes']['batch']}, "
        f"hidden {results['shapes']['hidden']}, {results['steps']} steps/epoch, samples/s:"
    )
    header = (
        f"{'model':12s} {'cuDNN (this run)':>17s} {'keras project':>14s} {'keras arrays':>14s} "
        f"{'best/cuDNN':>10s}   H100 ref: cuDNN / Keras-JAX"
    )
    print(header)
    for kind, row in results["models"].items():
        cudnn = row["cudnn_reference"].get("samples_per_s")
        cells = [f"{cudnn:17,.0f}" if cudnn else f"{'skipped':>17s}"]
        for path, width in (("project", 14), ("arrays", 14)):
            cells.append(f"{row[path]['samples_per_s']:{width},.0f}" if path in row else f"{'-':>{width}s}")
        ratio = row["keras_over_cudnn"]
        cells.append(f"{ratio:10.2f}" if ratio else f"{'-':>10s}")
        reference = H100_SAMPLES_PER_S[kind]
        print(f"{kind:12s} {' '.join(cells)}   {reference['cudnn']:,} / {reference['keras_jax']:,}")
    skipped = {row["cudnn_reference"].get("skipped") for row in results["models"].values()} - {None}
    for reason in skipped:
        print(f"NOTE: {reason}")
    print(f"target: keras >= {TARGET_FRACTION_OF_CUDNN:.0%} of the cuDNN reference for every model")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="small shapes and few steps (a CPU smoke run)")
    parser.add_argument("--steps", type=int, help="training steps per epoch (default 100, tiny 3)")
    parser.add_argument("--epochs", type=int, help="timed epochs after the warm-up epoch (default 3, tiny 1)")
    parser.add_argument("--models", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--paths", nargs="+", choices=("project", "arrays"), default=["project", "arrays"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)

    shapes = TINY_SHAPES if args.tiny else REFERENCE_SHAPES
    steps = args.steps or (3 if args.tiny else 100)
    epochs = args.epochs or (1 if args.tiny else 3)
    results: dict[str, Any] = {
        "environment": environment(),
        "shapes": asdict(shapes),
        "steps": steps,
        "epochs": epochs,
        "tiny": args.tiny,
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "h100_reference_samples_per_s": H100_SAMPLES_PER_S,
        "models": {},
    }
    print(f"backend {results['environment']['backend']}, device {results['environment']['device']}", flush=True)
    for kind in args.models:
        results["models"][kind] = run_model(kind, shapes, steps=steps, epochs=epochs, paths=args.paths, seed=args.seed)
        # The GPU image has no TensorFlow: on jax/torch nothing on this path may import it.
        results["environment"]["tensorflow_imported"] = "tensorflow" in sys.modules
        if args.out:  # after every model, so a run cut short by its time limit still reports the rest
            args.out.write_text(json.dumps(results, indent=2))
    print_table(results)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
