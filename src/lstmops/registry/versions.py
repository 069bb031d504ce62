"""Registered models and their versions: names, registration, the tags a version keeps.

One registered model per model kind and series (`forecaster-DEMOA`, `autoencoder-demo__machine_a`).
Versions carry only the tags that identify, verify and decide them (VERSION_TAGS from the run, the
sha256 of their file manifest `lstmops.manifest_sha256` (see `tracking.model_files`), `gate.*`);
their metrics stay on the run, where MLflow shows them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

from lstmops.data.snapshots import series_slug
from lstmops.registry.report import model_card
from lstmops.tasks import task_names
from lstmops.tracking import model_files
from lstmops.tracking.store import filter_literal

if TYPE_CHECKING:  # the paired tests load scipy.stats and statsmodels: only the gate needs them, not list/history
    pass
from lstmops.registry.audit import model_description

METRIC_TAG_PREFIX = "metric."  # versions registered before metrics stayed on the run carry these


GATE_TAG_PREFIX = "gate."


TRAIN_END_TAG = "data.train_end"


# The run tags a version keeps: what it is, which data and code made it, where its training data ends.
# (data.kind and data.source are the registered model's: one model per kind and series.)
VERSION_TAGS = ("kind", "series", "data.sha256", TRAIN_END_TAG, "git.commit", "git.dirty", "params.hash")


# Registered-model tags copied from the run: what the model is and which data it scores.
MODEL_TAGS = ("kind", "series", "data.kind", "data.source")


class RunToRegister(Protocol):
    """What the gate needs from a training run (experiment.ExperimentOutcome has these)."""

    kind: str
    series: str
    run_id: str
    model_uri: str


def registered_model_name(kind: str, series: str) -> str:
    """`<kind>-<series>`, path separators made safe: ('autoencoder', 'demo/m_a') -> 'autoencoder-demo__m_a'."""
    if kind not in task_names():
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(task_names())}")
    return f"{kind}-{series_slug(series)}"


def version_uri(name: str, version: str) -> str:
    """A URI pinned to one version: an alias could move while we load."""
    return f"models:/{name}/{version}"


def version_tags(run: Run) -> dict[str, str]:
    """The run's identifying tags (VERSION_TAGS); its metrics stay on the run."""
    return {key: run.data.tags[key] for key in VERSION_TAGS if key in run.data.tags}


def register_version(run: RunToRegister) -> ModelVersion:
    """Register the run's model as a new version of `<kind>-<series>`, tagged with its lineage and metrics."""
    client = MlflowClient()
    name = registered_model_name(run.kind, run.series)
    source_run = client.get_run(run.run_id)
    # The client, not `mlflow.register_model`: that one prints "Successfully registered model ..." and
    # "Created version ..." to the console; the gate's decision line says what happened.
    try:
        client.create_registered_model(name)
    except MlflowException as err:
        if err.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    # A tracking server accepts a `models:/<model id>` source only with that id beside it.
    model_id = run.model_uri.removeprefix("models:/") if run.model_uri.startswith("models:/m-") else None
    version = client.create_model_version(
        name, run.model_uri, run_id=run.run_id, tags=version_tags(source_run), model_id=model_id
    )
    if model_id:  # the logged model's page lists the versions made from it, as mlflow.register_model does
        linked = json.loads(client.get_logged_model(model_id).tags.get(MLFLOW_MODEL_VERSIONS, "[]"))
        linked.append({"name": name, "version": version.version})
        client.set_logged_model_tags(model_id, {MLFLOW_MODEL_VERSIONS: json.dumps(linked)})
    for key in MODEL_TAGS:
        if key in source_run.data.tags:
            client.set_registered_model_tag(name, key, source_run.data.tags[key])
    if not client.get_registered_model(name).description:
        client.update_registered_model(name, description=model_description(name))
    client.update_model_version(name, version.version, description=model_card(name, version, source_run))
    model_files.record(name, str(version.version), run.run_id)  # checked before every load of the version
    return version


def model_exists(name: str) -> bool:
    return bool(MlflowClient().search_registered_models(filter_string=f"name = {filter_literal(name)}"))


def train_end(name: str, version: str) -> str | None:
    return MlflowClient().get_model_version(name, version).tags.get(TRAIN_END_TAG)


def gate_tag(name: str, version: str, key: str) -> str | None:
    return MlflowClient().get_model_version(name, version).tags.get(f"{GATE_TAG_PREFIX}{key}")


def recorded_side(name: str, version: str) -> dict[str, Any]:
    """A version's side as its own gate recorded it; metrics from its run (older versions: `metric.*` tags)."""
    client = MlflowClient()
    model_version = client.get_model_version(name, version)
    tags = model_version.tags
    metrics = {
        key.removeprefix(METRIC_TAG_PREFIX): float(value)
        for key, value in tags.items()
        if key.startswith(METRIC_TAG_PREFIX)
    }
    if not metrics and model_version.run_id:
        metrics = {
            key: float(value)
            for key, value in client.get_run(model_version.run_id).data.metrics.items()
            if not key.startswith(("epoch/", "seconds/"))
        }
    return {
        "version": version,
        "score": float_tag(tags, "gate.score"),
        "baseline": float_tag(tags, "gate.baseline"),
        "metrics": metrics,
    }


def float_tag(tags: dict[str, str], key: str) -> float | None:
    value = tags.get(key, "none")
    return None if value == "none" else float(value)
