"""A trained model as an MLflow pyfunc that predicts from RAW canonical frames.

The pyfunc's artifacts are the Trained<Kind>.save() folder (model + preprocessing state); its code is
the `lstmops` package itself (code_paths), so `mlflow.pyfunc.load_model(uri).predict(raw_frame)` and
`mlflow models serve` need nothing but the model's pip requirements.
"""

from __future__ import annotations

import importlib
import json
import tempfile
import zipfile
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import pandas as pd
import yaml
from mlflow.artifacts import download_artifacts
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo
from packaging.requirements import Requirement

import lstmops
from lstmops.tracking import model_files
from lstmops.tracking.model_files import CorruptModelError

if TYPE_CHECKING:
    from lstmops.tasks.contract import Trained

BUNDLE_ARTIFACT = "bundle"


class BundleModel(mlflow.pyfunc.PythonModel):
    """Raw DataFrame in, predictions DataFrame out; preprocessing lives in the Trained bundle.

    Only the class path is pickled; the model itself is restored from the bundle folder on load.
    """

    def __init__(self, trained_class: str):
        self.trained_class = trained_class  # "module:QualName" of the Trained<Kind> class
        self.trained: Trained | None = None

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.trained = import_class(self.trained_class).load(Path(context.artifacts[BUNDLE_ARTIFACT]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self.trained.predict_raw(model_input)


def class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


# Versions registered before each model task became a package store their class under the old module.
MOVED_MODULES = {
    f"lstmops.train.{task}": f"lstmops.tasks.{task}.train" for task in ("forecaster", "autoencoder", "seq2seq")
}


def import_class(path: str) -> type:
    from lstmops.common.console import import_keras_quietly

    import_keras_quietly()  # the class's module loads Keras: keep TensorFlow's load-time lines off the console
    module_name, _, qualname = path.partition(":")
    module_name = MOVED_MODULES.get(module_name, module_name)
    try:
        found: Any = importlib.import_module(module_name)
        for attribute in qualname.split("."):
            found = getattr(found, attribute)
    except (ImportError, AttributeError) as err:
        raise ImportError(f"cannot import the model's Trained class {path!r}: {err}") from err
    return found


def pip_requirements() -> list[str]:
    """lstmops' runtime dependencies, pinned to the versions installed here.

    Given explicitly because MLflow's inference loads the model in a subprocess (~5 s per log);
    the whole list because the shipped package imports its data layer (GX, yfinance) at load.
    """
    pinned = []
    for text in requires("lstmops") or []:
        requirement = Requirement(text)
        if requirement.marker is not None:  # extras such as dev and gpu
            continue
        try:
            pinned.append(f"{requirement.name}=={version(requirement.name)}")
        except PackageNotFoundError:
            pinned.append(str(requirement))
    return pinned


def log_bundle_model(trained: Trained, *, name: str = "model") -> ModelInfo:
    """Log `trained` as a pyfunc into the active run, with signature and input example."""
    from lstmops.common.console import import_tensorflow_quietly

    import_tensorflow_quietly()  # Keras' model serializer imports it, even on JAX
    example = trained.input_example()
    signature = infer_signature(example, trained.predict_raw(example))
    with tempfile.TemporaryDirectory(prefix="lstmops-bundle-") as scratch:
        bundle = Path(scratch) / BUNDLE_ARTIFACT
        trained.save(bundle)
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=BundleModel(class_path(type(trained))),
            artifacts={BUNDLE_ARTIFACT: str(bundle)},
            code_paths=[str(Path(lstmops.__file__).parent)],
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            metadata={"kind": trained.kind, "trained_class": class_path(type(trained))},
        )


def load_trained(model_uri: str) -> Trained:
    """The Trained<Kind> behind a logged model (runs:/..., models:/name@alias, ...), as served."""
    from lstmops.common.console import import_keras_quietly

    import_keras_quietly()
    return load_pyfunc(model_uri).unwrap_python_model().trained


def load_pyfunc(model_uri: str) -> mlflow.pyfunc.PyFuncModel:
    """`mlflow.pyfunc.load_model` of the files downloaded and, for a registered version, checked against
    the hashes recorded at its registration first (`model_files`: nothing is unpickled before that).
    A damaged artifact file is named (CorruptModelError) instead of surfacing the loader's own error,
    which for a truncated `.keras` file is "File not found"."""
    registered = registered_version(model_uri)
    label = f"{registered[0]} v{registered[1]}" if registered is not None else _model_label(model_uri)
    try:
        local = Path(download_artifacts(model_uri))
    except (mlflow.exceptions.MlflowException, OSError) as err:
        # Files deleted from the artifact store while the registry still points at them: as unusable as a
        # damaged file, so the caller's way out (roll back or retrain) applies.
        if isinstance(err, mlflow.exceptions.MlflowException) and err.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        problem = err.message if isinstance(err, mlflow.exceptions.MlflowException) else str(err)
        raise CorruptModelError(f"{label}: its model files are gone from the artifact store ({problem})") from err
    if registered is not None:
        model_files.verify(*registered, local)
    try:
        return mlflow.pyfunc.load_model(str(local))
    except Exception as err:
        damaged = damaged_file(local)
        if damaged is None:  # not a damaged file (a missing dependency, a bug): the loader's error says more
            raise
        path, problem = damaged
        raise CorruptModelError(f"{_model_label(model_uri)}: the model artifact {path} is corrupt ({problem})") from err


def registered_version(model_uri: str) -> tuple[str, str] | None:
    """(name, version) of `models:/NAME/VERSION` or `models:/NAME@ALIAS`; None for any other URI."""
    if not model_uri.startswith("models:/") or model_uri.startswith("models:/m-"):
        return None
    reference = model_uri.removeprefix("models:/")
    if "@" in reference:
        name, _, alias = reference.rpartition("@")
        return name, str(mlflow.MlflowClient().get_model_version_by_alias(name, alias).version)
    name, _, version = reference.rpartition("/")
    return (name, version) if version.isdigit() else None


def damaged_file(folder: Path) -> tuple[Path, str] | None:
    """The first file under `folder` whose own format says it is damaged, with what is wrong: empty,
    a zip archive (`.keras`) that does not open or fails its checksums, or JSON/YAML that does not parse."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.stat().st_size == 0:
            return path, "empty file"
        try:
            if path.suffix in (".keras", ".zip"):
                with zipfile.ZipFile(path) as archive:
                    broken = archive.testzip()
                if broken is not None:
                    return path, f"member {broken} fails its checksum"
            elif path.suffix == ".json":
                json.loads(path.read_text())
            elif path.suffix in (".yaml", ".yml") or path.name == "MLmodel":
                yaml.safe_load(path.read_text())
        except (zipfile.BadZipFile, ValueError, yaml.YAMLError, UnicodeDecodeError, EOFError) as err:
            return path, f"{type(err).__name__}: {err}"
    return None


def _model_label(model_uri: str) -> str:
    """`models:/forecaster-DEMOA/3` -> `forecaster-DEMOA v3`; other URIs as they are."""
    name, _, version = model_uri.removeprefix("models:/").rpartition("/")
    return f"{name} v{version}" if model_uri.startswith("models:/") and version.isdigit() else model_uri
