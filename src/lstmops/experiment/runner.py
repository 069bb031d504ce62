"""One experiment = train -> evaluate on the hold-out -> log to MLflow, for any model task; and the
registry gate's view of the same task (its evaluator, applied to registered versions).

Each phase is timed and the seconds are logged with the run (`seconds/open`, `seconds/train`,
`seconds/evaluate`, `seconds/log`), so MLflow shows where a run's time went and benchmarks can read it back.
"""

from __future__ import annotations

import errno
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from lstmops.config import Params
from lstmops.data.kinds import data_kind
from lstmops.tasks import get_task
from lstmops.tracking import runs, store
from lstmops.train import live

if TYPE_CHECKING:
    from lstmops.data.prepare import PreparedSeries
    from lstmops.evaluate.report import Evaluation
    from lstmops.registry.rule import Decision, Evaluate, NewestRows
    from lstmops.tasks.contract import Trained


@dataclass
class ExperimentOutcome:
    kind: str
    series: str
    run_id: str
    model_uri: str
    evaluation: Evaluation
    beats_baseline: bool
    seconds: float
    phase_seconds: dict[str, float] = field(default_factory=dict)  # train, evaluate, log

    def summary(self) -> str:
        e = self.evaluation
        verdict = "beats" if self.beats_baseline else "does NOT beat"
        return (
            f"{self.kind} {self.series}: {e.primary_metric} {e.score:.4g} vs {e.baseline_metric}"
            f"{f' ({e.baseline_name})' if e.baseline_name else ''} {e.baseline_score:.4g} -> {verdict} the baseline"
            f"  (run {self.run_id}, {self.seconds:.1f} s)"
        )


def training_run_name(kind: str, prepared: PreparedSeries) -> str:
    """`<task>-<series>-<newest data date>`: the MLflow run's name, from the CLI and the flows alike."""
    return f"{kind}-{prepared.series}-{data_kind(prepared.kind).newest_time(prepared.features)}"


class ModelNotLogged(RuntimeError):
    """Training finished but MLflow logging failed; the model is kept on disk (`lstmops.unlogged`)."""


def run_experiment(
    kind: str,
    prepared: PreparedSeries,
    params: Params,
    *,
    run_name: str | None = None,
    tags: dict[str, str] | None = None,
    trained: Trained | None = None,
    save_to: Path | None = None,
) -> ExperimentOutcome:
    """Train task `kind` on `prepared` (seeded by the trainer), evaluate it, log the run; print one summary line.

    The store is checked first (`preflight.before_training`). The MLflow run is open for the whole
    experiment: its epochs appear as they are trained, and a failure leaves it FAILED (see
    `runs.training_run`). If logging fails after training, the model is kept on disk and
    ModelNotLogged says how to log it later. `trained`: a model trained earlier, logged instead of training.
    `save_to`: also save the trained model there with the task's own save (a DVC stage's model output).
    """
    from lstmops.experiment import preflight, unlogged
    from lstmops.registry.versions import registered_model_name
    from lstmops.tracking import store_record

    task = get_task(kind)
    params = params.for_task(kind)  # the run logs the training values the task really used
    name = run_name or training_run_name(kind, prepared)
    model = registered_model_name(kind, prepared.series)
    if trained is None:  # a model trained earlier (log-saved) has its windows already
        preflight.check_enough_rows(kind, prepared, params)
    preflight.before_training(kind, model, params.data.root)
    started = time.perf_counter()
    kept = None
    try:
        with runs.training_run(kind, prepared, params, run_name=name, tags=tags) as run_id:
            with live.watching(f"{kind} {prepared.series}", run_id):
                opened_at = time.perf_counter()
                trained = trained or task.train(prepared, params)
                trained_at = time.perf_counter()
                evaluation = task.evaluate(trained, prepared, params)
                evaluated_at = time.perf_counter()
                try:
                    logged = runs.log_trained_model(run_id, trained, evaluation, prepared, params)
                except Exception as log_err:
                    try:
                        kept = unlogged.keep(trained, prepared, params, name)
                    except OSError as keep_err:  # a full disk under the data folder too: nothing to point at
                        raise ModelNotLogged(
                            f"{kind} {prepared.series}: trained, but logging it to MLflow failed "
                            f"({_first_line(log_err)}{_store_hint(log_err)}) and keeping it on disk failed too "
                            f"({_first_line(keep_err)}{_store_hint(keep_err, 'the data folder')}); "
                            "train again once there is room"
                        ) from log_err
                    raise
    except Exception as err:
        if kept is None:
            raise
        raise ModelNotLogged(
            f"{kind} {prepared.series}: trained, but logging it to MLflow failed ({_first_line(_root_cause(err))}"
            f"{_store_hint(err)}); the model is kept in {kept}: log it once the store works with "
            f"`lstmops log-saved {kept}`"
        ) from err
    finished = time.perf_counter()
    if save_to is not None:
        trained.save(Path(save_to))
    store_record.remember(params.data.root, store.current_store(), model, run_id=run_id)
    phases = {
        "open": opened_at - started,
        "train": trained_at - opened_at,
        "evaluate": evaluated_at - trained_at,
        "log": finished - evaluated_at,
    }
    runs.log_phase_seconds(logged.run_id, phases)
    outcome = ExperimentOutcome(
        kind,
        prepared.series,
        logged.run_id,
        logged.model_uri,
        evaluation,
        evaluation.beats_baseline(),
        finished - started,
        phases,
    )
    print(outcome.summary())
    return outcome


