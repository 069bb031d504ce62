"""Autoencoder figure: the signal with true and detected anomalies, and the score against its threshold."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from matplotlib.figure import Figure


def reconstruction_error_figure(
    timestamps: pd.Series,
    values: pd.Series,
    scores: pd.Series,
    threshold: float,
    *,
    true_windows: Iterable[tuple[pd.Timestamp, pd.Timestamp]],
    detections: pd.DataFrame,
    holdout_start: pd.Timestamp,
    title: str,
    score_name: str = "reconstruction error",
) -> Figure:
    """Signal (top) and the anomaly score, named `score_name` (bottom), sharing the time axis.

    True anomaly windows are shaded on both panels, detected segments (`detections`: start, end)
    drawn as red bars on the signal, the threshold as a dashed line and the start of the scored
    hold-out part as a vertical line.
    """
    figure = Figure(figsize=(12, 6), layout="constrained")
    signal_axes, score_axes = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    signal_axes.plot(timestamps, values, color="black", linewidth=0.7, label="signal")
    score_axes.plot(timestamps, scores, color="tab:blue", linewidth=0.8, label=score_name)
    score_axes.axhline(threshold, color="tab:red", linestyle="--", linewidth=1.0, label="threshold (train)")

    for index, (start, end) in enumerate(true_windows):
        for axes in (signal_axes, score_axes):
            axes.axvspan(start, end, color="tab:green", alpha=0.2, label="true window" if index == 0 else None)
    bottom = values.min()
    for index, row in enumerate(detections.itertuples()):
        signal_axes.plot(
            [row.start, row.end],
            [bottom, bottom],
            color="tab:red",
            linewidth=5,
            solid_capstyle="butt",
            label="detected" if index == 0 else None,
        )
    for axes in (signal_axes, score_axes):
        axes.axvline(holdout_start, color="grey", linestyle=":", linewidth=1.0)
    # At the top of the panel (axes coordinates in y), clear of the threshold line and the error curve.
    score_axes.annotate(
        "hold-out →",
        (holdout_start, 1.0),
        xycoords=("data", "axes fraction"),
        textcoords="offset points",
        xytext=(4, -12),
        fontsize="small",
        color="grey",
    )

    signal_axes.set(title=title, ylabel="value")
    score_axes.set(xlabel="time", ylabel="score")
    signal_axes.legend(loc="upper left", fontsize="small")
    score_axes.legend(loc="upper left", fontsize="small")
    return figure
