"""lstmops: MLOps for LSTM-family sequence models (Prefect, MLflow, DVC, Great Expectations, Keras 3).

Importing `lstmops` chooses the Keras backend when `KERAS_BACKEND` does not: Keras reads it once, at
its own import, and every entry point (CLI, flows, the MLflow pyfunc, which ships this package, and
tests/conftest.py) imports `lstmops` before anything imports Keras. A params.yaml key could not do
this: params are read after the modules that import Keras. See README, "Performance and Keras backends".
"""

import os
import sys
import warnings
from importlib.util import find_spec

from lstmops.common import compile_cache

__version__ = "0.1.0"

# Measured on CPU (bench/backends.py): the same Keras models train 2-4x faster on JAX than on
# TensorFlow, and far faster than on torch. `KERAS_BACKEND=tensorflow` or `torch` still selects another
# backend for one process.
DEFAULT_KERAS_BACKEND = "jax"
SUPPORTED_BACKENDS = ("jax", "tensorflow", "torch")  # all tested in the normal test run (torch: the dev extra)

if "KERAS_BACKEND" not in os.environ:
    # An environment without jax (an old venv, a TensorFlow-only image) keeps working on TensorFlow.
    os.environ["KERAS_BACKEND"] = DEFAULT_KERAS_BACKEND if find_spec("jax") else "tensorflow"
# Before JAX is imported (by Keras): JAX reads its cache folder once, at its own import.
compile_cache.configure()
if "keras" in sys.modules and sys.modules["keras"].backend.backend() != os.environ["KERAS_BACKEND"]:
    warnings.warn(
        f"keras was imported before lstmops and runs on {sys.modules['keras'].backend.backend()!r}, not "
        f"{os.environ['KERAS_BACKEND']!r}: import lstmops first, or set KERAS_BACKEND",
        stacklevel=2,
    )
