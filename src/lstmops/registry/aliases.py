"""Every alias move outside registration: a gate's decision applied, an abandoned challenger, a rollback.

Aliases only, never the deprecated stages:
  @champion    the version that serves (`models:/NAME@champion`);
  @challenger  a new version while the gate decides about it;
  @previous    the champion before the current one: the rollback target.
Rollback swaps @champion and @previous, so a second rollback undoes the first. Each move is recorded
in the audit trail (`audit`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from mlflow import MlflowClient

if TYPE_CHECKING:  # the paired tests load scipy.stats and statsmodels: only the gate needs them, not list/history
    pass
from lstmops.registry.audit import actor_name, aliases_of, record, serving_aliases, utc_now
from lstmops.registry.locks import model_lock
from lstmops.registry.rule import CHALLENGER, CHAMPION, PREVIOUS, Decision, RegistryError, comparison_tags
from lstmops.registry.versions import GATE_TAG_PREFIX, gate_tag, recorded_side


def abandon(name: str, version: str, reason: str, actor: str) -> dict[str, Any]:
    """Give up deciding `version`: it loses @challenger, its `gate.decision` says abandoned, and the audit says why."""
    client = MlflowClient()
    with model_lock(name):
        before = aliases_of(name)
        if before.get(CHALLENGER) == version:
            client.delete_registered_model_alias(name, CHALLENGER)
        now = utc_now()
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
                "aliases_before": serving_aliases(before),
                "aliases_after": serving_aliases(aliases_of(name)),
            },
            now,
        )


def apply_decision(decision: Decision, actor: str, holdout: str | None, holdout_start: str | None = None) -> None:
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
    now = utc_now()
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
            "aliases_before": serving_aliases(before),
            "aliases_after": serving_aliases(aliases_of(name)),
        },
        now,
    )


def _holdout_rows(decision: Decision, holdout_start: str | None) -> dict[str, Any]:
    """The rows the decision compared on: from `start`, after the training end `after` when re-split."""
    if decision.resplit:
        return {"start": decision.resplit.start, "after": decision.resplit.after, "points": decision.resplit.points}
    return {"start": holdout_start, "after": None, "points": decision.test.n if decision.test else None}


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
                "metric": gate_tag(name, restored, "metric"),
                "holdout_sha256": None,
                # No re-evaluation (a rollback must be quick): each side's scores from its own gate.
                "candidate": recorded_side(name, restored),
                "incumbent": recorded_side(name, demoted) if demoted else None,
                "aliases_before": serving_aliases(before),
                "aliases_after": serving_aliases(aliases_of(name)),
            },
            utc_now(),
        )
