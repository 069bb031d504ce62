"""A `decayed` verdict as a Prefect event, which deployment triggers in prefect.yaml turn into a retrain.

One resource per model (`lstmops.model.<name>`), so a trigger's cooldown counts per model; the payload
says which version decayed, why, and which data kind and series a retrain must cover. Without a Prefect
API to send to, `emit_event` sends nothing and returns None (the CLI says so).
"""

from __future__ import annotations

from typing import Any

from prefect.events import emit_event

from lstmops.monitoring.check import CheckResult
from lstmops.monitoring.statistics import DECAYED

DECAYED_EVENT = "lstmops.model.decayed"


def resource_id(name: str) -> str:
    return f"lstmops.model.{name}"


def decayed_payload(result: CheckResult) -> dict[str, Any]:
    return {
        "name": result.name,
        "version": result.version,
        "kind": result.kind,
        "series": result.series,
        "data_kind": result.data_kind,
        "evidence": {key: value for key, value in result.evidence.items() if value is not None},
        "detail": result.detail,
    }


def emit_decayed(result: CheckResult) -> bool:
    """Emit `lstmops.model.decayed` for a decayed result; True when an event went out."""
    if result.status != DECAYED:
        return False
    event = emit_event(
        event=DECAYED_EVENT,
        resource={
            "prefect.resource.id": resource_id(result.name),
            "prefect.resource.name": result.name,
            # what prefect.yaml's retrain triggers match on: each retrain deployment covers one data kind
            "lstmops.data_kind": result.data_kind,
        },
        payload=decayed_payload(result),
    )
    return event is not None
