"""`lstmops registry ...` and `lstmops score`: the registry's commands (mounted by lstmops.cli).

Each command points MLflow at MLFLOW_TRACKING_URI or the embedded store (tracking.configure_tracking).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

registry_app = typer.Typer(
    help="Model registry: list models, review versions, read the audit trail, roll back.", no_args_is_help=True
)

ModelArgument = Annotated[str, typer.Argument(help="Registered model name, e.g. forecaster-DEMOA")]


def _connect() -> None:
    """Point MLflow at the store and check that it answers: an unreachable server fails in seconds, not after retries."""
    from lstmops.experiment.preflight import check_reachable
    from lstmops.tracking.store import configure_tracking

    check_reachable(configure_tracking())


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _guarded(action, model: str | None = None):
    """Run a registry action; known errors become one red line. A missing `model` is worded as everywhere
    else (`reports.no_such_model`), not as MLflow's `Registered Model with name=... not found`."""
    from mlflow.exceptions import MlflowException

    from lstmops.common.user_errors import debugging
    from lstmops.registry.report import no_such_model
    from lstmops.registry.rule import RegistryError
    from lstmops.tracking.pyfunc import CorruptModelError

    try:
        return action()
    except CorruptModelError as err:
        if debugging():
            raise
        _fail(f"ERROR: {err}; roll back (`lstmops registry rollback {model}`) or retrain")
    except (RegistryError, FileNotFoundError) as err:
        if debugging():
            raise
        _fail(f"ERROR: {err}")
    except MlflowException as err:
        if debugging():
            raise
        if model is not None and err.error_code == "RESOURCE_DOES_NOT_EXIST" and model in err.message:
            _fail(f"ERROR: {no_such_model(model)}")
        _fail(f"ERROR: {err.message}")


@registry_app.command("list")
def list_models() -> None:
    """Every registered model with the versions its aliases point at."""
    from mlflow import MlflowClient

    from lstmops.registry.audit import aliases_of
    from lstmops.registry.rule import CHALLENGER, CHAMPION, PREVIOUS
    from lstmops.tracking.store import filter_literal

    _connect()
    client = MlflowClient()
    models = sorted(model.name for model in client.search_registered_models(max_results=1000))
    if not models:
        typer.echo("No registered models.")
        return
    typer.echo(
        f"{'model':45s} {'@champion':>10s} {'@previous':>10s} {'@challenger':>12s} {'versions':>9s}  "
        "monitor (champion's last check)"
    )
    for name in models:
        aliases = aliases_of(name)
        versions = len(client.search_model_versions(f"name = {filter_literal(name)}"))
        typer.echo(
            f"{name:45s} {aliases.get(CHAMPION, '-'):>10s} {aliases.get(PREVIOUS, '-'):>10s} "
            f"{aliases.get(CHALLENGER, '-'):>12s} {versions:>9d}  {_last_check(client, name, aliases.get(CHAMPION))}"
        )


def _last_check(client, name: str, champion: str | None) -> str:
    """`decayed 2026-12-04T16:00:00+00:00` from the champion's `monitor.*` tags; `-` before any check."""
    from lstmops.monitoring import CHECKED_AT_TAG, STATUS_TAG

    if champion is None:
        return "-"
    tags = client.get_model_version(name, champion).tags
    return f"{tags[STATUS_TAG]} {tags.get(CHECKED_AT_TAG, '')}".strip() if STATUS_TAG in tags else "-"


@registry_app.command()
def history(model: ModelArgument) -> None:
    """The audit trail: every promotion, rejection and rollback, oldest first."""
    from lstmops.registry.audit import history as read_history
    from lstmops.registry.report import format_history

    _connect()
    entries = _guarded(lambda: read_history(model), model)
    typer.echo(format_history(entries) if entries else f"{model}: no alias moves recorded yet.")


@registry_app.command()
def rollback(
    model: ModelArgument,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail)")] = "manual rollback",
    actor: Annotated[str | None, typer.Option(help="Who (default: the login name)")] = None,
) -> None:
    """Make @previous the champion again (the demoted champion becomes @previous)."""
    from lstmops.registry.aliases import rollback as roll_back

    _connect()
    entry = _guarded(lambda: roll_back(model, actor=actor, reason=reason), model)
    typer.echo(
        f"{model}: @champion -> v{entry['aliases_after']['champion']}, "
        f"@previous -> v{entry['aliases_after'].get('previous', '-')} ({entry['reason']}, by {entry['actor']})"
    )


@registry_app.command()
def review(
    model: ModelArgument,
    version: Annotated[int | None, typer.Option(help="Version (default: @champion, else the newest)")] = None,
) -> None:
    """Write a version's HTML review report and log it on its run."""
    from lstmops.review.version_report import review as write_review

    _connect()
    path = _guarded(lambda: write_review(model, version), model)
    typer.echo(f"review report: {path}")


def score(
    model: ModelArgument,
    input_path: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="Raw frame (Parquet, or CSV in the canonical layout); "
            "default: the newest validated data of the model's series",
        ),
    ] = None,
    out_dir: Annotated[Path | None, typer.Option(help="Output folder (default: <data root>/predictions)")] = None,
    params_file: Annotated[Path, typer.Option("--params", help="The params file.")] = Path("params.yaml"),
) -> None:
    """Score data with models:/MODEL@champion; write Parquet predictions and log a scoring run."""
    from lstmops.config import ConfigError, defaults_notice, load_params
    from lstmops.serving.scoring import score as score_frame

    try:
        params = load_params(params_file)
    except ConfigError as err:
        _fail(str(err))
    notice = defaults_notice(params_file)
    if notice and not (input_path and out_dir):  # the params give score its data root only
        typer.secho(notice, fg=typer.colors.YELLOW, err=True)
    _connect()
    path = input_path or _guarded(lambda: newest_validated(model, params.data.root), model)
    result = _guarded(
        lambda: score_frame(model, read_frame(path), out_dir or params.data.root / "predictions", source=str(path)),
        model,
    )
    typer.echo(result.summary())


def newest_validated(model: str, data_root: Path) -> Path:
    """The validated Parquet of the model's series (ingest overwrites it with each newer batch)."""
    from mlflow import MlflowClient

    from lstmops.data.ingest import validated_dir
    from lstmops.data.snapshots import series_slug
    from lstmops.registry.rule import RegistryError

    tags = MlflowClient().get_registered_model(model).tags
    missing = [key for key in ("data.kind", "data.source", "series") if key not in tags]
    if missing:
        raise RegistryError(f"{model} lacks tag(s) {missing} naming its data; pass --input")
    path = validated_dir(data_root, tags["data.kind"], tags["data.source"]) / f"{series_slug(tags['series'])}.parquet"
    if not path.exists():
        raise RegistryError(
            f"{path}: no validated data for {model}; run `lstmops ingest {tags['data.kind']}` or pass --input"
        )
    return path


def read_frame(path: Path):
    """A raw frame from Parquet, or from CSV with its date/timestamp column parsed. A validated file (its
    card beside it) is checked against the sha256 its card recorded (`ingest.load_validated`)."""
    import pandas as pd

    from lstmops.data.ingest import load_validated

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such input file")
    if path.suffix == ".parquet" and path.with_suffix(".json").exists():
        return load_validated(path)[0]
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    frame = pd.read_csv(path)
    for column in ("date", "timestamp"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column])
    return frame
