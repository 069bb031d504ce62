"""Concurrency: the file locks that serialise alias moves of one model.

Alias moves happen under a per-model file lock (`<store folder>/.locks/<name>.lock`) and after a
compare-and-set re-check (see `gate`). The file lock serialises promoters on one host (the embedded
SQLite store is one host's anyway). With a remote tracking server and promoters on several hosts the
lock protects nothing across hosts: run promotions of one model from one place (the flow). Each gate
also holds a per-version lock (`<name>.v<N>.gate.lock`) from registering its version to deciding it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
from filelock import FileLock, Timeout

if TYPE_CHECKING:  # the paired tests load scipy.stats and statsmodels: only the gate needs them, not list/history
    pass
from lstmops.registry.rule import RegistryError

# A waiting promoter gives up after this; the lock is held for alias moves and at most one re-evaluation.
LOCK_TIMEOUT_S = 1800.0


def lock_dir() -> Path:
    """`<folder of the SQLite store>/.locks`, else `mlruns/.locks` in the working directory."""
    uri = mlflow.get_registry_uri()
    if uri.startswith("sqlite:///") and not uri.endswith(":memory:"):
        return Path(uri.removeprefix("sqlite:///")).parent / ".locks"
    return Path("mlruns") / ".locks"


def gate_lock(name: str, version: str) -> FileLock:
    """The lock a gate holds on version `version` of `name` from registering it to deciding it."""
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(folder / f"{name}.v{version}.gate.lock")


def try_acquire(lock: FileLock) -> bool:
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    return True


@contextmanager
def model_lock(name: str, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the per-model lock that serialises alias moves of `name` on this host.

    A name that would put its lock file anywhere but directly in the lock folder ('../../x') is refused
    before anything is created: no registered model is named so.
    """
    folder = lock_dir()
    path = folder / f"{name}.lock"
    if Path(name).name != name or name in ("", ".", ".."):
        raise RegistryError(f"{name!r} is not a registered model name (it would place a lock file outside {folder})")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(path, timeout=timeout):
            yield
    except Timeout as err:
        raise RegistryError(f"{name}: another promotion or rollback has held {path} for over {timeout:.0f} s") from err
