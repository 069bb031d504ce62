"""The retrain flow: ingest -> validate -> features -> train the models -> report -> registry gate.

    python flows/retrain.py [PARAMS_FILE] [--verbose]   # default: params.yaml in the working directory

The console shows one progress line per training, then the summary table and what to open next;
`--verbose` (or LSTMOPS_LOG_LEVEL=DEBUG) adds every flow/task log line and Keras' epoch lines, which
the Prefect run logs keep either way.

Prices train a forecaster per ticker; sensors an autoencoder and a seq2seq per series. The trainings
are submitted to the task runner `orchestration` in params.yaml names (flows/runners.py): a thread
pool in this process by default (on a CPU host TensorFlow's own threads share the cores), or a Dask
cluster whose workers each hold one GPU per training. On a GPU deployment without Dask,
`training_limit` names a task concurrency limit that lets one training per GPU run at a time. Reports
and registry gates run here, in the flow's process, one model at a time. A model whose training
fails is reported and the flow fails after the others have been gated.
"""

from __future__ import annotations

import sys
from typing import Any

from prefect import flow, runtime

import interrupts
from ingest import ingest
from lstmops.common.masking import masked
from lstmops.config import load_params
from lstmops.data.kinds import DATA_KINDS, DataKindName
from lstmops.tasks import tasks_for
from lstmops.tracking import store
from runners import training_resources, training_runner
from shell import run_from_a_shell
from tasks import (
    DEFAULT_TRAINING_TIMEOUT_S,
    actor,
    promote,
    report_evaluation,
    training_task,
)


def _run_name() -> str:
    kinds = runtime.flow_run.parameters.get("data_kinds") or list(DATA_KINDS)
    return "retrain-" + "+".join(kinds)


