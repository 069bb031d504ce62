"""Which version of a model serves, and why: registration, the champion/challenger gate, rollback, audit.

One registered model per model kind and series (`forecaster-DEMOA`, `autoencoder-demo__machine_a`).
Aliases only, never the deprecated stages:
  @champion    the version that serves (`models:/NAME@champion`);
  @challenger  a new version while the gate decides about it;
  @previous    the champion before the current one: the rollback target.

The gate re-evaluates the challenger AND the current champion on the same, newest hold-out (never
stale metrics), after checking that neither version trained on any of it (each version's
`data.train_end` tag; where one did, the comparison moves to the hold-out's rows after both training
ends when there are enough of them for the paired test, else it is refused), and promotes only if
the challenger beats the champion AND the strongest simple baseline (the evaluation's
`baseline_metric`: for forecasts the lowest error of the naive and linear baselines on these points)
by a statistically significant margin at level `alpha` (paired tests on the same hold-out points:
Diebold–Mariano for forecasts, a block bootstrap of the F1 difference for anomaly detection; see
`evaluate.significance`) and beats the champion by at least `margin` (relative: the smallest effect
worth a change). A noisy tie keeps the champion. A first version must win significantly over the
baseline too, else it is kept without @champion and its decision says so. After the decision @challenger
is removed either way (it means "awaiting a decision"); a rejected version keeps its number, its
`gate.*` tags say why, and `review MODEL --version N` still shows it.

Crash safety: each gate holds a per-version lock (`<name>.v<N>.gate.lock`) from registering its
version to deciding it; a @challenger whose lock nobody holds was left by a gate that died, and the
next gate of the model decides it first (or abandons it, audited, where it cannot be evaluated). A
champion whose files cannot be read (serving.CorruptModelError) does not block promotions: the
challenger is judged against the baseline alone, as a first version is, and the decision carries the warning.

Rollback swaps @champion and @previous, so a second rollback undoes the first.

Versions carry only the tags that identify, verify and decide them (VERSION_TAGS from the run, the
sha256 of their file manifest `lstmops.manifest_sha256` (see `model_files`), `gate.*`); their metrics
stay on the run, where MLflow shows them.

Audit trail: every promote, reject, abandon and rollback is one registered-model tag
`audit.<UTC time>.<id>` holding a JSON entry (time, actor, action, version, reason, aliases
before/after, both sides' metrics: `candidate` is the version the move is about, `incumbent` the
champion it was compared with or replaced, the paired tests `test` and `baseline_test`, the
`holdout_rows` compared on and any `warning`): complete and machine-readable. Keys
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
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import mlflow
from filelock import FileLock, Timeout
from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

from lstmops import model_files
from lstmops.data.snapshots import series_slug
from lstmops.evaluate.report import Evaluation
from lstmops.reports.registry import history_markdown, model_card
from lstmops.serving import CorruptModelError
from lstmops.tasks import task_names
from lstmops.tracking import filter_literal

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


class HoldoutTooShort(ValueError):
    """Too few hold-out points after the versions' training ends to compare on; the message says how many."""


@dataclass(frozen=True)
class Resplit:
    """The gate's hold-out cut to its rows after the newest training end of the versions compared."""

    evaluate: Evaluate  # model URI -> its evaluation on these rows only
    after: str  # ISO time: the newest `data.train_end` of the versions compared
    start: str  # ISO time of the first row kept
    points: int  # paired points scored there

    def describe(self) -> str:
        return f"the {self.points} newest points from {self.start}, after the training end {self.after}"


# The newest training end (ISO) -> the hold-out's rows after it; raises HoldoutTooShort when too few.
NewestRows = Callable[[str], Resplit]


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
    baseline_name: str | None = None  # which baseline `baseline` scores, where it is the strongest of several


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
    baseline_test: Comparison | None = None  # challenger vs the strongest simple baseline on the same points
    significant: bool = False  # `test` found the challenger better at level alpha
    resplit: Resplit | None = None  # the rows compared on, when not the whole hold-out
    warning: str | None = None  # e.g. a champion that could not be loaded

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


# ---------------------------------------------------------------- the gate


def _side(version: str, evaluation: Evaluation) -> Side:
    return Side(
        version,
        evaluation.score,
        evaluation.baseline_score,
        {key: float(value) for key, value in evaluation.metrics.items()},
        evaluation.baseline_name,
    )


