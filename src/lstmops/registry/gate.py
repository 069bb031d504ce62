"""The champion/challenger gate: register a version, re-evaluate it and the champion, decide, record.

The gate re-evaluates the challenger AND the current champion on the same, newest hold-out (never
stale metrics), after checking that neither version trained on any of it (each version's
`data.train_end` tag; where one did, the comparison moves to the hold-out's rows after both training
ends when there are enough of them for the paired test, else it is refused), and applies the rule
(`rule.decide`). After the decision @challenger is removed either way (it means "awaiting a
decision"); a rejected version keeps its number, its `gate.*` tags say why, and
`review MODEL --version N` still shows it.

Crash safety: each gate holds a per-version lock from registering its version to deciding it; a
@challenger whose lock nobody holds was left by a gate that died, and the next gate of the model
decides it first (or abandons it, audited, where it cannot be evaluated). A champion whose files
cannot be read (`tracking.pyfunc.CorruptModelError`) does not block promotions: the challenger is
judged against the baseline alone, as a first version is, and the decision carries the warning.

Concurrency: the champion is re-read once the model's lock is held and, if another promotion moved
it since our evaluation, the new champion is evaluated before deciding. MLflow offers no atomic
compare-and-set on aliases, so across hosts this only narrows the race (see `locks`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from mlflow import MlflowClient

from lstmops.evaluate.report import Evaluation
from lstmops.registry.report import model_card
from lstmops.tracking.pyfunc import CorruptModelError

if TYPE_CHECKING:  # the paired tests load scipy.stats and statsmodels: only the gate needs them, not list/history
    pass
from lstmops.registry.aliases import abandon, apply_decision
from lstmops.registry.audit import actor_name, alias_version
from lstmops.registry.locks import gate_lock, model_lock, try_acquire
from lstmops.registry.rule import (
    CHALLENGER,
    CHAMPION,
    Decision,
    Evaluate,
    HoldoutOverlapError,
    HoldoutTooShort,
    NewestRows,
    Resplit,
    decide,
    overlapping,
)
from lstmops.registry.versions import (
    TRAIN_END_TAG,
    RunToRegister,
    model_exists,
    register_version,
    registered_model_name,
    train_end,
    version_uri,
)


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
            ends[f"champion v{champion_version}"] = train_end(self.name, champion_version)
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
            apply_decision(decision, self.actor, holdout=self.holdout, holdout_start=self.holdout_start)
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
            lock = gate_lock(self.name, orphan) if orphan else None
            if lock is None or not try_acquire(lock):
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
    if model_exists(name):
        gate.settle_undecided()
        gate.rows_for(own_end, alias_version(name, CHAMPION))  # refuse before registering anything
    else:
        gate.rows_for(own_end, None)
    # Every write to the model happens under its lock: SQLite gives up on a write that waits > 5 s.
    with model_lock(name):
        version = register_version(outcome)
        number = str(version.version)
        deciding = gate_lock(name, number)
        deciding.acquire()  # held until decided: a @challenger whose lock is free was left by a dead gate
        client.set_registered_model_alias(name, CHALLENGER, number)
    try:
        return gate.judge(number, own_end, outcome.run_id)
    finally:
        deciding.release()
