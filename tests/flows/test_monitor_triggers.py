"""prefect.yaml's retrain triggers: a `lstmops.model.decayed` event renders into typed retrain
parameters (lists, not strings) that the retrain flow accepts, with a per-model cooldown."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from prefect.events import Event
from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
from prefect.utilities.schema_tools.hydration import HydrationContext, hydrate

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "flows"))  # the flows are scripts that import their siblings by name

import monitor as monitor_flow  # noqa: E402
import retrain as retrain_flow  # noqa: E402

DEPLOYMENTS = {d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}


def decayed(name: str, data_kind: str, kind: str, series: str) -> Event:
    """The event `monitoring.events.emit_decayed` sends for a decayed champion."""
    return Event(
        event="lstmops.model.decayed",
        resource={"prefect.resource.id": f"lstmops.model.{name}", "lstmops.data_kind": data_kind},
        payload={"name": name, "version": "3", "kind": kind, "series": series, "data_kind": data_kind},
    )


@pytest.mark.parametrize(
    ("deployment", "event"),
    [
        ("retrain-prices", decayed("forecaster-DEMOA", "prices", "forecaster", "DEMOA")),
        ("retrain-sensors", decayed("seq2seq-demo__machine_a", "sensors", "seq2seq", "demo/machine_a")),
    ],
)
def test_a_decay_event_renders_typed_retrain_parameters(deployment, event):
    (raw,) = DEPLOYMENTS[deployment]["triggers"]
    trigger = DeploymentEventTrigger.model_validate(raw)
    assert trigger.expect == {"lstmops.model.decayed"}
    assert trigger.match.includes([event.resource])
    rendered = hydrate(
        raw["parameters"], HydrationContext(render_jinja=True, raise_on_error=True, jinja_context={"event": event})
    )
    assert rendered["series"] == [event.payload["series"]]
    assert rendered["model_kinds"] == [event.payload["kind"]]
    assert rendered["data_kinds"] == [event.resource["lstmops.data_kind"]]
    retrain_flow.retrain.validate_parameters(rendered)  # the flow takes them as they are


def test_each_retrain_deployment_matches_only_its_data_kind():
    prices = DeploymentEventTrigger.model_validate(DEPLOYMENTS["retrain-prices"]["triggers"][0])
    sensors = DeploymentEventTrigger.model_validate(DEPLOYMENTS["retrain-sensors"]["triggers"][0])
    event = decayed("seq2seq-demo__machine_a", "sensors", "seq2seq", "demo/machine_a")
    assert sensors.match.includes([event.resource]) and not prices.match.includes([event.resource])


def test_repeated_events_of_one_model_start_one_retrain_per_cooldown():
    trigger = DeploymentEventTrigger.model_validate(DEPLOYMENTS["retrain-prices"]["triggers"][0])
    # Reactive, threshold 1: fires on the first event, then not again for that model within `within`.
    assert (trigger.posture, trigger.threshold) == ("Reactive", 1)
    assert trigger.for_each == {"prefect.resource.id"}
    assert trigger.within >= timedelta(hours=1)


def test_the_monitor_deployment_runs_the_monitor_flow_hourly():
    deployment = DEPLOYMENTS["monitor"]
    assert deployment["entrypoint"] == "flows/monitor.py:monitor"
    monitor_flow.monitor.validate_parameters(deployment["parameters"])
    assert deployment["schedules"][0]["cron"].split()[1:] == ["*", "*", "*", "*"]
