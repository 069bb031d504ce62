"""Audit trail: who moved which alias, when and why, readable by machines and people.

Every promote, reject, abandon and rollback is one registered-model tag `audit.<UTC time>.<id>`
holding a JSON entry (time, actor, action, version, reason, aliases before/after, both sides'
metrics: `candidate` is the version the move is about, `incumbent` the champion it was compared with
or replaced, the paired tests `test` and `baseline_test`, the `holdout_rows` compared on and any
`warning`): complete and machine-readable. Keys are unique per entry, so concurrent writers never
overwrite one another; sorted keys are chronological. For people, every move also rewrites the
registered model's description, which ends with a Markdown table of the latest moves.
"""

from __future__ import annotations

import getpass
import json
import os
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlflow import MlflowClient

from lstmops.registry.report import history_markdown

if TYPE_CHECKING:  # the paired tests load scipy.stats and statsmodels: only the gate needs them, not list/history
    pass
from lstmops.registry.rule import CHALLENGER, CHAMPION, PREVIOUS

AUDIT_PREFIX = "audit."


HISTORY_ROWS = 20  # alias moves in the model description's table (the audit.* tags keep them all)


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


def utc_now() -> datetime:
    return datetime.now(UTC)


def serving_aliases(aliases: dict[str, str]) -> dict[str, str]:
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
