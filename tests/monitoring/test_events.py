"""The decay event: what it carries, and that it is sent only where a Prefect API can receive it."""

from __future__ import annotations

from lstmops.monitoring import events
from lstmops.monitoring.check import CheckResult


def result(status: str) -> CheckResult:
    evidence = {"error_ratio": 1.4, "dm_p": 0.001, "cusum_alarm_at": None}
    return CheckResult(
        "forecaster-DEMOA", status, "3", 120, evidence, "error ratio 1.4", "forecaster", "DEMOA", "prices"
    )


def test_a_decay_is_one_event_per_model_with_what_a_retrain_needs(monkeypatch):
    sent = []
    monkeypatch.setattr(events, "emit_event", lambda **event: sent.append(event) or object())
    monkeypatch.setattr(events, "prefect_api_available", lambda: True)
    assert events.emit_decayed(result("decayed"))
    assert not events.emit_decayed(result("warning"))
    (event,) = sent
    assert event["event"] == "lstmops.model.decayed"
    assert event["resource"] == {
        "prefect.resource.id": "lstmops.model.forecaster-DEMOA",
        "prefect.resource.name": "forecaster-DEMOA",
        "lstmops.data_kind": "prices",
    }
    payload = event["payload"]
    assert (payload["version"], payload["kind"], payload["series"]) == ("3", "forecaster", "DEMOA")
    assert payload["evidence"] == {"error_ratio": 1.4, "dm_p": 0.001}  # None values left out


def test_without_a_prefect_api_nothing_is_sent(monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr(events, "emit_event", lambda **event: (_ for _ in ()).throw(AssertionError("sent")))
    # an earlier test in this process may have left Prefect's settings pointing at a server of its own
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert not events.prefect_api_available()
        assert not events.emit_decayed(result("decayed"))