def _paired_test(challenger: Evaluation, other: Evaluation, alpha: float, baseline: bool) -> Comparison | None:
    if challenger.units is None or other.units is None:
        return None
    from lstmops.evaluate.significance import compare_units

    return compare_units(challenger.units, other.units, horizon=challenger.horizon, alpha=alpha, baseline=baseline)


def _baseline_words(evaluation: Evaluation) -> str:
    """`strongest simple baseline, linear,` where there are several; else `baseline f1_zscore`."""
    if evaluation.baseline_name:
        return f"strongest simple baseline, {evaluation.baseline_name},"
    return f"baseline {evaluation.baseline_metric}"


def _tested(test: Comparison | None) -> str:
    return f" ({test.describe()})" if test else " (no paired test: the evaluation has no per-point results)"


def decide(
    name: str,
    version: str,
    challenger: Evaluation,
    champion: tuple[str, Evaluation] | None,
    margin: float = 0.0,
    alpha: float = 0.05,
    unloadable_champion: str | None = None,
) -> Decision:
    """Promote only if the challenger beats the champion by a significant margin (paired test at
    `alpha`, and at least `margin` relative) and the strongest simple baseline significantly; a first
    version, or a challenger whose champion cannot be loaded (`unloadable_champion`: the warning, which
    leads the reason), must beat that baseline significantly (a first version that does not is kept
    without @champion)."""
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
    versus_baseline = f"{_baseline_words(challenger)} {mine.baseline:.4g}{_tested(vs_baseline)}"

    warned = f"{unloadable_champion}: " if unloadable_champion and theirs is None else ""

    def decision(promoted: bool, reason: str, test: Comparison | None, significant: bool) -> Decision:
        return Decision(name, version, promoted, warned + reason, metric, mine, theirs, test, vs_baseline, significant)

    if theirs is None:  # a first version (or a broken champion): only the baseline to beat, significantly
        first = "" if warned else "first version: "
        kept = "" if warned else "first version kept without @champion: "
        if not challenger.beats_baseline():
            return decision(False, f"{kept}{here} does not beat the {versus_baseline}", vs_baseline, baseline_wins)
        if not baseline_wins:
            return decision(
                False, f"{kept}{here} vs the {versus_baseline}: not significant at alpha {alpha:g}", vs_baseline, False
            )
        return decision(
            True, f"{first}{here} beats the {versus_baseline}: significant at alpha {alpha:g}", vs_baseline, True
        )
    if not challenger.beats_baseline():
        return decision(False, f"{here} does not beat the {versus_baseline}", vs_baseline, baseline_wins)
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


def overlapping(holdout_start: str | None, train_ends: dict[str, str | None]) -> dict[str, str]:
    """The versions (label -> `data.train_end`) that trained on data at or after the hold-out's start.

    `train_ends` maps a label ('challenger v3') to its `data.train_end` (None: not recorded, by
    versions registered before the tag existed; they cannot be checked and pass).
    """
    if holdout_start is None:
        return {}
    start = datetime.fromisoformat(holdout_start)
    return {who: end for who, end in train_ends.items() if end and datetime.fromisoformat(end) >= start}


def _refusal(name: str, holdout_start: str, seen: dict[str, str], why_not: str = "") -> str:
    which = ", ".join(f"{who} trained on data up to {end}" for who, end in seen.items())
    return (
        f"{name}: refusing to compare on a hold-out starting {holdout_start}: {which}, so it would be "
        f"scored on rows it has seen{why_not}. Gate on newer data (ingest a snapshot whose test part starts after "
        "every version's training end) or keep windows.split as the champion was trained with."
    )


