"""A trained model whose MLflow logging failed, kept on disk so the training is not lost.

`keep` writes `<data root>/unlogged/<run name>-<UTC time>/`: the Trained bundle (`bundle/`, the same
folder the logged pyfunc carries), the effective params (`params.yaml`) and what it was trained on
(`saved.json`: kind, series, source, the data's sha256, the run name). `lstmops log-saved FOLDER`
(`log_saved`) logs it as a new run once the store works again, re-evaluated on the same data, and
registers it through the same gate as any training; the folder is removed once the run is logged.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from lstmops.config import Params

if TYPE_CHECKING:
    from lstmops.data.prepare import PreparedSeries
    from lstmops.experiment import ExperimentOutcome
    from lstmops.registry import Decision
    from lstmops.serving import Trained

UNLOGGED_DIR = "unlogged"
BUNDLE, PARAMS, SAVED = "bundle", "params.yaml", "saved.json"


def keep(trained: Trained, prepared: PreparedSeries, params: Params, run_name: str) -> Path:
    """Save `trained` with what `log_saved` needs to log it later; returns the folder."""
    from lstmops.serving import class_path

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


def log_saved(folder: Path, *, register: bool = True) -> tuple[ExperimentOutcome, Decision | None]:
    """Log the model kept in `folder` as a run (evaluated again on the data it was trained on) and, with
    `register`, gate it into the registry; the folder is removed once the run is logged."""
    from lstmops import experiment
    from lstmops.data import prepare
    from lstmops.serving import import_class

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
    outcome = experiment.run_experiment(
        saved["kind"],
        prepared,
        params,
        run_name=saved["run_name"],
        tags={"lstmops.logged_from": str(folder)},
        trained=trained,
    )
    shutil.rmtree(folder)
    decision = experiment.gate(outcome, prepared, params) if register else None
    return outcome, decision
