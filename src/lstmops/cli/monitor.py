"""`lstmops monitor`: is each @champion still better than the baselines on the data after its training?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def monitor(
    names: Annotated[
        list[str] | None, typer.Argument(metavar="[NAME ...]", help="Registered models (default: all with a @champion)")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the verdicts as JSON here")] = None,
    params_file: Annotated[Path, typer.Option("--params", help="The params file.")] = Path("params.yaml"),
) -> None:
    """Check each champion on the validated rows after its training data; record it in `lstmops-monitoring`.

    One line per model: `NAME vN: healthy | warning | decayed | insufficient_data | error | skipped — evidence`.
    A `decayed` verdict emits the Prefect event `lstmops.model.decayed` (when a Prefect API is set)."""
    from lstmops.cli.registry import _connect
    from lstmops.config import ConfigError, defaults_notice, load_params
    from lstmops.monitoring.monitor import monitor as run_monitor

    try:
        params = load_params(params_file)
    except ConfigError as err:
        typer.secho(f"ERROR: {err}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if notice := defaults_notice(params_file):
        typer.secho(notice, fg=typer.colors.YELLOW, err=True)
    _connect()
    checked = run_monitor(names or None, params)
    if not checked:
        typer.echo("No registered model has a @champion to check.")
    for item in checked:
        typer.echo(item.line())
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        report = {item.result.name: item.result.as_json() for item in checked}
        json_out.write_text(json.dumps(report, indent=2, default=str) + "\n")