@dataclass
class _Gate:
    """One gate run's settings: the hold-out, how to evaluate on it and on its newest rows, the policy."""

    name: str
    evaluate: Evaluate
    holdout: str | None
    holdout_start: str | None
    newest_rows: NewestRows | None
    actor: str
    margin: float
    alpha: float

    def rows_for(self, own_end: str | None, champion_version: str | None) -> Resplit | None:
        """None: compare on the whole hold-out; else the newest rows after both versions' training ends.
        HoldoutOverlapError when a version trained on the hold-out and too few rows come after."""
        ends = {"the challenger": own_end}
        if champion_version:
            ends[f"champion v{champion_version}"] = _train_end(self.name, champion_version)
        seen = overlapping(self.holdout_start, ends)
        if not seen:
            return None
        if self.newest_rows is None:
            raise HoldoutOverlapError(_refusal(self.name, self.holdout_start, seen))
        newest = max((end for end in ends.values() if end), key=datetime.fromisoformat)
        try:
            return self.newest_rows(newest)
        except HoldoutTooShort as err:
            raise HoldoutOverlapError(_refusal(self.name, self.holdout_start, seen, f", and {err}")) from err

    def champion(self, version: str | None, evaluate: Evaluate) -> tuple[Evaluation | None, str | None]:
        """The champion's evaluation, or (None, warning) when its files cannot be read."""
        if version is None:
            return None, None
        try:
            return evaluate(version_uri(self.name, version)), None
        except CorruptModelError as err:
            return None, f"champion v{version} cannot be loaded ({err}), so compared with the baseline only"

    def judge(self, number: str, own_end: str | None, run_id: str, note: str = "") -> Decision:
        """Evaluate version `number` and the champion on the same rows, decide, move the aliases, record."""
        client = MlflowClient()
        champion_version = alias_version(self.name, CHAMPION)
        resplit = self.rows_for(own_end, champion_version)
        evaluate = resplit.evaluate if resplit else self.evaluate
        # Evaluations are slow, so they run outside the lock; the champion is re-checked inside it.
        challenger = evaluate(version_uri(self.name, number))
        champion, warning = self.champion(champion_version, evaluate)
        with model_lock(self.name):
            current = alias_version(self.name, CHAMPION)
            if current != champion_version:  # promoted meanwhile: compare with the champion that serves now
                champion_version = current
                rows = self.rows_for(own_end, current)
                if _rows_key(rows) != _rows_key(resplit):
                    resplit, evaluate = rows, rows.evaluate if rows else self.evaluate
                    challenger = evaluate(version_uri(self.name, number))
                champion, warning = self.champion(current, evaluate)
            compared = (champion_version, champion) if champion else None
            decision = decide(self.name, number, challenger, compared, self.margin, self.alpha, warning)
            on_rows = (
                f"on {resplit.describe()} (the hold-out overlapped a version's training data): " if resplit else ""
            )
            decision = replace(decision, reason=f"{note}{on_rows}{decision.reason}", resplit=resplit, warning=warning)
            _apply(decision, self.actor, holdout=self.holdout, holdout_start=self.holdout_start)
            version = client.get_model_version(self.name, number)
            client.update_model_version(
                self.name, number, description=model_card(self.name, version, client.get_run(run_id), decision)
            )
        return decision

    def settle_undecided(self) -> Decision | None:
        """Decide a @challenger left by a gate that died (its gate lock is free), or abandon it, audited,
        where it cannot be compared; a @challenger whose gate is still running is left to that gate."""
        with model_lock(self.name):
            orphan = alias_version(self.name, CHALLENGER)
            lock = _gate_lock(self.name, orphan) if orphan else None
            if lock is None or not _try_acquire(lock):
                return None
        try:
            version = MlflowClient().get_model_version(self.name, orphan)
            left = f"left undecided at @{CHALLENGER} by a gate that did not finish"
            try:
                return self.judge(
                    orphan, version.tags.get(TRAIN_END_TAG), version.run_id, f"{left}; decided by the next gate: "
                )
            except Exception as err:  # any reason: an undecidable version must not block every later gate
                abandon(
                    self.name, orphan, f"{left}; abandoned by the next gate, which cannot compare it: {err}", self.actor
                )
                return None
        finally:
            lock.release()


def _rows_key(resplit: Resplit | None) -> tuple[str, int] | None:
    return (resplit.start, resplit.points) if resplit else None


