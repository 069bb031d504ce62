"""A trained model whose MLflow logging failed, kept on disk so the training is not lost.

`keep` writes `<data root>/unlogged/<run name>-<UTC time>/`: the Trained bundle (`bundle/`, the same
folder the logged pyfunc carries), the effective params (`params.yaml`) and what it was trained on
(`saved.json`: kind, series, source, the data's sha256, the run name). `relog.log_saved` logs it
once the store works again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from lstmops.config import Params

if TYPE_CHECKING:
    from lstmops.data.prepare import PreparedSeries
    from lstmops.tasks.contract import Trained


UNLOGGED_DIR = "unlogged"


BUNDLE, PARAMS, SAVED = "bundle", "params.yaml", "saved.json"


def keep(trained: Trained, prepared: PreparedSeries, params: Params, run_name: str) -> Path:
    """Save `trained` with what `log_saved` needs to log it later; returns the folder."""
    from lstmops.tracking.pyfunc import class_path

    folder = Path(params.data.root) / UNLOGGED_DIR / f"{run_name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    trained.save(folder / BUNDLE)
    (folder / PARAMS).write_text(yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False))
    saved = {
        "kind": trained.kind,
        "trained_class": class_path(type(trained)),
        "series": prepared.series,
        "data_kind": prepared.kind,
        "source": prepared.card["source"],
        "data_sha256": prepared.card["sha256"],
        "run_name": run_name,
    }
    (folder / SAVED).write_text(json.dumps(saved, indent=2) + "\n")
    return folder
