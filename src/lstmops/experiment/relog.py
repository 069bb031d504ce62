"""Log a model `unlogged.keep` saved, once the store works again (`lstmops log-saved FOLDER`).

It is re-evaluated on the same data and registered through the same gate as any training; the
folder is removed once the run is logged.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from lstmops.config import Params

if TYPE_CHECKING:
    from lstmops.experiment.runner import ExperimentOutcome
    from lstmops.registry.rule import Decision
from lstmops.experiment.unlogged import BUNDLE, PARAMS, SAVED


def log_saved(folder: Path, *, register: bool = True) -> tuple[ExperimentOutcome, Decision | None]:
    """Log the model kept in `folder` as a run (evaluated again on the data it was trained on) and, with
    `register`, gate it into the registry; the folder is removed once the run is logged."""
    from lstmops.data import prepare
    from lstmops.experiment import runner
    from lstmops.tracking.pyfunc import import_class

    folder = Path(folder)
    if not (folder / SAVED).exists():
        raise FileNotFoundError(f"{folder}: no saved model here (expected {SAVED} and {BUNDLE}/ written by a training)")
    saved = json.loads((folder / SAVED).read_text())
    params = Params.model_validate(yaml.safe_load((folder / PARAMS).read_text()))
    prepared = next(
        (p for p in prepare.prepare_all(params, saved["data_kind"], saved["source"]) if p.series == saved["series"]),
        None,
    )
    if prepared is None or prepared.card["sha256"] != saved["data_sha256"]:
        now = "is gone" if prepared is None else f"now has sha256 {prepared.card['sha256'][:12]}"
        raise ValueError(
            f"{folder}: the model was trained on {saved['series']} data with sha256 {saved['data_sha256'][:12]}, "
            f"but the validated data {now}; it cannot be evaluated on the data it was trained on"
        )
    trained = import_class(saved["trained_class"]).load(folder / BUNDLE)
    outcome = runner.run_experiment(
        saved["kind"],
        prepared,
        params,
        run_name=saved["run_name"],
        tags={"lstmops.logged_from": str(folder)},
        trained=trained,
    )
    shutil.rmtree(folder)
    decision = runner.gate(outcome, prepared, params) if register else None
    return outcome, decision
