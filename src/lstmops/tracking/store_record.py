"""What each tracking store should hold: a small record beside the data, so a store that lost its registry is noticed.

`<data root>/tracking/stores.json` maps each store (its URI, password masked) to the models lstmops
logged there, each with its last run and its newest registered version:

    {"sqlite:////srv/mlruns/mlflow.db": {"forecaster-NVDA": {"run_id": "4f1c…", "version": "8"}}}

A store that was deleted and silently recreated (`mlflow.db` removed, a server on a fresh database)
answers, but no longer has that run or version: `tracking_preflight` then refuses to train instead
of making the new model a "first version" champion. The record lives with the data, not the store,
so it survives the store's loss. A store reset on purpose is accepted by deleting its entry (or the
file). A store the record does not name (a new MLFLOW_TRACKING_URI) is simply recorded from then on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from filelock import FileLock

RECORD_FILE = Path("tracking") / "stores.json"


def record_path(data_root: Path) -> Path:
    return Path(data_root) / RECORD_FILE


def read_record(data_root: Path) -> dict[str, dict[str, dict[str, Any]]]:
    path = record_path(data_root)
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def expected(data_root: Path, store: str, model: str) -> dict[str, Any]:
    """What `store` should hold of `model` ({} when nothing was recorded)."""
    return read_record(data_root).get(store, {}).get(model, {})


def remember(data_root: Path, store: str, model: str, **entry: str) -> None:
    """Record `run_id=` and/or `version=` of `model` in `store` (a version only ever grows)."""
    path = record_path(data_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Parallel trainings of one flow write here too: read-modify-write under a lock, replaced atomically.
    with FileLock(f"{path}.lock", timeout=60):
        record = read_record(data_root)
        known = record.setdefault(store, {}).setdefault(model, {})
        if "version" in entry and int(entry["version"]) < int(known.get("version", 0)):
            entry.pop("version")
        known.update(entry)
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        scratch.replace(path)
