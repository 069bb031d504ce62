"""Model files hashed at registration and checked before loading (issue 31): a champion whose
`python_model.pkl` was replaced in the artifact store by a pickle that runs code is refused in one
line by `lstmops score`, and the pickle never runs."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from lstmops.cli.main import app
from lstmops.experiment.runner import gate, run_experiment
from lstmops.tracking.model_files import MANIFEST_TAG

pytestmark = pytest.mark.faults
MODEL = "forecaster-DEMOA"


class Payload:
    """Unpickling it creates `marker`: what a pickle that runs code would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def champion(place) -> Path:
    """Train and gate a first version (it becomes @champion); its stored python_model.pkl."""
    outcome = run_experiment("forecaster", place.series.prepared, place.params)
    assert gate(outcome, place.series.prepared, place.params).promoted
    [stored] = (place.store.parent / "artifacts").rglob("python_model.pkl")
    return stored


def score(place, out: Path):
    return CliRunner().invoke(app, ["score", MODEL, "--input", str(place.series.validated), "--out-dir", str(out)])


def test_a_champion_whose_pickle_was_replaced_is_refused_before_it_is_unpickled(place, instant_task, tmp_path):
    stored = champion(place)
    marker = tmp_path / "the-pickle-ran"
    evil = pickle.dumps(Payload(marker))
    stored.write_bytes(evil)

    refused = score(place, tmp_path / "out")

    assert refused.exit_code == 1 and isinstance(refused.exception, SystemExit)
    [line] = refused.output.strip().splitlines()
    assert line.startswith(f"ERROR: {MODEL} v1: the model file ") and "python_model.pkl has sha256 " in line
    assert "not the " in line and "recorded at registration; refusing to load it" in line
    assert line.endswith(f"; roll back (`lstmops registry rollback {MODEL}`) or retrain")
    assert not marker.exists() and not (tmp_path / "out").exists()
    pickle.loads(evil)  # the payload is real: unpickled, it runs
    assert marker.exists()


def test_an_intact_champion_scores_and_one_registered_before_manifests_loads_with_a_warning(
    place, instant_task, tmp_path
):
    champion(place)
    assert score(place, tmp_path / "verified").exit_code == 0
    MlflowClient().delete_model_version_tag(MODEL, "1", MANIFEST_TAG)  # as versions registered before #31

    unverified = score(place, tmp_path / "unverified")

    assert unverified.exit_code == 0, unverified.output
    assert f"WARNING: {MODEL} v1 has no file manifest (registered before lstmops hashed model files)" in (
        unverified.output
    )
    assert (tmp_path / "unverified" / f"{MODEL}.parquet").exists()
