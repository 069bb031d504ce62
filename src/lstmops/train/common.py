"""What every model kind shares: the seeded fit loop (early stopping, learning-rate schedule, device
report) and the preprocessing state file beside a saved model."""

from __future__ import annotations

import json
import os
import platform
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lstmops.config import TrainParams
from lstmops.train import live

MODEL_FILE = "model.keras"  # the Keras network beside the preprocessing state
PREPROCESSING_FILE = "preprocessing.json"


# What a seeded rerun on the same machine, versions and data gives back, per backend (logged with
# every run in the device report). Across backends, or across CPU models, results differ in the last
# bits of float32: only the same backend on the same hardware promises a bitwise rerun.
DETERMINISM = {
    "tensorflow": "bitwise: seeds + tf op determinism (process-wide; on GPU it also forces slower kernels)",
    "jax": "bitwise on CPU: seeds; XLA's CPU kernels sum in a fixed order (GPU: XLA_FLAGS=--xla_gpu_deterministic_ops=true)",
    "torch": "bitwise on CPU with the same thread count (device.threads): seeds + torch.use_deterministic_algorithms "
    "(GPU: also CUBLAS_WORKSPACE_CONFIG=:4096:8)",
}


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the Keras backend so a rerun trains the same model (see `DETERMINISM`).

    Seeds alone are not enough on TensorFlow: multi-threaded CPU kernels may sum in a different
    order from run to run, so op determinism is switched on as well. JAX needs nothing more on CPU
    (Keras draws its initialisers and dropout masks from keys derived from the seed). On torch,
    deterministic algorithms are asked for (process-wide; an op without a deterministic version warns
    rather than stopping the training). torch's CPU kernels split sums by thread, so a rerun is bitwise
    only with the same thread count, which the device report logs.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
        return
    _seed_without_tensorflow(seed)
    if backend == "torch":
        import torch

        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)


def _seed_without_tensorflow(seed: int) -> None:
    """`keras.utils.set_random_seed` without its `tf.random.set_seed`, which imports TensorFlow whenever it
    is installed (for tf.data pipelines, which lstmops does not use): on JAX that costs seconds and prints
    TensorFlow's start-up lines. The same steps otherwise: the seed Keras reports, a fresh global
    SeedGenerator (re-drawn from Python's seeded `random`), Python's and NumPy's generators. Keras has no
    public name for the first two; tests/test_this_backend.py checks that the draws match set_random_seed's.
    """
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)


def device_report() -> dict[str, Any]:
    """Which backend (and version), accelerators and determinism training sees; logged with every run."""
    backend = keras.backend.backend()
    gpus: list[str] = []
    threads: dict[str, int] = {}
    if backend == "tensorflow":
        import tensorflow as tf

        backend_version = tf.__version__
        gpus = [device.name for device in tf.config.list_physical_devices("GPU")]
    elif backend == "jax":
        import jax

        backend_version = jax.__version__
        gpus = [str(device) for device in jax.devices() if device.platform in ("gpu", "cuda", "rocm")]
    elif backend == "torch":
        import torch

        backend_version = torch.__version__
        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        threads = {"threads": torch.get_num_threads()}  # a bitwise rerun needs the same count
    else:
        backend_version = "unknown"
    return {
        "backend": backend,
        "backend_version": backend_version,
        "keras_version": keras.__version__,
        "device": "gpu" if gpus else "cpu",
        "gpus": gpus,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "mixed_precision": keras.mixed_precision.dtype_policy().name,
        "determinism": DETERMINISM.get(backend, "unknown"),
        **threads,
    }


def enable_gpu_memory_growth() -> None:
    """On TensorFlow, allocate GPU memory as needed instead of all at start (several workers per card)."""
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)


class WindowBatches(keras.utils.PyDataset):
    """Batches gathered from strided window views, cast to float32 one batch at a time.

    Memory stays O(series): only the current batch is ever copied out of the views. Shuffling
    reorders windows of this part only (the train part never sees val/test windows).
    """

    def __init__(
        self, inputs: Any, targets: np.ndarray, *, batch_size: int, shuffle: bool = False, seed: int = 0, **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.inputs = inputs if isinstance(inputs, tuple) else (inputs,)
        self.targets = targets
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(targets))
        if shuffle:
            self._rng.shuffle(self._order)

    def __len__(self) -> int:
        return -(-len(self._order) // self.batch_size)

    def __getitem__(self, index: int) -> tuple[Any, np.ndarray]:
        rows = np.sort(self._order[index * self.batch_size : (index + 1) * self.batch_size])
        xs = tuple(np.asarray(part[rows], dtype=np.float32) for part in self.inputs)
        return (xs if len(xs) > 1 else xs[0]), np.asarray(self.targets[rows], dtype=np.float32)

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._rng.shuffle(self._order)


def fit(
    model: keras.Model,
    train: WindowBatches,
    *,
    validation: WindowBatches | None,
    params: TrainParams,
    epochs: int | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> dict[str, list[float]]:
    """Train with early stopping (best weights restored) and ReduceLROnPlateau; returns the history.

    Without validation data (e.g. Orion's train-on-the-whole-signal protocol) both watch the
    training loss instead. The callbacks of an enclosing `live.watching(...)` run too (live MLflow
    epochs, the progress line); while a progress line shows, Keras prints no epoch lines of its own.
    """
    monitor = "val_loss" if validation is not None else "loss"
    schedule = [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=params.patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, factor=params.lr_factor, patience=params.lr_patience, min_lr=1e-5
        ),
    ]
    history = model.fit(
        train,
        validation_data=validation,
        epochs=epochs or params.epochs,
        callbacks=[*schedule, *callbacks, *live.current_callbacks()],
        verbose=0 if live.progress_shown() else params.verbose,
    )
    return {name: [float(v) for v in values] for name, values in history.history.items()}


def predict(model: keras.Model, inputs: Any, *, batch_size: int = 1024) -> np.ndarray:
    """Predict over window views batch by batch (no full float32 copy of the windows).

    Every batch is padded to `batch_size` rows, so the backend traces its predict step once per
    model: each new batch shape would be traced again (about 0.3 s each on TensorFlow; a run
    predicts validation, test and the input example, all of different lengths).
    """
    batches = WindowBatches(
        inputs, np.zeros(len(inputs[0] if isinstance(inputs, tuple) else inputs)), batch_size=batch_size
    )
    outputs = []
    for index in range(len(batches)):
        batch = batches[index][0]
        parts = batch if isinstance(batch, tuple) else (batch,)
        rows = len(parts[0])
        padded = tuple(np.pad(part, [(0, batch_size - rows)] + [(0, 0)] * (part.ndim - 1)) for part in parts)
        outputs.append(np.asarray(model.predict_on_batch(padded if len(padded) > 1 else padded[0]))[:rows])
    return np.concatenate(outputs)


def write_state(folder: Path, kind: str, state: dict[str, Any]) -> None:
    """Write a trained model's preprocessing state to folder/preprocessing.json, tagged with its kind."""
    (Path(folder) / PREPROCESSING_FILE).write_text(json.dumps({"kind": kind, **state}, indent=2) + "\n")


def read_state(folder: Path, kind: str) -> dict[str, Any]:
    """The state `write_state` left in `folder`; a folder that another model kind saved is refused."""
    folder = Path(folder)
    state = json.loads((folder / PREPROCESSING_FILE).read_text())
    if state.get("kind") != kind:
        raise ValueError(f"{folder}: holds a {state.get('kind')!r} model, not a {kind!r}")
    return state
