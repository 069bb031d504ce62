"""Which version of a model serves, and why: registration, the champion/challenger gate, rollback, audit.

One registered model per model kind and series (`forecaster-DEMOA`, `autoencoder-demo__machine_a`).
Aliases only, never the deprecated stages:
  @champion    the version that serves (`models:/NAME@champion`);
  @challenger  a new version while the gate decides about it;
  @previous    the champion before the current one: the rollback target.

The gate re-evaluates the challenger AND the current champion on the same, newest hold-out (never
stale metrics), after checking that neither version trained on any of it (each version's
`data.train_end` tag), and promotes only if the challenger beats the champion AND the naive baseline
by a statistically significant margin at level `alpha` (paired tests on the same hold-out points:
Diebold–Mariano for forecasts, a block bootstrap of the F1 difference for anomaly detection; see
`evaluate.significance`) and beats the champion by at least `margin` (relative: the smallest effect
worth a change). A noisy tie keeps the champion. A first version needs only to beat the baseline;
its decision says whether that win is significant. After the decision @challenger
is removed either way (it means "awaiting a decision"); a rejected version keeps its number, its
`gate.*` tags say why, and `review MODEL --version N` still shows it.

Rollback swaps @champion and @previous, so a second rollback undoes the first.

Versions carry only the tags that identify and decide them (VERSION_TAGS from the run, `gate.*`);
their metrics stay on the run, where MLflow shows them.

Audit trail: every promote, reject and rollback is one registered-model tag `audit.<UTC time>.<id>`
holding a JSON entry (time, actor, action, version, reason, aliases before/after, both sides'
metrics: `candidate` is the version the move is about, `incumbent` the champion it was compared with
or replaced, and the paired tests `test` and `baseline_test`): complete and machine-readable. Keys
are unique per entry, so concurrent writers never overwrite one another; sorted keys are
chronological. For people, every move also rewrites the registered model's description, which ends
with a Markdown table of the latest moves (the MLflow UI renders it on the model's page).

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
from typing import TYPE_CHECKING, Any, Protocol

import mlflow
from filelock import FileLock, Timeout
from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from lstmops.data.snapshots import series_slug
from lstmops.evaluate.report import Evaluation
from lstmops.reports.registry import history_markdown, model_card
from lstmops.tasks import task_names

if TYPE_CHECKING:  # the paired tests load scipy.stats and statsmodels: only the gate needs them, not list/history
    from lstmops.evaluate.significance import Comparison

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"
AUDIT_PREFIX = "audit."
METRIC_TAG_PREFIX = "metric."  # versions registered before metrics stayed on the run carry these
GATE_TAG_PREFIX = "gate."
TRAIN_END_TAG = "data.train_end"
# The run tags a version keeps: what it is, which data and code made it, where its training data ends.
# (data.kind and data.source are the registered model's: one model per kind and series.)
VERSION_TAGS = ("kind", "series", "data.sha256", TRAIN_END_TAG, "git.commit", "git.dirty", "params.hash")
HISTORY_ROWS = 20  # alias moves in the model description's table (the audit.* tags keep them all)
# A waiting promoter gives up after this; the lock is held for alias moves and at most one re-evaluation.
LOCK_TIMEOUT_S = 1800.0
# Registered-model tags copied from the run: what the model is and which data it scores.
MODEL_TAGS = ("kind", "series", "data.kind", "data.source")

Evaluate = Callable[[str], Evaluation]  # model URI -> its evaluation on the gate's hold-out


class RegistryError(RuntimeError):
    """A registry operation that cannot be done as asked (no champion, no @previous, lock timeout)."""


class HoldoutOverlapError(RegistryError):
    """The gate's hold-out starts before a version's training data ends: that comparison would flatter it."""


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
    test: Comparison | None = None  # the deciding paired test: vs the champion, else vs the baseline
    baseline_test: Comparison | None = None  # challenger vs the naive baseline on the same points
    significant: bool = False  # `test` found the challenger better at level alpha

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
    version = client.create_model_version(name, run.model_uri, run_id=run.run_id, tags=version_tags(source_run))
    for key in MODEL_TAGS:
        if key in source_run.data.tags:
            client.set_registered_model_tag(name, key, source_run.data.tags[key])
    if not client.get_registered_model(name).description:
        client.update_registered_model(name, description=model_description(name))
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


def _paired_test(challenger: Evaluation, other: Evaluation, alpha: float, baseline: bool) -> Comparison | None:
    if challenger.units is None or other.units is None:
        return None
    from lstmops.evaluate.significance import compare_units

    return compare_units(challenger.units, other.units, horizon=challenger.horizon, alpha=alpha, baseline=baseline)


def _tested(test: Comparison | None) -> str:
    return f" ({test.describe()})" if test else " (no paired test: the evaluation has no per-point results)"


def decide(
    name: str,
    version: str,
    challenger: Evaluation,
    champion: tuple[str, Evaluation] | None,
    margin: float = 0.0,
    alpha: float = 0.05,
) -> Decision:
    """Promote only if the challenger beats the champion by a significant margin (paired test at
    `alpha`, and at least `margin` relative) and the naive baseline significantly; a first version
    only needs to beat the baseline (whether significantly is recorded)."""
    metric = challenger.primary_metric
    mine = _side(version, challenger)
    theirs = _side(champion[0], champion[1]) if champion else None
    if champion and champion[1].primary_metric != metric:
        raise RegistryError(
            f"{name}: champion v{champion[0]} is scored by {champion[1].primary_metric!r}, "
            f"challenger v{version} by {metric!r}; they cannot be compared"
        )
    better = challenger.higher_is_better
    vs_baseline = _paired_test(challenger, challenger, alpha, baseline=True)
    baseline_wins = vs_baseline is not None and vs_baseline.significant(better)
    here = f"{metric} {mine.score:.4g}"
    versus_baseline = f"naive baseline {challenger.baseline_metric} {mine.baseline:.4g}{_tested(vs_baseline)}"

    def decision(promoted: bool, reason: str, test: Comparison | None, significant: bool) -> Decision:
        return Decision(name, version, promoted, reason, metric, mine, theirs, test, vs_baseline, significant)

    if not challenger.beats_baseline():
        return decision(False, f"{here} does not beat the {versus_baseline}", vs_baseline, baseline_wins)
    if theirs is None:
        verdict = "significant" if baseline_wins else "not significant"
        return decision(
            True,
            f"first version: {here} beats the {versus_baseline}: {verdict} at alpha {alpha:g}",
            vs_baseline,
            baseline_wins,
        )
    vs_champion = _paired_test(challenger, champion[1], alpha, baseline=False)
    champion_wins = vs_champion is not None and vs_champion.significant(better)
    versus = f"{here} vs champion v{theirs.version} {theirs.score:.4g}{_tested(vs_champion)}"
    if not champion_wins:
        return decision(False, f"{versus}: no significant improvement", vs_champion, False)
    if not challenger.better(mine.score, theirs.score, margin):
        return decision(False, f"{versus}: significant, but below the margin {margin:.1%}", vs_champion, True)
    if not baseline_wins:
        return decision(
            False, f"{versus}: significant, but not significantly better than the {versus_baseline}", vs_champion, True
        )
    return decision(True, f"{versus}: significant improvement; beats the {versus_baseline}", vs_champion, True)


def check_holdout(name: str, holdout_start: str | None, train_ends: dict[str, str | None]) -> None:
    """Refuse a hold-out that starts at or before the end of any version's training data.

    `train_ends` maps a label ('challenger v3') to its `data.train_end` (None: not recorded, by
    versions registered before the tag existed; they cannot be checked and pass).
    """
    if holdout_start is None:
        return
    start = datetime.fromisoformat(holdout_start)
    seen = {who: end for who, end in train_ends.items() if end and datetime.fromisoformat(end) >= start}
    if seen:
        which = ", ".join(f"{who} trained on data up to {end}" for who, end in seen.items())
        raise HoldoutOverlapError(
            f"{name}: refusing to compare on a hold-out starting {holdout_start}: {which}, so it would be "
            "scored on rows it has seen. Gate on newer data (ingest a snapshot whose test part starts after "
            "every version's training end) or keep windows.split as the champion was trained with."
        )


def register_and_gate(
    outcome: RunToRegister,
    evaluate: Evaluate,
    *,
    holdout: str | None = None,
    holdout_start: str | None = None,
    actor: str | None = None,
    margin: float = 0.0,
    alpha: float = 0.05,
) -> Decision:
    """Register the run's model, make it @challenger, re-evaluate it and @champion with `evaluate`
    (both on the same hold-out, whose sha256 `holdout` names in the audit trail), promote or reject,
    record the move. Returns the decision. `experiment.gate` supplies the model task's evaluator.

    `holdout_start` (ISO time of the hold-out's first row) is checked against both versions'
    `data.train_end` before anything is registered: HoldoutOverlapError if either trained on it.
    If an evaluation raises, no decision is taken: the version keeps @challenger and nothing else moves.
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0 (a relative improvement), got {margin}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    client = MlflowClient()
    name = registered_model_name(outcome.kind, outcome.series)
    own_end = client.get_run(outcome.run_id).data.tags.get(TRAIN_END_TAG)

    def check(champion_version: str | None) -> None:
        ends = {"the challenger": own_end}
        if champion_version:
            ends[f"champion v{champion_version}"] = _train_end(name, champion_version)
        check_holdout(name, holdout_start, ends)

    if _model_exists(name):
        check(alias_version(name, CHAMPION))
    else:
        check(None)
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
            check(current)
            champion = evaluate(version_uri(name, current)) if current else None
        decision = decide(name, number, challenger, (champion_version, champion) if champion else None, margin, alpha)
        _apply(decision, actor_name(actor), holdout=holdout)
        client.update_model_version(
            name, number, description=model_card(name, version, client.get_run(outcome.run_id), decision)
        )
    return decision


def _model_exists(name: str) -> bool:
    return bool(MlflowClient().search_registered_models(filter_string=f"name = '{name}'"))


def _train_end(name: str, version: str) -> str | None:
    return MlflowClient().get_model_version(name, version).tags.get(TRAIN_END_TAG)


def comparison_tags(test: Comparison | None) -> dict[str, str]:
    """`gate.test`, `gate.p_value`, `gate.effect`, `gate.ci_low`, `gate.ci_high`, `gate.n`, `gate.alpha`."""
    if test is None:
        return {"test": "none"}
    return {
        "test": test.test,
        "p_value": f"{test.p_value:.4g}",
        "effect": f"{test.effect:.6g}",
        "ci_low": f"{test.ci_low:.6g}",
        "ci_high": f"{test.ci_high:.6g}",
        "n": str(test.n),
        "alpha": f"{test.alpha:g}",
    }


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
        **comparison_tags(decision.test),
        "significant": str(decision.significant).lower(),
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
            "test": asdict(decision.test) if decision.test else None,
            "baseline_test": asdict(decision.baseline_test) if decision.baseline_test else None,
            "significant": decision.significant,
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
    client = MlflowClient()
    client.set_registered_model_tag(name, key, json.dumps(entry, sort_keys=True))
    client.update_registered_model(name, description=model_description(name))
    return entry


def model_description(name: str) -> str:
    """What the model's page says: its summary line, then the latest alias moves as a Markdown table."""
    model = MlflowClient().get_registered_model(name)
    tags = model.tags
    summary = (
        f"LSTM {tags.get('kind', '?')} for {tags.get('series', '?')}. `@champion` serves, `@previous` is the "
        "rollback target. The `audit.*` tags hold every alias move as JSON; the latest:"
    )
    return f"{summary}\n\n{history_markdown(history(name)[-HISTORY_ROWS:])}"


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
