"""Which version of a model serves, and why: registration, the champion/challenger gate, rollback, audit.

One registered model per model kind and series (`forecaster-DEMOA`, `autoencoder-demo__machine_a`).
Aliases only, never the deprecated stages:
  @champion    the version that serves (`models:/NAME@champion`);
  @challenger  a new version while the gate decides about it;
  @previous    the champion before the current one: the rollback target.

The gate re-evaluates the challenger AND the current champion on the same, newest hold-out (never
stale metrics) and promotes only if the challenger beats the champion by `margin` (relative) and
beats the naive baseline; a first version needs only the baseline. After the decision @challenger
is removed either way (it means "awaiting a decision"); a rejected version keeps its number, its
`gate.*` tags say why, and `review MODEL --version N` still shows it.

Rollback swaps @champion and @previous, so a second rollback undoes the first.

Audit trail: every promote, reject and rollback is one registered-model tag `audit.<UTC time>.<id>`
holding a JSON entry (time, actor, action, version, reason, aliases before/after, and both sides'
metrics: `candidate` is the version the move is about, `incumbent` the champion it was compared with
or replaced), so it
shows in the MLflow UI on the model's page. Keys are unique per entry, so concurrent writers never
overwrite one another; sorted keys are chronological.

Concurrency: alias moves happen under a per-model file lock (`<store folder>/.locks/<name>.lock`) and
after a compare-and-set re-check: the champion is re-read once the lock is held and, if another
promotion moved it since our evaluation, the new champion is evaluated before deciding. The file
lock serialises promoters on one host (the embedded SQLite store is one host's anyway). With a remote
tracking server and promoters on several hosts the lock protects nothing across hosts; the re-check
then only narrows the race to the moments between re-reading @champion and moving it, since MLflow
offers no atomic compare-and-set on aliases: run promotions of one model from one place (the flow).
"""

from __future__ import annotations

import getpass
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import mlflow
from filelock import FileLock, Timeout
from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion

from lstmops.data.snapshots import series_slug
from lstmops.evaluate.report import Evaluation
from lstmops.reports.registry import model_card
from lstmops.tasks import task_names

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"
AUDIT_PREFIX = "audit."
METRIC_TAG_PREFIX = "metric."
GATE_TAG_PREFIX = "gate."
# A waiting promoter gives up after this; the lock is held for alias moves and at most one re-evaluation.
LOCK_TIMEOUT_S = 1800.0
# Registered-model tags copied from the run: what the model is and which data it scores.
MODEL_TAGS = ("kind", "series", "data.kind", "data.source")

Evaluate = Callable[[str], Evaluation]  # model URI -> its evaluation on the gate's hold-out


class RegistryError(RuntimeError):
    """A registry operation that cannot be done as asked (no champion, no @previous, lock timeout)."""


class RunToRegister(Protocol):
    """What the gate needs from a training run (experiment.ExperimentOutcome has these)."""

    kind: str
    series: str
    run_id: str
    model_uri: str


@dataclass(frozen=True)
class Side:
    """One version as the gate saw it on the hold-out."""

    version: str
    score: float
    baseline: float
    metrics: dict[str, float]


@dataclass(frozen=True)
class Decision:
    name: str
    version: str  # the challenger
    promoted: bool
    reason: str
    metric: str
    challenger: Side
    champion: Side | None  # the champion it was compared with (None for a first version)

    @property
    def action(self) -> str:
        return "promote" if self.promoted else "reject"

    def summary(self) -> str:
        verdict = "PROMOTED to @champion" if self.promoted else "REJECTED"
        return f"{self.name} v{self.version} {verdict}: {self.reason}"


# ---------------------------------------------------------------- names and versions


def registered_model_name(kind: str, series: str) -> str:
    """`<kind>-<series>`, path separators made safe: ('autoencoder', 'demo/m_a') -> 'autoencoder-demo__m_a'."""
    if kind not in task_names():
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(task_names())}")
    return f"{kind}-{series_slug(series)}"


def version_uri(name: str, version: str) -> str:
    """A URI pinned to one version: an alias could move while we load."""
    return f"models:/{name}/{version}"


def alias_version(name: str, alias: str) -> str | None:
    return aliases_of(name).get(alias)


def aliases_of(name: str) -> dict[str, str]:
    """alias -> version number as text (MLflow 3.17 hands out ints despite its `str` hints).

    get_registered_model has the aliases; search_model_versions returns them empty (MLflow 3.17).
    """
    return {alias: str(version) for alias, version in MlflowClient().get_registered_model(name).aliases.items()}


def actor_name(actor: str | None = None) -> str:
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return os.environ.get("USER", "unknown")


def version_tags(run: Run) -> dict[str, str]:
    """Lineage from the run's own tags (data sha256, validation, git commit, params hash, ...) and its
    final metrics, baselines included, as `metric.<name>` (per-epoch curves left out)."""
    lineage = {key: value for key, value in run.data.tags.items() if not key.startswith("mlflow.")}
    metrics = {
        f"{METRIC_TAG_PREFIX}{key}": f"{value:.6g}"
        for key, value in run.data.metrics.items()
        if not key.startswith("epoch/")
    }
    return {**lineage, **metrics}


