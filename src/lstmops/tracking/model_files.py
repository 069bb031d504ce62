"""The files of a registered model version: hashed at registration, checked before anything loads them.

At registration (`registry.register_version`) every file of the version's model artifacts is hashed
into a manifest (relative path -> sha256), logged beside the training run's other artifacts as
`registry/<name>/v<version>/manifest.json`; the manifest's own sha256 is the version tag
`lstmops.manifest_sha256`. Before a version is loaded (`serving.load_pyfunc`: scoring, the gate's
re-evaluations, monitoring) its downloaded files are checked against the manifest, and the manifest
against the tag, BEFORE MLflow unpickles `python_model.pkl`: a changed, missing or added file is
refused (ModelFilesChanged) in one line naming it.

What this protects: the files in the artifact store (a shared bucket) against anyone who can write
there but not to the registry's database. What it does not: a writer of both can replace the files
and the tag together; and a version registered before manifests existed has none, so it loads with
a one-line warning (refusing would stop every champion from serving at the upgrade).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts

from lstmops.data.snapshots import file_sha256

MANIFEST_TAG = "lstmops.manifest_sha256"


class CorruptModelError(RuntimeError):
    """A model's stored files cannot be read back: the message names the model, version and file."""


class ModelFilesChanged(CorruptModelError):
    """A version's files differ from those hashed at its registration; the message names the file."""


def manifest(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative POSIX path) -> its sha256."""
    return {
        path.relative_to(folder).as_posix(): file_sha256(path) for path in sorted(folder.rglob("*")) if path.is_file()
    }


def _canonical(files: dict[str, str]) -> str:
    return json.dumps(files, sort_keys=True, indent=0)


def _manifest_path(name: str, version: str) -> str:
    return f"registry/{name}/v{version}"


def record(name: str, version: str, run_id: str) -> None:
    """Hash the files of version `version` of `name`, log the manifest to run `run_id`, tag its hash."""
    client = MlflowClient()
    text = _canonical(manifest(Path(download_artifacts(f"models:/{name}/{version}"))))
    client.log_text(run_id, text, f"{_manifest_path(name, version)}/manifest.json")
    client.set_model_version_tag(name, version, MANIFEST_TAG, hashlib.sha256(text.encode()).hexdigest())


def verify(name: str, version: str, folder: Path) -> None:
    """Refuse (ModelFilesChanged) the downloaded `folder` of a version unless every file is as registered.
    Nothing under `folder` is imported or unpickled here: files are only read and hashed.

    A version with no manifest (registered before lstmops recorded them) gets a one-line warning.
    """
    client = MlflowClient()
    model_version = client.get_model_version(name, version)
    expected_sha = model_version.tags.get(MANIFEST_TAG)
    label = f"{name} v{version}"
    if expected_sha is None:
        print(
            f"WARNING: {label} has no file manifest (registered before lstmops hashed model files): "
            "loaded unverified; retrain to get a verified version",
            file=sys.stderr,
        )
        return
    recorded = Path(download_artifacts(run_id=model_version.run_id, artifact_path=_manifest_path(name, version)))
    text = (recorded / "manifest.json").read_text()
    if hashlib.sha256(text.encode()).hexdigest() != expected_sha:
        raise ModelFilesChanged(
            f"{label}: its file manifest ({_manifest_path(name, version)}/manifest.json of run "
            f"{model_version.run_id}) differs from the sha256 in its tag {MANIFEST_TAG}; refusing to load it"
        )
    expected, found = json.loads(text), manifest(folder)
    for relative in sorted(expected.keys() | found.keys()):
        if relative not in found:
            why = "is missing"
        elif relative not in expected:
            why = "was added after registration"
        elif found[relative] != expected[relative]:
            why = f"has sha256 {found[relative][:12]}…, not the {expected[relative][:12]}… recorded at registration"
        else:
            continue
        raise ModelFilesChanged(f"{label}: the model file {folder / relative} {why}; refusing to load it")
