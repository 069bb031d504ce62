"""One experiment = train -> evaluate on the hold-out -> log to MLflow, for any model kind.

Each phase is timed and the seconds are logged with the run (`seconds/train`, `seconds/evaluate`,
`seconds/log`), so MLflow shows where a run's time went and benchmarks can read it back.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lstmops.config import Params
from lstmops.data.prepare import PreparedSeries
from lstmops.evaluate.report import Evaluation
from lstmops.tracking import log_phase_seconds, log_training_run

# kind -> (data kind it trains on, "module:train function", "module:evaluate function").
# Imported on use: a run of one kind should not pay for building the others.
PIPELINES: dict[str, tuple[str, str, str]] = {
    "forecaster": (
        "prices",
        "lstmops.train.forecaster:train_forecaster",
        "lstmops.evaluate.forecaster:evaluate_forecaster",
    ),
    "autoencoder": (
        "sensors",
        "lstmops.train.autoencoder:train_autoencoder",
        "lstmops.evaluate.autoencoder:evaluate_autoencoder",
    ),
    "seq2seq": ("sensors", "lstmops.train.seq2seq:train_seq2seq", "lstmops.evaluate.seq2seq:evaluate_seq2seq"),
}
KINDS = tuple(PIPELINES)


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
            f"{self.kind} {self.series}: {e.primary_metric} {e.score:.4g} vs {e.baseline_metric} "
            f"{e.baseline_score:.4g} -> {verdict} the baseline  (run {self.run_id}, {self.seconds:.1f} s)"
        )


def _function(path: str) -> Callable:
    module_name, _, name = path.partition(":")
    return getattr(importlib.import_module(module_name), name)


def pipeline(kind: str, data_kind: str) -> tuple[Callable, Callable]:
    """The (train, evaluate) functions of `kind`, checked against the data it is given."""
    if kind not in PIPELINES:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}")
    expected_data, train_path, evaluate_path = PIPELINES[kind]
    if data_kind != expected_data:
        raise ValueError(f"model kind {kind!r} trains on {expected_data} data, got a prepared {data_kind} series")
    return _function(train_path), _function(evaluate_path)


def run_experiment(
    kind: str,
    prepared: PreparedSeries,
    params: Params,
    *,
    run_name: str | None = None,
    tags: dict[str, str] | None = None,
) -> ExperimentOutcome:
    """Train `kind` on `prepared` (seeded by the trainer), evaluate it, log the run; print one summary line."""
    started = time.perf_counter()
    train, evaluate = pipeline(kind, prepared.kind)
    trained = train(prepared, params)
    trained_at = time.perf_counter()
    evaluation = evaluate(trained, prepared, params)
    evaluated_at = time.perf_counter()
    logged = log_training_run(
        trained, evaluation, prepared, params, run_name=run_name or f"{kind}-{prepared.series}", tags=tags
    )
    finished = time.perf_counter()
    phases = {"train": trained_at - started, "evaluate": evaluated_at - trained_at, "log": finished - evaluated_at}
    log_phase_seconds(logged.run_id, phases)
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