def register_version(run: RunToRegister) -> ModelVersion:
    """Register the run's model as a new version of `<kind>-<series>`, tagged with its lineage and metrics."""
    client = MlflowClient()
    name = registered_model_name(run.kind, run.series)
    source_run = client.get_run(run.run_id)
    version = mlflow.register_model(run.model_uri, name, tags=version_tags(source_run))  # creates `name` if new
    if not client.get_registered_model(name).description:
        client.update_registered_model(
            name,
            description=(
                f"LSTM {run.kind} for {run.series}. @champion serves; the audit.* tags hold every alias move."
            ),
        )
    for key in MODEL_TAGS:
        if key in source_run.data.tags:
            client.set_registered_model_tag(name, key, source_run.data.tags[key])
    client.update_model_version(name, version.version, description=model_card(name, version, source_run))
    return version


# ---------------------------------------------------------------- the gate


def _side(version: str, evaluation: Evaluation) -> Side:
    return Side(
        version,
        evaluation.score,
        evaluation.baseline_score,
        {key: float(value) for key, value in evaluation.metrics.items()},
    )


def decide(
    name: str, version: str, challenger: Evaluation, champion: tuple[str, Evaluation] | None, margin: float = 0.0
) -> Decision:
    """Promote only if the challenger beats the baseline and (if any) the champion by `margin`."""
    metric = challenger.primary_metric
    mine = _side(version, challenger)
    theirs = _side(champion[0], champion[1]) if champion else None
    if champion and champion[1].primary_metric != metric:
        raise RegistryError(
            f"{name}: champion v{champion[0]} is scored by {champion[1].primary_metric!r}, "
            f"challenger v{version} by {metric!r}; they cannot be compared"
        )
    here = f"{metric} {mine.score:.4g}"
    if not challenger.beats_baseline():
        return Decision(
            name,
            version,
            False,
            f"{here} does not beat the naive baseline {challenger.baseline_metric} {mine.baseline:.4g}",
            metric,
            mine,
            theirs,
        )
    if theirs is None:
        return Decision(
            name,
            version,
            True,
            f"first version: {here} beats the naive baseline {challenger.baseline_metric} {mine.baseline:.4g}",
            metric,
            mine,
            None,
        )
    versus = f"champion v{theirs.version}'s {theirs.score:.4g} by the margin {margin:.1%}"
    if challenger.better(mine.score, theirs.score, margin):
        return Decision(
            name, version, True, f"{here} beats {versus} and the baseline {mine.baseline:.4g}", metric, mine, theirs
        )
    return Decision(name, version, False, f"{here} does not beat {versus}", metric, mine, theirs)


def register_and_gate(
    outcome: RunToRegister,
    evaluate: Evaluate,
    *,
    holdout: str | None = None,
    actor: str | None = None,
    margin: float = 0.0,
) -> Decision:
    """Register the run's model, make it @challenger, re-evaluate it and @champion with `evaluate`
    (both on the same hold-out, whose sha256 `holdout` names in the audit trail), promote or reject,
    record the move. Returns the decision. `experiment.gate` supplies the model task's evaluator.

    If an evaluation raises, no decision is taken: the version keeps @challenger and nothing else moves.
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0 (a relative improvement), got {margin}")
    client = MlflowClient()
    name = registered_model_name(outcome.kind, outcome.series)
    # Every write to the model happens under its lock: SQLite gives up on a write that waits > 5 s.
    with model_lock(name):
        version = register_version(outcome)
        number = str(version.version)
        client.set_registered_model_alias(name, CHALLENGER, number)

    # Evaluations are slow, so they run outside the lock; the champion is re-checked inside it.
    challenger = evaluate(version_uri(name, number))
    champion_version = alias_version(name, CHAMPION)
    champion = evaluate(version_uri(name, champion_version)) if champion_version else None
    with model_lock(name):
        current = alias_version(name, CHAMPION)
        if current != champion_version:  # promoted meanwhile: compare with the champion that serves now
            champion_version = current
            champion = evaluate(version_uri(name, current)) if current else None
        decision = decide(name, number, challenger, (champion_version, champion) if champion else None, margin)
        _apply(decision, actor_name(actor), holdout=holdout)
        client.update_model_version(
            name, number, description=model_card(name, version, client.get_run(outcome.run_id), decision)
        )
    return decision


def _apply(decision: Decision, actor: str, holdout: str | None) -> None:
    """Move the aliases for `decision` and record it; the caller holds the model's lock."""
    client = MlflowClient()
    name, number = decision.name, decision.version
    before = aliases_of(name)
    if decision.promoted:
        # @previous first: a crash between the two moves leaves both on the old champion, still valid.
        if decision.champion:
            client.set_registered_model_alias(name, PREVIOUS, decision.champion.version)
        client.set_registered_model_alias(name, CHAMPION, number)
    if before.get(CHALLENGER) == number:  # a newer challenger may have taken the alias meanwhile
        client.delete_registered_model_alias(name, CHALLENGER)
    now = _utc_now()
    gate_tags = {
        "decision": "promoted" if decision.promoted else "rejected",
        "reason": decision.reason,
        "time": now.isoformat(),
        "actor": actor,
        "metric": decision.metric,
        "score": f"{decision.challenger.score:.6g}",
        "baseline": f"{decision.challenger.baseline:.6g}",
        "champion_version": decision.champion.version if decision.champion else "none",
        "champion_score": f"{decision.champion.score:.6g}" if decision.champion else "none",
        "holdout.sha256": holdout or "unknown",
    }
    for key, value in gate_tags.items():
        client.set_model_version_tag(name, number, f"{GATE_TAG_PREFIX}{key}", value)
    record(
        name,
        {
            "action": decision.action,
            "actor": actor,
            "version": number,
            "reason": decision.reason,
            "metric": decision.metric,
            "holdout_sha256": holdout,
            "candidate": asdict(decision.challenger),
            "incumbent": asdict(decision.champion) if decision.champion else None,
            "aliases_before": _serving(before),
            "aliases_after": _serving(aliases_of(name)),
        },
        now,
    )


