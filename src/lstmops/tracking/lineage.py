"""What every run records about where it came from: params, data, code, packages, device.

Lineage tags: `kind`, `series`, `data.kind`, `data.source`, `data.sha256`, `data.raw_snapshot`,
`data.train_end` (the last time the model saw: the registry gate refuses hold-outs before it),
`data.end` (the newest row trained or evaluated on: `lstmops monitor` judges the rows after it),
`data.validation.<field>`, `git.commit`, `git.dirty`, `params.hash`, `version.<package>`, `device.<field>`;
under DVC also `dvc.stage`, `dvc.experiment` (the `dvc exp run` name) and `dvc.git_rev` (see `dvc_tags`).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH

import lstmops
from lstmops.config import Params

if TYPE_CHECKING:  # the data layer imports Great Expectations, serving pandas: configuring tracking should not
    from lstmops.data.prepare import PreparedSeries
from lstmops.tracking.store import DVC_BASELINE_VARIABLE, DVC_EXP_NAME_VARIABLE, DVC_ROOT_VARIABLE, DVC_STAGE_VARIABLE

GIT_COMMIT_VARIABLE = "LSTMOPS_GIT_COMMIT"  # the commit an image was built from (see infra/docker)


# Packages whose versions decide whether a run can be reproduced (tensorflow may be the -cpu wheel).
TRACKED_PACKAGES = {
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "keras": ("keras",),
    "jax": ("jax",),
    "jaxlib": ("jaxlib",),
    "torch": ("torch",),
    "mlflow": ("mlflow",),
    "prefect": ("prefect",),
    "pandas": ("pandas",),
    "numpy": ("numpy",),
    "great_expectations": ("great_expectations",),
    "dvc": ("dvc",),
}


def dvc_tags(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Inside a DVC stage: the stage, the DVC experiment's name (`dvc exp run`) and the Git revision the
    experiment started from, so `dvc exp show` and MLflow's runs find each other; {} outside DVC."""
    env = os.environ if environ is None else environ
    if DVC_STAGE_VARIABLE not in env:
        return {}
    tags = {"dvc.stage": env[DVC_STAGE_VARIABLE]}
    if name := env.get(DVC_EXP_NAME_VARIABLE):
        tags["dvc.experiment"] = name
    revision = env.get(DVC_BASELINE_VARIABLE)
    if not revision and env.get(DVC_ROOT_VARIABLE):  # `dvc repro`: the project's checked-out commit
        revision = git_state(Path(env[DVC_ROOT_VARIABLE]))["git.commit"]
    tags["dvc.git_rev"] = revision or "unknown"
    return tags


def run_params(prepared: PreparedSeries, params: Params, kind: str) -> dict[str, str]:
    """The params.yaml sections that shaped this model, flattened to dotted keys, plus the data used."""
    from lstmops.tasks import params_read

    data_kind = prepared.kind
    sections = {key: _section(params, key) for key in (*params_read(kind), data_kind)}
    flat: dict[str, Any] = {}
    for prefix, section in sections.items():
        _flatten(section.model_dump(mode="json"), prefix, flat)
    flat.update(
        {
            "data.series": prepared.series,
            "data.source": prepared.card["source"],
            "data.columns": prepared.columns,
            "data.target": prepared.target,
            "data.window": prepared.window,
        }
    )
    return {key: _bounded(value, MAX_PARAM_VAL_LENGTH) for key, value in flat.items()}


def _section(params: Params, dotted: str) -> Any:
    node: Any = params
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def _flatten(tree: dict[str, Any], prefix: str, into: dict[str, Any]) -> None:
    for key, value in tree.items():
        if isinstance(value, dict):
            _flatten(value, f"{prefix}.{key}", into)
        else:
            into[f"{prefix}.{key}"] = value


def _bounded(value: Any, limit: int) -> str:
    """A parameter/tag value as MLflow stores it: text, cut (and marked) at MLflow's length limit."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def params_hash(params: Params) -> str:
    """sha256 of the effective configuration: equal hashes mean identical params."""
    canonical = json.dumps(params.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def git_state(folder: Path) -> dict[str, str]:
    """Commit and dirty flag of the git checkout holding `folder`.

    Outside git (an image built without .git) the commit comes from LSTMOPS_GIT_COMMIT, which the
    images set from their GIT_COMMIT build argument; 'unknown' when that is missing too.
    """
    try:
        commit = _git(folder, "rev-parse", "HEAD")
        dirty = bool(_git(folder, "status", "--porcelain"))
    except (OSError, subprocess.SubprocessError):
        return {"git.commit": os.environ.get(GIT_COMMIT_VARIABLE) or "unknown", "git.dirty": "unknown"}
    return {"git.commit": commit, "git.dirty": str(dirty).lower()}


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=20, check=True)
    return done.stdout.strip()


def package_versions() -> dict[str, str]:
    versions = {}
    for package, distributions in TRACKED_PACKAGES.items():
        versions[f"version.{package}"] = next(
            (found for found in map(_installed_version, distributions) if found), "not installed"
        )
    return versions


def _installed_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def lineage_tags(prepared: PreparedSeries, params: Params) -> dict[str, str]:
    """Where the data, code, config and libraries of a run came from (see the module docstring)."""
    from lstmops.data.kinds import data_kind

    card = prepared.card
    tags = {
        "series": prepared.series,
        "data.kind": prepared.kind,
        "data.source": card["source"],
        "data.sha256": card["sha256"],
        "data.raw_snapshot": card["raw_snapshot"],
        "data.train_end": prepared.part_times()[0].isoformat(),
        # The newest row trained or evaluated on: monitoring's new data starts after it.
        "data.end": prepared.features[data_kind(prepared.kind).time_column].max().isoformat(),
        "params.hash": params_hash(params),
        **{f"data.validation.{key}": value for key, value in card["validation"].items()},
        **git_state(Path(lstmops.__file__).parent),
        **package_versions(),
    }
    return {key: _bounded(value, MAX_TAG_VAL_LENGTH) for key, value in tags.items()}


def device_tags(device: dict[str, Any]) -> dict[str, str]:
    return {f"device.{key}": _bounded(value, MAX_TAG_VAL_LENGTH) for key, value in device.items()}
