"""`lstmops label NAME --start ... --end ... [--not-anomaly]`: add one reviewed window to a sensor
series' labels file (`data.labels`), checked against the series' time range and its other labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def label(
    name: Annotated[
        str, typer.Argument(help="The sensor series as ingested: demo/machine_a, a CSV's stem, group/name")
    ],
    start: Annotated[str, typer.Option(help="First timestamp of the window (ISO)")],
    end: Annotated[str, typer.Option(help="Last timestamp of the window, inclusive (ISO)")],
    not_anomaly: Annotated[
        bool, typer.Option("--not-anomaly", help="The window was reviewed and is normal (a rejected detection)")
    ] = False,
    source: Annotated[str | None, typer.Option(help="Which source's series (default: params.yaml)")] = None,
    params_file: Annotated[Path, typer.Option("--params", help="The params file.")] = Path("params.yaml"),
) -> None:
    """Label a window of a sensor series as an anomaly (or, with --not-anomaly, as normal)."""
    from lstmops.config import load_params
    from lstmops.data.ingest import load_validated, validated_dir
    from lstmops.data.labels import Label, LabelsError, add_label, labels_path, timestamp
    from lstmops.data.snapshots import series_slug

    params = load_params(params_file, {"sensors.source": source})
    source = params.sensors.source
    folder = validated_dir(params.data.root, "sensors", source)
    validated = folder / f"{series_slug(name)}.parquet"
    if not validated.exists():
        known = sorted(path.stem for path in folder.glob("*.parquet")) if folder.is_dir() else []
        raise LabelsError(
            f"unknown series {name!r}: no validated sensors data from source {source!r} "
            f"(validated: {', '.join(known) or 'none'}); ingest it first"
        )
    frame, _ = load_validated(validated)
    times = frame["timestamp"]
    path = labels_path(params.data.root, "sensors", source, name)
    new = Label(timestamp(start, "--start"), timestamp(end, "--end"), not not_anomaly, 0)
    labels = add_label(path, new, times.min(), times.max())
    kind = "normal (not an anomaly)" if not_anomaly else "an anomaly"
    typer.echo(
        f"{path}: {new.start} .. {new.end} labelled {kind}; {len(labels)} label(s). "
        "The next preparation (lstmops features sensors, a training, the retrain flow) uses them"
    )
