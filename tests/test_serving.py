"""Serving: a logged model is a self-contained pyfunc that predicts from raw frames, and round-trips."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from lstmops.tracking.pyfunc import BundleModel, import_class, load_trained, log_bundle_model
from lstmops.tracking.store import ensure_experiment


@dataclass
class ReturnForecaster:
    """A numpy stand-in for a Trained<Kind> with preprocessing state: the next close is the last close
    moved by the mean log return seen in training, scaled back from standardised units."""

    mean_scaled_return: float
    return_mean: float
    return_std: float
    history: dict[str, list[float]] = field(default_factory=dict)
    device: dict[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "forecaster"

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        state = {
            "mean_scaled_return": self.mean_scaled_return,
            "return_mean": self.return_mean,
            "return_std": self.return_std,
        }
        (folder / "preprocessing.json").write_text(json.dumps(state))

    @classmethod
    def load(cls, folder: Path) -> ReturnForecaster:
        return cls(**json.loads((folder / "preprocessing.json").read_text()))

    def predict_raw(self, frame: pd.DataFrame) -> pd.DataFrame:
        step = self.mean_scaled_return * self.return_std + self.return_mean
        return pd.DataFrame(
            {
                "date": frame["date"].iloc[1:].to_numpy(),
                "predicted_close": frame["close"].to_numpy()[:-1] * np.exp(step),
            }
        )

    def input_example(self) -> pd.DataFrame:
        return raw_prices(4)


def raw_prices(n: int) -> pd.DataFrame:
    close = 100 * np.exp(np.cumsum(np.random.default_rng(n).normal(0, 0.01, n)))
    return pd.DataFrame(
        {
            "date": pd.date_range("2024-01-01", periods=n, freq="B"),
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": 1e6,
        }
    )


@pytest.fixture(scope="module")
def trained():
    return ReturnForecaster(mean_scaled_return=0.5, return_mean=0.001, return_std=0.02)


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

    assert isinstance(restored, ReturnForecaster) and restored == trained


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
    assert metadata == {"kind": "forecaster", "trained_class": f"{__name__}:ReturnForecaster"}


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
