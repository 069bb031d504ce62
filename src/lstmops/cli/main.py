"""The `lstmops` command line: the params.yaml values are its defaults, options override them."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from lstmops.cli.label import label
from lstmops.cli.monitor import monitor
from lstmops.cli.registry import registry_app, score
from lstmops.common.masking import masked
from lstmops.common.user_errors import ErrorsAsMessages
from lstmops.config import ConfigError, Params, defaults_notice, load_params, parse_assignments
from lstmops.data.kinds import DATA_KINDS, DataKind, data_kind
from lstmops.tasks import task_names

app = typer.Typer(
    cls=ErrorsAsMessages,  # known errors: one red line, a traceback only with --debug
    help="MLOps for LSTM sequence models: ingest, validate, window, train, evaluate, register.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(help="Fetch data, snapshot it under data/raw/, validate it.", no_args_is_help=True)


@app.callback()
def _console(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show every log line (also: LSTMOPS_LOG_LEVEL=DEBUG)")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show the traceback of an error, not only its message (also: LSTMOPS_DEBUG=1)"),
    ] = False,
) -> None:
    """Keep library chatter (TensorFlow start-up lines, informational MLflow/GX logs) off the console."""
    from lstmops.common import console, user_errors

    user_errors.set_debug(debug)
    if verbose:
        console.set_verbose()
    console.quiet_libraries()


app.add_typer(ingest_app, name="ingest")
app.add_typer(registry_app, name="registry")
benchmark_app = typer.Typer(
    help="Benchmarks against public references (NAB/Orion, naive forecasts).", no_args_is_help=True
)
app.add_typer(benchmark_app, name="benchmark")
app.command("score")(score)
app.command("monitor")(monitor)
app.command("label")(label)

ParamsOption = Annotated[Path, typer.Option("--params", help="The params file.")]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a params.yaml value for this run: KEY=VALUE with a dotted key, VALUE read as YAML "
        "(repeatable), e.g. --set models.autoencoder.train.batch_size=16",
    ),
]


Kind = Enum("Kind", {name: name for name in DATA_KINDS}, type=str)  # the data kinds, as CLI choices


def _fail(message: str, code: int = 1) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _params(path: Path, assignments: list[str] | None = None, **overrides) -> Params:
    """params.yaml with the `--set KEY=VALUE` assignments, then the named options, applied on top.

    An invalid value is blamed on what set it: the option (`--source`, named after the key's last
    part) or the `--set KEY` assignment, and on the params file only when it came from there.
    """
    try:
        assigned = parse_assignments(assignments or [])
        options = {key: value for key, value in overrides.items() if value is not None}  # unset: no override
        origins = {key: f"--set {key}=" for key in assigned} | {key: f"--{key.rsplit('.', 1)[-1]}" for key in options}
        params = load_params(path, {**assigned, **options}, origins)
    except ConfigError as err:
        from lstmops.common.user_errors import debugging

        if debugging():
            raise
        _fail(f"ERROR: {err}", code=2)
    if notice := defaults_notice(path):  # no params.yaml here: say what the command writes where
        typer.secho(notice, fg=typer.colors.YELLOW, err=True)
    return params


def _report(results) -> None:
    for result in results:
        typer.echo(result.summary())


@ingest_app.command("prices")
def ingest_prices(
    source: Annotated[str | None, typer.Option(help="yahoo | csv | demo (default: params.yaml)")] = None,
    ticker: Annotated[list[str] | None, typer.Option(help="Ticker (repeatable); default: params.yaml")] = None,
    path: Annotated[
        list[Path] | None, typer.Option(help="Yahoo-layout CSV file (repeatable), for --source csv")
    ] = None,
    start: Annotated[str | None, typer.Option(help="First date, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="Last date, YYYY-MM-DD")] = None,
    validate: Annotated[bool, typer.Option(help="Run the validation gate after the snapshot")] = True,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """Ingest daily price bars (one snapshot per ticker or file)."""
    from lstmops.data import ingest

    params = _params(params_file, **{"prices.source": source, "prices.start": start, "prices.end": end})
    results = ingest.snapshot("prices", params, series=ticker or (), csv_paths=path or ())
    if validate:
        results = ingest.validate_all(results, params)
    _report(results)


@ingest_app.command("sensors")
def ingest_sensors(
    source: Annotated[str | None, typer.Option(help="csv | nab | demo (default: params.yaml)")] = None,
    series: Annotated[
        list[str] | None, typer.Option(help="Series (repeatable): NAB <group>/<name> or demo name")
    ] = None,
    path: Annotated[
        list[Path] | None, typer.Option(help="timestamp,value CSV file (repeatable), for --source csv")
    ] = None,
    root: Annotated[Path | None, typer.Option(help="Folder in NAB's layout, for --source nab")] = None,
    validate: Annotated[bool, typer.Option(help="Run the validation gate after the snapshot")] = True,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """Ingest sensor time series (labels carried along when the source has them)."""
    from lstmops.data import ingest

    params = _params(params_file, **{"sensors.source": source})
    results = ingest.snapshot("sensors", params, series=series or (), csv_paths=path or (), nab_root=root)
    if validate:
        results = ingest.validate_all(results, params)
    _report(results)


@app.command()
def validate(
    kind: Kind,
    source: Annotated[str | None, typer.Option(help="Which source's newest snapshots to validate")] = None,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """Validate the newest raw snapshot of every series of a source (the DVC `validate` stage)."""
    from lstmops.data import ingest

    params = _params(params_file)
    source = source or data_kind(kind.value).source(params)
    _report(ingest.validate_latest(params, kind.value, source))


@app.command()
def features(
    kind: Kind,
    source: Annotated[str | None, typer.Option(help="Which source's validated data to prepare")] = None,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """Build model features, the chronological split and train-only scalers for validated data."""
    from lstmops.data import prepare

    params = _params(params_file)
    source = source or data_kind(kind.value).source(params)
    for prepared in prepare.prepare_all(params, kind.value, source):
        typer.echo(prepared.summary())


@app.command("check-params")
def check_params(params_file: ParamsOption = Path("params.yaml")) -> None:
    """Validate the params file and stop on the first problem (the first DVC stage: a bad `dvc exp run -S`
    value, or a `-S +KEY=...` that no section has, fails here, named, before anything trains)."""
    _params(params_file)
    typer.echo(f"{params_file}: valid")


# The model tasks' names, from the task registry: a new task is a new choice here.
ModelKind = Enum("ModelKind", {name: name for name in task_names()}, type=str)


def _write_dvc_outputs(outcomes, metrics_out: Path | None, plots_dir: Path | None) -> None:
    """Metrics JSON for `dvc metrics`/`dvc exp show` (per series: the evaluation's metrics with the baselines'
    beside them, and the MLflow run's id) and the evaluation tables as `<plots_dir>/<table>/<series>.csv`:
    one folder per table, so dvc.yaml declares each kind of plot once, for whatever series were trained."""
    import json

    from lstmops.data.snapshots import series_slug

    if metrics_out:
        metrics_out.parent.mkdir(parents=True, exist_ok=True)
        metrics = {
            o.series: {**{k: round(float(v), 6) for k, v in o.evaluation.metrics.items()}, "mlflow_run_id": o.run_id}
            for o in outcomes
        }
        metrics_out.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    if plots_dir:
        for outcome in outcomes:
            for name, table in outcome.evaluation.tables.items():
                folder = plots_dir / Path(name).stem
                folder.mkdir(parents=True, exist_ok=True)
                # DVC draws each file apart under one title: the column lets a template name the series.
                named = table if "series" in table.columns else table.assign(series=outcome.series)
                named.to_csv(folder / f"{series_slug(outcome.series)}.csv", index=False)


@app.command()
def train(
    kind: ModelKind,
    series: Annotated[list[str] | None, typer.Option(help="Series to train on (repeatable); default: all")] = None,
    source: Annotated[str | None, typer.Option(help="Which source's validated data (default: params.yaml)")] = None,
    epochs: Annotated[int | None, typer.Option(help="Override train.epochs")] = None,
    metrics_out: Annotated[Path | None, typer.Option(help="Write metrics JSON here (for dvc metrics)")] = None,
    plots_dir: Annotated[
        Path | None, typer.Option(help="Write evaluation tables as CSV here, DIR/<table>/<series>.csv (for dvc plots)")
    ] = None,
    model_out: Annotated[
        Path | None, typer.Option(help="Also save each trained model in DIR/<series>/ (for a DVC output)")
    ] = None,
    register: Annotated[bool, typer.Option(help="Register the model and run the champion/challenger gate")] = True,
    assignments: SetOption = None,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """Train, evaluate (baselines beside the model), log to MLflow and gate into the registry."""
    from lstmops.data import prepare
    from lstmops.data.snapshots import series_slug
    from lstmops.experiment import runner
    from lstmops.tasks import get_task
    from lstmops.tracking import store

    params = _params(params_file, assignments, **{"train.epochs": epochs})
    trains_on = data_kind(get_task(kind.value).data_kind)
    source = source or trains_on.source(params)
    prepared_all = prepare.prepare_all(params, trains_on.name, source)
    chosen = [p for p in prepared_all if not series or p.series in series]
    if not chosen:
        _fail(
            f"ERROR: none of {series} among the validated {trains_on.name} series "
            f"{[p.series for p in prepared_all]} from source {source!r}"
        )
    typer.echo(f"tracking: {masked(store.configure_tracking())}")
    outcomes = []
    for prepared in chosen:
        save_to = model_out / series_slug(prepared.series) if model_out else None
        outcome = runner.run_experiment(kind.value, prepared, params, save_to=save_to)
        if register:  # a HoldoutOverlapError ends with NOT GATED: the run is logged, the gate compared nothing
            typer.echo(runner.gate(outcome, prepared, params).summary())
        outcomes.append(outcome)
    _write_dvc_outputs(outcomes, metrics_out, plots_dir)


@app.command()
def register(
    kind: ModelKind,
    metrics: Annotated[
        Path | None,
        typer.Option(
            help="Metrics JSON of the training to register (default: eval/<task>/metrics.json, the DVC stage's)"
        ),
    ] = None,
    series: Annotated[list[str] | None, typer.Option(help="Series to register (repeatable); default: all")] = None,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """Put the runs a `--no-register` training logged (a DVC train stage's) through the champion/challenger gate."""
    from lstmops.experiment.preflight import check_reachable
    from lstmops.experiment.register import logged_runs, register_logged_run
    from lstmops.tracking import store

    policy = _params(params_file)  # the gate's margin and alpha; the runs keep the params they trained with
    metrics = metrics or Path("eval") / kind.value / "metrics.json"
    runs = logged_runs(metrics)
    unknown = sorted(set(series or ()) - set(runs))
    if unknown:
        _fail(f"ERROR: {', '.join(unknown)} not among the series of {metrics} ({', '.join(sorted(runs))})")
    uri = store.configure_tracking()
    check_reachable(uri)
    typer.echo(f"tracking: {masked(uri)}")
    for name, run_id in runs.items():
        if not series or name in series:
            typer.echo(register_logged_run(kind.value, name, run_id, policy).summary())


@app.command("log-saved")
def log_saved(
    folder: Annotated[Path, typer.Argument(help="A model kept by a training whose logging failed (data/unlogged/...)")],
    register: Annotated[bool, typer.Option(help="Register the model and run the champion/challenger gate")] = True,
) -> None:
    """Log a model that a training kept on disk when MLflow failed, and gate it like any training."""
    from lstmops.experiment import relog
    from lstmops.tracking import store

    typer.echo(f"tracking: {masked(store.configure_tracking())}")
    _, decision = relog.log_saved(folder, register=register)
    if decision is not None:
        typer.echo(decision.summary())


NabProtocolOption = Annotated[
    str,
    typer.Option(
        "--protocol",
        help="orion: Orion 0.7.1's settings (batch 64, every window, pruning 0.13, its series list); "
        "lstmops: this benchmark's smaller training budget, as in earlier results",
    ),
]
NabDetectorOption = Annotated[
    str,
    typer.Option(
        "--detector",
        help="product: the detector `lstmops train autoencoder` trains and serves, as params.yaml configures "
        "it (no aggregation, its own threshold; --protocol is not used), with injected-anomaly F1 beside "
        "labelled F1; seasonal_ae_global: seasonal_ae, also thresholded over the whole series; seasonal_ae: the reconstruction error times the distance to the neighbouring "
        "periods where the signal has a period, Orion's sliding thresholds; lstm_ae: Orion's reconstruction "
        "error alone (with --protocol orion: Orion's LSTM-AE exactly)",
    ),
]


def _check_nab_choices(protocol: str, detector: str) -> None:
    from lstmops.benchmarks import nab

    if protocol not in nab.PROTOCOLS:
        raise ValueError(f"--protocol {protocol!r}: unknown protocol; expected one of {', '.join(nab.PROTOCOLS)}")
    if detector not in nab.DETECTORS:
        raise ValueError(f"--detector {detector!r}: unknown detector; expected one of {', '.join(nab.DETECTORS)}")


@benchmark_app.command("nab")
def benchmark_nab(
    root: Annotated[Path, typer.Option(help="Folder in NAB's layout (data/<group>/*.csv, labels/)")],
    groups: Annotated[str, typer.Option(help="Comma-separated groups, e.g. artificialWithAnomaly,realKnownCause")],
    out: Annotated[Path, typer.Option(help="Result JSON")],
    protocol: NabProtocolOption = "lstmops",
    seeds: Annotated[int, typer.Option(min=1, help="Trainings with seeds train.seed, +1, ...: mean, min, max")] = 1,
    detector: NabDetectorOption = "product",
    rules: Annotated[
        str,
        typer.Option(
            help="With --detector product: threshold rules also judged on the same trainings, e.g. "
            "mean_std:6,mean_std:8,percentile:99.9 (each never below models.autoencoder.threshold_floor)"
        ),
    ] = "",
    assignments: SetOption = None,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """The product's anomaly detector (or the LSTM-AE the way Orion benchmarks it) on NAB groups;
    overlapping-segment F1 per group beside Orion's numbers."""
    from lstmops.benchmarks import autoencoder_scores, nab

    _check_nab_choices(protocol, detector)
    params = _params(params_file, assignments)
    result = nab.benchmark_nab(
        root,
        [g for g in groups.split(",") if g],
        params,
        out,
        protocol=nab.PROTOCOLS[protocol],
        seeds=seeds,
        detector=nab.DETECTORS[detector],
        rules=autoencoder_scores.parse_rules(rules),
    )
    typer.echo(nab.format_table(result))


@benchmark_app.command("nab-speed")
def benchmark_nab_speed(
    out: Annotated[Path, typer.Option(help="Result JSON")],
    series: Annotated[
        int, typer.Option(min=1, help="Synthetic series: the demo sensor generator's, seeds 11, 12, ...")
    ] = 2,
    bins: Annotated[int, typer.Option(min=1, help="Rows per series, one per 600 s bin")] = 4000,
    protocol: NabProtocolOption = "lstmops",
    detector: NabDetectorOption = "product",
    assignments: SetOption = None,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """Seconds per series and per epoch of `lstmops benchmark nab` on synthetic series in NAB's layout (no NAB
    copy needed), one seed, in a process of its own whose first series compiles into an empty JAX cache."""
    from lstmops.benchmarks import nab_speed

    _check_nab_choices(protocol, detector)
    _params(params_file, assignments)  # a bad params file or --set fails here, in one line, before the run
    result = nab_speed.benchmark_nab_speed(
        series,
        bins,
        out,
        detector=detector,
        protocol=protocol,
        assignments=assignments or [],
        params_file=params_file,
    )
    typer.echo(nab_speed.format_line(result))
    typer.echo(f"-> {out}")


@benchmark_app.command("autoencoder-scores")
def benchmark_autoencoder_scores(
    out: Annotated[Path, typer.Option(help="Result JSON")],
    root: Annotated[Path | None, typer.Option(help="Folder in NAB's layout (data/<group>/*.csv, labels/)")] = None,
    groups: Annotated[str, typer.Option(help="Comma-separated groups of --root, e.g. artificialWithAnomaly")] = "",
    demo: Annotated[
        bool, typer.Option("--demo", help="Also the product's demo sensors (params.yaml's sensors.demo)")
    ] = False,
    seeds: Annotated[int, typer.Option(min=1, help="Trainings with seeds train.seed, +1, ...: mean, min, max")] = 1,
    rules: Annotated[
        str,
        typer.Option(
            help="Threshold rules to compare on the same trainings, e.g. mean_std:4,mean_std:6,max,percentile:99.9 "
            "(each score and the rolling z-score under each); default: params.yaml's rule"
        ),
    ] = "",
    assignments: SetOption = None,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """The product's autoencoder with each anomaly score (reconstruction, seasonal) on the same trainings,
    through the product's path, scored on the test part as the registry gate scores it; F1 per group over
    seeds beside the rolling z-score. NAB's labelled windows lie late: --set windows.split.train=0.5
    --set windows.split.test=0.35 scores them."""
    from lstmops.benchmarks import autoencoder_scores

    params = _params(params_file, assignments)
    result = autoencoder_scores.benchmark_autoencoder_scores(
        root,
        [g for g in groups.split(",") if g],
        params,
        out,
        seeds=seeds,
        rules=rules,
        demo=demo,
        progress=lambda line: typer.echo(line, err=True),
    )
    typer.echo(autoencoder_scores.format_table(result))
    typer.echo(f"-> {out}")


@benchmark_app.command("prices")
def benchmark_prices(
    csv: Annotated[list[Path], typer.Option(help="Yahoo-layout CSV (repeatable); series name = file stem")],
    out: Annotated[Path, typer.Option(help="Result JSON")],
    assignments: SetOption = None,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """Walk-forward evaluation of the forecaster against persistence on each CSV."""
    from lstmops.benchmarks import prices

    params = _params(params_file, assignments)
    result = prices.benchmark_prices(csv, params, out)
    typer.echo(
        f"{'series':20s} {'MASE':>7s} {'pooled [95% CI]':>24s} {'vs persistence':>17s} {'vs drift':>8s} "
        f"{'RMSE':>10s} {'RMSE pers.':>10s} {'dir.acc':>7s} {'cov90':>6s} {'s':>6s}"
    )
    for row in result["series"]:
        pooled = f"{row['mase_pooled']:.4f} [{row['mase_pooled_ci_low']:.3f}, {row['mase_pooled_ci_high']:.3f}]"
        typer.echo(
            f"{row['name']:20s} {row['mase']:7.4f} {pooled:>24s} {row['vs_persistence']:>17s} "
            f"{row['mae_vs_drift']:8.4f} {row['rmse']:10.4g} {row['rmse_persistence']:10.4g} "
            f"{row['directional_accuracy']:7.3f} {row['coverage_90']:6.3f} {row['seconds']:6.1f}"
        )


@benchmark_app.command("seq2seq")
def benchmark_seq2seq(
    horizon: Annotated[int, typer.Option(help="Forecast horizon in samples")],
    out: Annotated[Path, typer.Option(help="Result JSON")],
    csv: Annotated[
        list[Path] | None,
        typer.Option(help="timestamp,value CSV; repeat for several (then seasons come from --period)"),
    ] = None,
    folder: Annotated[
        list[Path] | None,
        typer.Option(help="Every *.csv in this folder, e.g. a NAB group's <root>/data/<group>; repeatable"),
    ] = None,
    season: Annotated[
        list[int] | None,
        typer.Option(
            help="One CSV: seasonal-naive period in samples; repeat for several (a day and a week). Each is a baseline"
        ),
    ] = None,
    period: Annotated[
        list[str] | None,
        typer.Option(help="Several series: seasonal period as a duration (1D, 7D), in samples per series; repeatable"),
    ] = None,
    window: Annotated[int | None, typer.Option(help="Override models.seq2seq.window (input length)")] = None,
    seeds: Annotated[int, typer.Option(min=1, help="Trainings with seeds train.seed, +1, ...: mean, min, max")] = 1,
    assignments: SetOption = None,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """Attention seq2seq against every seasonal naive, persistence and the linear baseline on the test
    part of one series, or of several (--csv repeated, --folder): then per series and pooled, with DM tests."""
    from lstmops.benchmarks import seq2seq, seq2seq_folder

    params = _params(params_file, assignments, **{"models.seq2seq.window": window})
    csvs = list(csv or [])
    if folder or len(csvs) > 1 or period:
        if not period:
            raise ValueError("--period: several series need their seasons as durations (e.g. --period 1D --period 7D)")
        csvs += seq2seq_folder.csvs_in(folder or [])
        result = seq2seq_folder.benchmark_seq2seq_series(csvs, period, horizon, params, out, seeds=seeds)
        typer.echo(seq2seq_folder.format_table(result))
        typer.echo(f"({result['seconds']:.0f} s) -> {out}")
        return
    if not csvs or not season:
        raise ValueError("--csv and --season: one series needs its file and its seasons in samples")
    result = seq2seq.benchmark_seq2seq(csvs[0], season, horizon, params, out, seeds=seeds)
    spread = result["over_seeds"]["test"]["rel_mae_best_baseline"]
    typer.echo(
        f"MAE {result['mae']:.4g}  relative to the strongest baseline ({result['best_baseline']}) "
        f"{spread['mean']:.3f} (seeds {spread['min']:.3f}..{spread['max']:.3f}), "
        f"to persistence {result['rel_mae_persistence']:.3f}  ({result['seconds']:.0f} s) -> {out}"
    )


@benchmark_app.command("monitor")
def benchmark_monitor(
    out: Annotated[Path, typer.Option(help="Result JSON")],
    models: Annotated[
        str, typer.Option(help="Comma-separated model kinds: forecaster, seq2seq, autoencoder")
    ] = "forecaster,seq2seq,autoencoder",
    replicates: Annotated[int, typer.Option(min=1, help="Replicates without a change (each: a check sequence)")] = 200,
    change_replicates: Annotated[int, typer.Option(min=1, help="Replicates per injected change")] = 100,
    checks: Annotated[int, typer.Option(min=2, help="Checks per replicate, one per check window")] = 6,
    pre_windows: Annotated[int, typer.Option(min=0, help="Check windows before an injected change")] = 1,
    epochs: Annotated[int, typer.Option(min=1, help="Epochs of each tiny champion's one training")] = 15,
    seed: Annotated[int, typer.Option(help="Seed of the simulated series")] = 0,
    assignments: SetOption = None,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """Calibration of `lstmops monitor`: false `decayed` rate without change, power and detection delay
    of injected changes, on simulated series with tiny champions trained once."""
    from lstmops.benchmarks import monitor as bench

    params_path = params_file if params_file.exists() else None
    result = bench.benchmark_monitor(
        params_path,
        parse_assignments(assignments or []),
        out,
        models=[m for m in models.split(",") if m],
        null_replicates=replicates,
        change_replicates=change_replicates,
        checks=checks,
        pre_windows=pre_windows,
        epochs=epochs,
        seed=seed,
        progress=lambda line: typer.echo(line, err=True),
    )
    typer.echo(bench.format_table(result))
    typer.echo(f"-> {out} ({result['seconds']:.0f} s)")


@app.command()
def prepare(params_file: ParamsOption = Path("params.yaml")) -> None:
    """Ingest -> validate -> features for prices and sensors; trains nothing (the main job: `make run`)."""
    params = _params(params_file)
    typer.secho(f"data root: {params.data.root.resolve()}", bold=True)
    for kind in DATA_KINDS.values():
        _run_kind(params, kind)


@app.command("run", hidden=True)
def run(params_file: ParamsOption = Path("params.yaml")) -> None:
    """`prepare`'s old name, kept for scripts: it was described as the main job but trains nothing."""
    typer.secho(
        "`lstmops run` is now `lstmops prepare` (ingest -> validate -> features; no training): "
        "the main job, training included, is `make run`",
        fg=typer.colors.YELLOW,
        err=True,
    )
    prepare(params_file)


def _run_kind(params: Params, kind: DataKind) -> None:
    from lstmops.data import ingest, prepare

    source = kind.source(params)
    typer.secho(f"\n== {kind.name}: ingest ({source}) -> validate -> features", bold=True)
    results = ingest.snapshot(kind.name, params, source=source)
    _report(ingest.validate_all(results, params))
    for prepared in prepare.prepare_all(params, kind.name, source):
        typer.echo(prepared.summary())


def main() -> None:  # pragma: no cover - console entry for `python -m lstmops.cli`
    app(sys.argv[1:])


if __name__ == "__main__":  # pragma: no cover
    main()