@flow(name="retrain", flow_run_name=_run_name, log_prints=True)
def retrain(
    params_file: str = "params.yaml",
    overrides: dict[str, Any] | None = None,
    data_kinds: list[DataKindName] | None = None,
    price_csv_paths: list[str] | None = None,
    sensor_csv_paths: list[str] | None = None,
    nab_root: str | None = None,
    training_limit: str | None = None,
    training_timeout_s: float = DEFAULT_TRAINING_TIMEOUT_S,
    parallel_training: bool = True,
    series: list[str] | None = None,
    model_kinds: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Retrain every configured model on the newest validated data and hand each to the registry gate.

    `data_kinds`: prices, sensors or both (the default).
    `overrides`: dotted params keys applied over `params_file`. `training_limit`: the tag of a task
    concurrency limit each training holds one slot of (the GPU deployments set "gpu-training").
    `parallel_training=False` trains one model at a time: parallel trainings share Python's global
    random state, so only sequential runs reproduce a model bit for bit. `series` and `model_kinds`
    narrow the retrain to those series and model tasks (a monitoring trigger retrains one decayed model).
    """
    params = load_params(params_file, overrides)
    tracking_uri = store.configure_tracking()
    runner = training_runner(params, tracking_uri)  # refuses a runner the store cannot serve, before any work
    data_kinds = data_kinds or list(DATA_KINDS)
    csv_paths = {"prices": price_csv_paths, "sensors": sensor_csv_paths}
    prepared = [
        one
        for kind in data_kinds
        for one in ingest(kind, params_file, overrides, csv_paths=csv_paths[kind], nab_root=nab_root)
        if not series or one.series in series
    ]
    if series and not prepared:
        raise ValueError(f"none of the series {series} is among the ingested {', '.join(data_kinds)} series")

    train = training_task(training_limit)
    trainings = []
    with runner, interrupts.trainings_stopped():
        for chosen in prepared:
            for model_kind in [
                task.name for task in tasks_for(chosen.kind) if not model_kinds or task.name in model_kinds
            ]:
                arguments = {
                    "model_kind": model_kind,
                    "prepared": chosen,
                    "params": params,
                    "tracking_uri": tracking_uri,
                    "timeout_s": training_timeout_s,
                }
                with training_resources(params):
                    training = runner.submit(train, arguments)
                if not parallel_training:
                    training.wait()
                trainings.append((model_kind, chosen, training))
        for _, _, training in trainings:
            training.wait()  # before the runner shuts down (a temporary Dask cluster goes with it)

    summary, failures = [], []
    for model_kind, chosen, training in trainings:
        outcome = training.result(raise_on_failure=False)
        if not training.state.is_completed():
            failures.append(f"{model_kind} {chosen.series}: {masked(str(outcome))}")
            continue
        report_evaluation(outcome)
        with interrupts.finished_first(f"the registry gate of {model_kind} {chosen.series}"):
            decision = promote(outcome, chosen, params, actor=actor())
        interrupts.registered(f"{decision.name} v{decision.version}")
        summary.append(
            {
                "kind": outcome.kind,
                "series": outcome.series,
                "run_id": outcome.run_id,
                "metric": outcome.evaluation.primary_metric,
                "model": outcome.evaluation.score,
                "baseline": outcome.evaluation.baseline_score,
                "beats_baseline": outcome.beats_baseline,
                "decision": decision.summary(),
            }
        )

    print(_summary_table(summary))
    if failures:
        raise RuntimeError(f"{len(failures)} training(s) failed:\n" + "\n".join(failures))
    return summary


def _summary_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'task':12s} {'series':16s} {'metric':8s} {'model':>9s} {'baseline':>9s}  {'MLflow run':32s}  registry"]
    for row in rows:
        lines.append(
            f"{row['kind']:12s} {row['series']:16s} {row['metric']:8s} {row['model']:9.4g} "
            f"{row['baseline']:9.4g}  {row['run_id']:32s}  {row['decision']}"
        )
    return "\n".join(lines)


def what_to_open_next(tracking_uri: str) -> str:
    """The commands that show what the run left behind (printed after the summary table), credentials
    masked, written to work in a plain shell from the project folder (no activated venv)."""
    shown = masked(tracking_uri)
    if store.sqlite_file(tracking_uri) == store.sqlite_file(store.DEFAULT_TRACKING_URI).resolve():
        mlflow_ui = "make ui   -> http://127.0.0.1:5000"
    elif tracking_uri.startswith(("http://", "https://")):
        mlflow_ui = f"open {shown}"
    else:
        mlflow_ui = f".venv/bin/mlflow ui --backend-store-uri {shown}   -> http://127.0.0.1:5000"
    return "\n".join(
        [
            "What to open next:",
            f"  MLflow runs, plots, models:  {mlflow_ui}",
            "  this flow run in Prefect:    make prefect-ui   -> http://127.0.0.1:4200  "
            "(the run is in the local Prefect database; no profile change needed)",
            "  champions and versions:      .venv/bin/lstmops registry list   "
            "(then: .venv/bin/lstmops registry review MODEL)",
        ]
    )


def main(argv: list[str]) -> None:
    from lstmops.common.console import set_verbose
    from lstmops.tracking.store import configure_tracking

    if "--verbose" in argv:
        set_verbose()
    arguments = [arg for arg in argv if arg != "--verbose"]
    params_file = arguments[0] if arguments else "params.yaml"
    # Piped to a file, stdout is block-buffered: say at once that the job started, and keep lines whole.
    sys.stdout.reconfigure(line_buffering=True)
    with run_from_a_shell(params_file):  # Ctrl-C / SIGTERM: trainings stopped, one closing line, exit 130 / 143
        print(f"retrain ({params_file}): starting Prefect, then ingest, validation, features and the trainings")
        summary = interrupts.stoppable(lambda: retrain(params_file=params_file))
    print(f"\n{_summary_table(summary)}\n\n{what_to_open_next(configure_tracking())}")


if __name__ == "__main__":
    main(sys.argv[1:])
