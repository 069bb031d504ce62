"""One monitoring pass, as the CLI and the flow run it: check each champion, record it, announce a decay."""

from __future__ import annotations

from dataclasses import dataclass

from lstmops.config import Params
from lstmops.monitoring.check import ERROR, CheckResult, check_models
from lstmops.monitoring.events import emit_decayed
from lstmops.monitoring.record import record_check
from lstmops.monitoring.statistics import DECAYED


@dataclass
class Checked:
    result: CheckResult
    run_id: str | None  # the `lstmops-monitoring` run (None: skipped, or not recorded)
    event_sent: bool  # a `lstmops.model.decayed` event went to the Prefect API

    def line(self) -> str:
        if self.event_sent:
            return self.result.line() + " [event lstmops.model.decayed sent]"
        if self.result.status == DECAYED:  # nobody would hear it: say so rather than imply a retrain starts
            return self.result.line() + " [no Prefect API (PREFECT_API_URL): no event sent]"
        return self.result.line()


def monitor(names: list[str] | None, params: Params) -> list[Checked]:
    """Check `names` (default: every model with a @champion), record each check, emit an event per decay.

    A check that cannot be recorded becomes an `error` for that model only: one store hiccup must not
    hide the other models' verdicts."""
    checked = []
    for result in check_models(names, params):
        try:
            run_id = record_check(result)
        except Exception as err:
            first = str(err).strip().splitlines()[0][:300] if str(err).strip() else ""
            result.status, result.detail = ERROR, f"the check could not be recorded: {type(err).__name__}: {first}"
            run_id = None
        checked.append(Checked(result, run_id, emit_decayed(result)))
    return checked