def register_and_gate(
    outcome: RunToRegister,
    evaluate: Evaluate,
    *,
    holdout: str | None = None,
    holdout_start: str | None = None,
    newest_rows: NewestRows | None = None,
    actor: str | None = None,
    margin: float = 0.0,
    alpha: float = 0.05,
) -> Decision:
    """Register the run's model, make it @challenger, re-evaluate it and @champion with `evaluate`
    (both on the same hold-out, whose sha256 `holdout` names in the audit trail), promote or reject,
    record the move. Returns the decision. `experiment.gate` supplies the model task's evaluator.

    `holdout_start` (ISO time of the hold-out's first row) is checked against both versions'
    `data.train_end` before anything is registered; where either trained on it, `newest_rows` gives
    the hold-out's rows after both training ends to compare on instead, and HoldoutOverlapError is
    raised when there is no `newest_rows` or it finds too few. A @challenger left undecided by an
    earlier gate that died is decided (or abandoned) first. If an evaluation raises, no decision is
    taken: the version keeps @challenger (for the next gate) and nothing else moves.
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0 (a relative improvement), got {margin}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    client = MlflowClient()
    name = registered_model_name(outcome.kind, outcome.series)
    own_end = client.get_run(outcome.run_id).data.tags.get(TRAIN_END_TAG)
    gate = _Gate(name, evaluate, holdout, holdout_start, newest_rows, actor_name(actor), margin, alpha)
    if _model_exists(name):
        gate.settle_undecided()
        gate.rows_for(own_end, alias_version(name, CHAMPION))  # refuse before registering anything
    else:
        gate.rows_for(own_end, None)
    # Every write to the model happens under its lock: SQLite gives up on a write that waits > 5 s.
    with model_lock(name):
        version = register_version(outcome)
        number = str(version.version)
        deciding = _gate_lock(name, number)
        deciding.acquire()  # held until decided: a @challenger whose lock is free was left by a dead gate
        client.set_registered_model_alias(name, CHALLENGER, number)
    try:
        return gate.judge(number, own_end, outcome.run_id)
    finally:
        deciding.release()


def abandon(name: str, version: str, reason: str, actor: str) -> dict[str, Any]:
    """Give up deciding `version`: it loses @challenger, its `gate.decision` says abandoned, and the audit says why."""
    client = MlflowClient()
    with model_lock(name):
        before = aliases_of(name)
        if before.get(CHALLENGER) == version:
            client.delete_registered_model_alias(name, CHALLENGER)
        now = _utc_now()
        for key, value in {"decision": "abandoned", "reason": reason, "time": now.isoformat(), "actor": actor}.items():
            client.set_model_version_tag(name, version, f"{GATE_TAG_PREFIX}{key}", value)
        return record(
            name,
            {
                "action": "abandon",
                "actor": actor,
                "version": version,
                "reason": reason,
                "metric": None,
                "holdout_sha256": None,
                "candidate": None,
                "incumbent": None,
                "aliases_before": _serving(before),
                "aliases_after": _serving(aliases_of(name)),
            },
            now,
        )


def _model_exists(name: str) -> bool:
    return bool(MlflowClient().search_registered_models(filter_string=f"name = {filter_literal(name)}"))


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


def _apply(decision: Decision, actor: str, holdout: str | None, holdout_start: str | None = None) -> None:
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
        "baseline_name": decision.challenger.baseline_name or "none",
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
            "holdout_rows": _holdout_rows(decision, holdout_start),
            "warning": decision.warning,
            "aliases_before": _serving(before),
            "aliases_after": _serving(aliases_of(name)),
        },
        now,
    )


def _holdout_rows(decision: Decision, holdout_start: str | None) -> dict[str, Any]:
    """The rows the decision compared on: from `start`, after the training end `after` when re-split."""
    if decision.resplit:
        return {"start": decision.resplit.start, "after": decision.resplit.after, "points": decision.resplit.points}
    return {"start": holdout_start, "after": None, "points": decision.test.n if decision.test else None}


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


def _gate_lock(name: str, version: str) -> FileLock:
    """The lock a gate holds on version `version` of `name` from registering it to deciding it."""
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(folder / f"{name}.v{version}.gate.lock")


def _try_acquire(lock: FileLock) -> bool:
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    return True


@contextmanager
def model_lock(name: str, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the per-model lock that serialises alias moves of `name` on this host.

    A name that would put its lock file anywhere but directly in the lock folder ('../../x') is refused
    before anything is created: no registered model is named so.
    """
    folder = lock_dir()
    path = folder / f"{name}.lock"
    if Path(name).name != name or name in ("", ".", ".."):
        raise RegistryError(f"{name!r} is not a registered model name (it would place a lock file outside {folder})")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(path, timeout=timeout):
            yield
    except Timeout as err:
        raise RegistryError(f"{name}: another promotion or rollback has held {path} for over {timeout:.0f} s") from err
