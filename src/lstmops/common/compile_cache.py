"""JAX's persistent compilation cache, switched on for every lstmops process.

On a CPU, XLA compiling a Keras LSTM's train step takes longer than training a small model for
dozens of epochs, and every new model compiles it again, even with the same layers and shapes (each
NAB series, each seed, each scheduled retraining, each test). JAX can keep compiled programs on
disk and load them instead (keyed by the program, the JAX version and the XLA flags), so only the
first model of a given architecture and batch shape pays; the loaded program is the one a fresh
compile would give, so results do not change. See README, "Compilation cache".

Like the backend (`lstmops.DEFAULT_KERAS_BACKEND`), this is an environment default set when
`lstmops` is imported, before JAX is: JAX reads `JAX_COMPILATION_CACHE_DIR` at its own import, and
the variable reaches the processes lstmops starts (Prefect workers, MLflow serving). A user who sets
it keeps theirs; `JAX_COMPILATION_CACHE_MAX_SIZE=0` switches the cache off.
"""

from __future__ import annotations

import hashlib
import os
import platform
from collections.abc import MutableMapping
from pathlib import Path

import platformdirs

DIR_VARIABLE = "JAX_COMPILATION_CACHE_DIR"
MAX_SIZE_VARIABLE = "JAX_COMPILATION_CACHE_MAX_SIZE"
# JAX evicts the least recently used programs beyond this, and locks the folder while it reads or
# writes, so concurrent workers share it safely.
MAX_SIZE_BYTES = 512 * 2**20


def machine_tag() -> str:
    """A short hash of this CPU's model and instruction-set features.

    A cached program is native code for the CPU that compiled it, and JAX's key does not name the
    CPU's features: machines that share a home folder (a cluster's workers) must not load each
    other's programs, so each kind of CPU gets its own folder.
    """
    identity = [platform.machine(), platform.processor()]
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        wanted = ("model name", "flags", "features", "cpu part")
        lines = cpuinfo.read_text(errors="replace").splitlines()
        identity += sorted({line for line in lines if line.lower().startswith(wanted)})
    return hashlib.sha256("\n".join(identity).encode()).hexdigest()[:12]


def default_folder() -> Path:
    """This user's cache folder for this kind of CPU."""
    return Path(platformdirs.user_cache_dir("lstmops")) / f"jax-{machine_tag()}"


def configure(environ: MutableMapping[str, str] = os.environ) -> Path | None:
    """Point JAX's compilation cache at `default_folder()` unless `environ` already names a folder.

    Returns the folder in use, or None when the cache stays off: switched off by the user, or the
    default folder cannot be created (a read-only home), where JAX would fail at its first compile.
    """
    if environ.get(MAX_SIZE_VARIABLE) == "0":
        return None
    if DIR_VARIABLE in environ:
        return Path(environ[DIR_VARIABLE])
    folder = default_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    environ[DIR_VARIABLE] = str(folder)
    environ.setdefault(MAX_SIZE_VARIABLE, str(MAX_SIZE_BYTES))
    return folder
