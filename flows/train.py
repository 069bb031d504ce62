"""Train flow: one model kind on one series, as a team member's experiment.

    python flows/train.py forecaster DEMOA        # or: autoencoder demo/machine_a, seq2seq ...

Ingests the series (cached when unchanged), trains, evaluates and logs the run to MLflow, and
publishes the metrics with their baselines as a Prefect artifact. The registry gate runs only when
asked (`promote_model=True`): an experiment is not a release.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from prefect import flow, runtime

from ingest import params_and_series
from shell import run_from_a_shell
from tasks import (
    DEFAULT_TRAINING_TIMEOUT_S,
    actor,
    promote,
    report_evaluation,
    training_task,
)

if TYPE_CHECKING:
    from lstmops.experiment.runner import ExperimentOutcome


def _run_name() -> str:
    parameters = runtime.flow_run.parameters
    return f"train-{parameters.get('model_kind', '?')}-{parameters.get('series', '?')}"


@flow(name="train", flow_run_name=_run_name, log_prints=True)
def train(
    model_kind: str,
    series: str,
    params_file: str = "params.yaml",
    overrides: dict[str, Any] | None = None,
    training_limit: str | None = None,
    training_timeout_s: float = DEFAULT_TRAINING_TIMEOUT_S,
    promote_model: bool = False,
) -> ExperimentOutcome:
    """Train `model_kind` on `series` (a ticker, or a sensor series of the configured source)."""
    params, prepared = params_and_series(model_kind, series, params_file, overrides)
    outcome = training_task(training_limit)(model_kind, prepared, params, timeout_s=training_timeout_s)
    report_evaluation(outcome)
    if promote_model:
        promote(outcome, prepared, params, actor=actor())
    return outcome


if __name__ == "__main__":
    with run_from_a_shell():
        train(model_kind=sys.argv[1], series=sys.argv[2])