# A full or read-only store is not a bug to report but a state to fix: the line says which and where.
_STORE_STATES = {
    errno.ENOSPC: "its disk is full: free space there",
    errno.EDQUOT: "its disk quota is used up: free space there",
    errno.EROFS: "it is read-only: make it writable, or point MLFLOW_TRACKING_URI at a writable store",
    errno.EACCES: "it is not writable by this user: fix its permissions, or point MLFLOW_TRACKING_URI at a writable store",
}


def _chain(err: BaseException) -> list[BaseException]:
    """`err` and what caused it: ending a run on a read-only store fails again, hiding the first error."""
    seen: list[BaseException] = []
    while err is not None and err not in seen:
        seen.append(err)
        err = err.__cause__ or err.__context__
    return seen


def _root_cause(err: BaseException) -> BaseException:
    """The store's OSError behind `err` (full, read-only), else `err`."""
    return next((e for e in _chain(err) if isinstance(e, OSError) and e.errno in _STORE_STATES), err)


def _store_hint(err: BaseException, where: str = "the MLflow store") -> str:
    cause = _root_cause(err)
    known = isinstance(cause, OSError) and cause.errno in _STORE_STATES
    if not known:
        return ""
    state = _STORE_STATES[cause.errno]
    if where != "the MLflow store":  # another tracking URI is no way out for the data folder
        state = state.split(", or point MLFLOW_TRACKING_URI")[0]
    return f": {where} cannot be written, {state}"


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200] if text else ''}"


def gate_evaluator(kind: str, prepared: PreparedSeries, params: Params) -> Evaluate:
    """Model URI -> the registered version's evaluation on `prepared`'s hold-out, in the task's gate mode."""
    from lstmops.tracking.pyfunc import load_trained

    task = get_task(kind)

    def evaluate(model_uri: str) -> Evaluation:
        return task.evaluate(load_trained(model_uri), prepared, params, gate=True)

    return evaluate


def newest_rows(outcome: ExperimentOutcome, prepared: PreparedSeries, params: Params) -> NewestRows:
    """The gate's fallback hold-out: `prepared`'s test rows after a training end, scored by the task as
    usual. Enough rows means enough paired points for the significance test (counted on the
    challenger's own evaluation units after that time, so the task's windows are accounted for)."""
    import pandas as pd

    from lstmops.data.windows import SplitIndex
    from lstmops.evaluate.significance import minimum_points
    from lstmops.registry.rule import HoldoutTooShort, Resplit

    times = prepared.features[data_kind(prepared.kind).time_column]
    test = prepared.split.test

    def after(train_end: str) -> Resplit:
        end = pd.Timestamp(train_end)
        start = max(test.start, int((times <= end).sum()))  # times are sorted
        units = outcome.evaluation.units
        points = int((pd.to_datetime(units.index) > end).sum()) if units is not None else test.stop - start
        needed = minimum_points(outcome.evaluation.horizon)
        if start >= test.stop or points < needed:
            raise HoldoutTooShort(
                f"only {points} hold-out points come after {train_end} (the gate needs {needed} to compare on)"
            )
        split = prepared.split  # the rows between the old and the new start join val, which the gate never scores
        newer = replace(prepared, split=SplitIndex(split.train, slice(split.val.start, start), slice(start, test.stop)))
        return Resplit(gate_evaluator(outcome.kind, newer, params), train_end, times.iloc[start].isoformat(), points)

    return after


def gate(outcome: ExperimentOutcome, prepared: PreparedSeries, params: Params, *, actor: str | None = None) -> Decision:
    """Register the outcome's model and let the registry gate judge it against @champion on `prepared`'s
    hold-out (or its newest rows, where a version trained on part of it)."""
    from lstmops.registry import gate
    from lstmops.tracking import store_record

    decision = gate.register_and_gate(
        outcome,
        gate_evaluator(outcome.kind, prepared, params),
        holdout=prepared.card.get("sha256"),
        holdout_start=prepared.part_times()[1].isoformat(),
        newest_rows=newest_rows(outcome, prepared, params),
        actor=actor,
        margin=params.registry.margin,
        alpha=params.registry.alpha,
    )
    # The store now holds this version: a store that later loses it is refused (preflight.check_same_store).
    store_record.remember(params.data.root, store.current_store(), decision.name, version=decision.version)
    return decision
