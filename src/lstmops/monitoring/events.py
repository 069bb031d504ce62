"""A `decayed` verdict as a Prefect event, which deployment triggers in prefect.yaml turn into a retrain.

One resource per model (`lstmops.model.<name>`), so a trigger's cooldown counts per model; the payload
says which version decayed, why, and which data kind and series a retrain must cover. Events go out
only where there is a Prefect API to receive them: inside a flow run, or with PREFECT_API_URL set.
Elsewhere (a plain `lstmops monitor`) Prefect would start a temporary server for one event, which
no deployment trigger listens to.
"""

from __future__ import annotations

from typing import Any

from prefect.context import FlowRunContext
from prefect.events import emit_event
from prefect.settings import get_current_settings

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


def prefect_api_available() -> bool:
    return bool(get_current_settings().api.url) or FlowRunContext.get() is not None


def emit_decayed(result: CheckResult) -> bool:
    """Emit `lstmops.model.decayed` for a decayed result; True when an event went out."""
    if result.status != DECAYED or not prefect_api_available():
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
