"""Serving: a logged model is a self-contained pyfunc that predicts from raw frames, and round-trips."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from fakes import ScaledStepForecaster, raw_prices

from lstmops.tracking.pyfunc import BundleModel, import_class, load_trained, log_bundle_model
from lstmops.tracking.store import ensure_experiment


@pytest.fixture(scope="module")
def trained():
    """A stand-in with preprocessing state: a step of half a standard deviation of the training returns."""
    return ScaledStepForecaster(step=0.5, return_mean=0.001, return_std=0.02)


@pytest.fixture(scope="module")
def logged(mlflow_store, trained):
    with mlflow.start_run(experiment_id=ensure_experiment("forecaster")) as run:
        info = log_bundle_model(trained)
    return run.info.run_id, info


def test_the_logged_pyfunc_predicts_from_raw_input_like_the_in_memory_model(logged, trained):
    run_id, _ = logged
    raw = raw_prices(30)

    served = mlflow.pyfunc.load_model(f"runs:/{run_id}/model").predict(raw)

    expected = trained.predict_raw(raw)
    # MLflow's schema enforcement hands datetimes over as datetime64[ns]; pandas 3 defaults to [us].
    pd.testing.assert_frame_equal(served.astype({"date": expected["date"].dtype}), expected)
    assert len(served) == 29 and served["predicted_close"].notna().all()


def test_load_trained_gives_back_the_trained_object(logged, trained):
    run_id, _ = logged

    restored = load_trained(f"runs:/{run_id}/model")

    assert isinstance(restored, ScaledStepForecaster) and restored == trained


def test_the_model_carries_signature_example_requirements_and_its_code(logged):
    _, info = logged
    folder = Path(mlflow.artifacts.download_artifacts(info.model_uri))

    assert info.signature.inputs.input_names() == ["date", "open", "high", "low", "close", "volume"]
    assert info.signature.outputs.input_names() == ["date", "predicted_close"]
    assert (folder / "input_example.json").exists()
    requirements = (folder / "requirements.txt").read_text().split()
    assert f"mlflow=={mlflow.__version__}" in requirements and any(r.startswith("keras==") for r in requirements)
    assert (folder / "code/lstmops/tracking/pyfunc.py").exists(), "the package ships with the model"
    assert (folder / "artifacts/bundle/preprocessing.json").exists()
    metadata = yaml.safe_load((folder / "MLmodel").read_text())["metadata"]
    assert metadata == {"kind": "forecaster", "trained_class": "fakes:ScaledStepForecaster"}


def test_a_model_whose_class_is_gone_fails_with_its_name():
    with pytest.raises(ImportError, match="lstmops.train.nowhere:TrainedNothing"):
        import_class("lstmops.train.nowhere:TrainedNothing")
    assert import_class("lstmops.serving:BundleModel") is BundleModel


def test_versions_registered_before_tasks_became_packages_still_load():
    from lstmops.tasks.autoencoder.train import TrainedAutoencoder

    assert import_class("lstmops.train.autoencoder:TrainedAutoencoder") is TrainedAutoencoder


def test_a_damaged_bundle_file_is_named_by_what_its_own_format_says(tmp_path):
    import zipfile

    from lstmops.tracking.pyfunc import damaged_file

    with zipfile.ZipFile(tmp_path / "model.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    (tmp_path / "state.json").write_text('{"window": 10}')
    assert damaged_file(tmp_path) is None  # intact files pass

    (tmp_path / "state.json").write_text('{"window": 1')
    path, problem = damaged_file(tmp_path)
    assert path == tmp_path / "state.json" and problem.startswith("JSONDecodeError")

    (tmp_path / "state.json").write_text('{"window": 10}')
    whole = (tmp_path / "model.keras").read_bytes()
    (tmp_path / "model.keras").write_bytes(whole[: len(whole) // 2])
    assert damaged_file(tmp_path) == (tmp_path / "model.keras", "BadZipFile: File is not a zip file")

    (tmp_path / "model.keras").write_bytes(b"")
    assert damaged_file(tmp_path) == (tmp_path / "model.keras", "empty file")