# ---------------------------------------------------------------- rollback


def rollback(name: str, *, actor: str | None = None, reason: str = "manual rollback") -> dict[str, Any]:
    """Make @previous the champion again; the demoted champion becomes @previous. Returns the audit entry."""
    client = MlflowClient()
    with model_lock(name):
        before = aliases_of(name)
        restored, demoted = before.get(PREVIOUS), before.get(CHAMPION)
        if restored is None:
            raise RegistryError(
                f"{name} has no @previous version to roll back to "
                f"(@champion is {'v' + demoted if demoted else 'unset'}); "
                f"see `lstmops registry history {name}`"
            )
        client.set_registered_model_alias(name, CHAMPION, restored)
        if demoted is not None:
            client.set_registered_model_alias(name, PREVIOUS, demoted)
        else:
            client.delete_registered_model_alias(name, PREVIOUS)
        return record(
            name,
            {
                "action": "rollback",
                "actor": actor_name(actor),
                "version": restored,
                "reason": reason,
                "metric": _gate_tag(name, restored, "metric"),
                "holdout_sha256": None,
                # No re-evaluation (a rollback must be quick): each side's scores from its own gate.
                "candidate": _recorded_side(name, restored),
                "incumbent": _recorded_side(name, demoted) if demoted else None,
                "aliases_before": _serving(before),
                "aliases_after": _serving(aliases_of(name)),
            },
            _utc_now(),
        )


def _gate_tag(name: str, version: str, key: str) -> str | None:
    return MlflowClient().get_model_version(name, version).tags.get(f"{GATE_TAG_PREFIX}{key}")


def _recorded_side(name: str, version: str) -> dict[str, Any]:
    tags = MlflowClient().get_model_version(name, version).tags
    metrics = {
        key.removeprefix(METRIC_TAG_PREFIX): float(value)
        for key, value in tags.items()
        if key.startswith(METRIC_TAG_PREFIX)
    }
    return {
        "version": version,
        "score": _float_tag(tags, "gate.score"),
        "baseline": _float_tag(tags, "gate.baseline"),
        "metrics": metrics,
    }


def _float_tag(tags: dict[str, str], key: str) -> float | None:
    value = tags.get(key, "none")
    return None if value == "none" else float(value)


# ---------------------------------------------------------------- audit trail


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _serving(aliases: dict[str, str]) -> dict[str, str]:
    return {alias: aliases[alias] for alias in (CHAMPION, PREVIOUS, CHALLENGER) if alias in aliases}


def record(name: str, entry: dict[str, Any], when: datetime) -> dict[str, Any]:
    """Append one audit entry to `name`'s history (a uniquely keyed registered-model tag)."""
    entry = {"time": when.isoformat(), **entry}
    key = f"{AUDIT_PREFIX}{when:%Y%m%dT%H%M%S.%fZ}.{uuid.uuid4().hex[:8]}"
    MlflowClient().set_registered_model_tag(name, key, json.dumps(entry, sort_keys=True))
    return entry


def history(name: str) -> list[dict[str, Any]]:
    """Every alias move of `name`, oldest first."""
    tags = MlflowClient().get_registered_model(name).tags
    return [json.loads(tags[key]) for key in sorted(tags) if key.startswith(AUDIT_PREFIX)]


# ---------------------------------------------------------------- concurrency


def lock_dir() -> Path:
    """`<folder of the SQLite store>/.locks`, else `mlruns/.locks` in the working directory."""
    uri = mlflow.get_registry_uri()
    if uri.startswith("sqlite:///") and not uri.endswith(":memory:"):
        return Path(uri.removeprefix("sqlite:///")).parent / ".locks"
    return Path("mlruns") / ".locks"


@contextmanager
def model_lock(name: str, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the per-model lock that serialises alias moves of `name` on this host."""
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.lock"
    try:
        with FileLock(path, timeout=timeout):
            yield
    except Timeout as err:
        raise RegistryError(f"{name}: another promotion or rollback has held {path} for over {timeout:.0f} s") from err
