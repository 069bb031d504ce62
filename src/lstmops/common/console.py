"""What reaches the user's terminal: progress and results, not library chatter they cannot act on.

`LSTMOPS_LOG_LEVEL=DEBUG` (or `lstmops --verbose`) brings every line back. Otherwise:
- TensorFlow's C++ start-up lines (`oneDNN custom operations are on`, `cpu_feature_guard`, `absl::InitializeLog`)
  are printed while TensorFlow loads, before any log level applies: the first Keras import (and on JAX,
  the TensorFlow import that Keras makes when it saves a model) runs with file descriptor 2 pointed at
  /dev/null (`import_keras_quietly`, `import_tensorflow_quietly`), and `TF_CPP_MIN_LOG_LEVEL=3` keeps
  its later C++ messages (`node_def_util.cc ... use_unbounded_threadpool`, a TF 2.21 graph-version
  notice) off the console;
- the messages listed in `NOISE` are dropped where their library logs them. Each is informational for
  this project (see the comments there); everything else at WARNING and above still shows.

Nothing here imports a heavy library.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec

LOG_LEVEL_VARIABLE = "LSTMOPS_LOG_LEVEL"

# logger name -> message beginnings dropped from it (not from the Prefect/MLflow run logs: not logged there)
NOISE: dict[str, tuple[str, ...]] = {
    # MLflow: lstmops logs a pyfunc *object* on purpose (its code ships as code_paths); the model's own
    # bundle is what gets loaded, and only from the team's own store.
    "mlflow.pyfunc": ("Passing a Python object as `python_model`", "Validating input example against model signature"),
    # MLflow creating a new SQLite store's tables (the first command in a fresh folder): nothing to act on.
    "mlflow.store.db.utils": ("Creating initial MLflow database tables", "Updating database tables"),
    # Keras on TensorFlow: each newly built model (backtest folds, gate re-evaluations) traces its own
    # predict step once; the detector counts those across models as "retracing".
    "tensorflow": ("triggered tf.function retracing",),
}
# Python warnings dropped (category, message beginning).
NOISY_WARNINGS: tuple[tuple[type[Warning], str], ...] = (
    # The raw input example has an integer `volume` column; the served model casts what it receives.
    (UserWarning, "Hint: Inferred schema contains integer column"),
)

_import_lock = threading.Lock()


def verbose() -> bool:
    """True when the user asked for full detail (`LSTMOPS_LOG_LEVEL=DEBUG`, set by `--verbose`)."""
    return os.environ.get(LOG_LEVEL_VARIABLE, "").upper() == "DEBUG"


def set_verbose() -> None:
    os.environ[LOG_LEVEL_VARIABLE] = "DEBUG"


class _Drop(logging.Filter):
    def __init__(self, beginnings: tuple[str, ...]) -> None:
        super().__init__()
        self.beginnings = beginnings

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(beginning in message for beginning in self.beginnings)


def quiet_libraries() -> None:
    """Apply the rules above (once per process is enough; repeating it is harmless). No-op when verbose."""
    if verbose():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name, beginnings in NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Drop) for f in logger.filters):
            logger.addFilter(_Drop(beginnings))
    for category, beginning in NOISY_WARNINGS:
        warnings.filterwarnings("ignore", message=beginning, category=category)


@contextmanager
def stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the block (C++ libraries write there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras_quietly() -> None:
    """Import Keras (and its TensorFlow backend) with TensorFlow's load-time C++ lines kept off the console.

    An import error still raises (its traceback prints once stderr is back).
    """
    _import_quietly("keras")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow, where installed, with its load-time C++ lines kept off the console.

    On JAX, Keras still imports TensorFlow when it saves a model (its serializer checks for TensorFlow
    types whenever TensorFlow is installed): call this before saving.
    """
    if find_spec("tensorflow") is not None:
        _import_quietly("tensorflow")


def _import_quietly(module: str) -> None:
    if module in sys.modules or verbose():
        return
    quiet_libraries()
    with _import_lock:
        if module in sys.modules:
            return
        with stderr_silenced():
            importlib.import_module(module)
