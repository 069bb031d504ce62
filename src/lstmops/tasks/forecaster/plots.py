"""Forecaster figures: hold-out forecast with its conformal band, and the walk-forward backtest."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure

ERROR_WINDOW = 10  # bars averaged in the error panel: single-bar errors of both forecasts overlap
ZOOM_BARS = 40  # the top panel's last bars: at full length one-step forecasts sit on the actual line


def forecast_figure(points: pd.DataFrame, *, title: str, coverage_label: str) -> Figure:
    """Top: the last `ZOOM_BARS` bars, actual vs LSTM vs persistence (markers) in the interval band.
    Bottom: the absolute errors over the whole hold-out (rolling mean), LSTM vs persistence, with each MAE.

    One-step forecasts of a price lie within a percent of it, so on the full hold-out the three lines
    cannot be told apart; the zoom and the errors show where the model and persistence differ.
    `points`: date, actual, predicted, lower, upper, persistence (as evaluate_forecaster's table).
    """
    figure = Figure(figsize=(11, 7), layout="constrained")
    zoom_axes, error_axes = figure.subplots(2, 1, height_ratios=[3, 2])
    recent = points.tail(ZOOM_BARS)
    zoom_axes.fill_between(
        recent["date"],
        recent["lower"],
        recent["upper"],
        color="tab:blue",
        alpha=0.15,
        label=f"{coverage_label} conformal interval",
    )
    zoom_axes.plot(recent["date"], recent["actual"], "o-", color="black", linewidth=1.4, markersize=3, label="actual")
    zoom_axes.plot(
        recent["date"], recent["predicted"], "s-", color="tab:blue", linewidth=1.0, markersize=3, label="LSTM forecast"
    )
    zoom_axes.plot(
        recent["date"],
        recent["persistence"],
        "^--",
        color="tab:orange",
        linewidth=0.9,
        markersize=3,
        label="persistence (previous close)",
    )
    zoom_axes.set(title=f"{title} — last {len(recent)} bars of the hold-out", ylabel="close")
    zoom_axes.legend(loc="upper left", fontsize="small", ncols=2)

    model_error = (points["predicted"] - points["actual"]).abs()
    naive_error = (points["persistence"] - points["actual"]).abs()
    error_axes.plot(
        points["date"],
        naive_error.rolling(ERROR_WINDOW, min_periods=1).mean(),
        color="tab:orange",
        linewidth=0.8,
        alpha=0.8,
        label=f"persistence error (MAE {naive_error.abs().mean():.4g})",
    )
    error_axes.plot(
        points["date"],
        model_error.rolling(ERROR_WINDOW, min_periods=1).mean(),
        color="tab:blue",
        linewidth=1.0,
        label=f"LSTM error (MAE {model_error.abs().mean():.4g})",
    )
    error_axes.set(
        title=f"absolute error over the whole hold-out ({ERROR_WINDOW}-bar rolling mean)",
        xlabel="date",
        ylabel="|forecast − actual|",
    )
    error_axes.legend(loc="upper left", fontsize="small", ncols=2)
    return figure


def backtest_figure(points: pd.DataFrame, fold_mase: Sequence[float], *, title: str) -> Figure:
    """Walk-forward folds: forecasts over each fold (top) and each fold's MASE vs persistence (bottom).

    `points`: date, actual, predicted, fold (1-based) for every fold's test rows.
    """
    figure = Figure(figsize=(11, 6), layout="constrained")
    series_axes, mase_axes = figure.subplots(2, 1, height_ratios=[2, 1])
    series_axes.plot(points["date"], points["actual"], color="black", linewidth=1.2, label="actual close")
    for fold, rows in points.groupby("fold"):
        series_axes.plot(rows["date"], rows["predicted"], linewidth=1.0, label=f"fold {fold} forecast")
        series_axes.axvline(rows["date"].iloc[0], color="grey", linewidth=0.6, linestyle=":")
    series_axes.set(title=title, ylabel="close")
    series_axes.legend(loc="best", fontsize="small")

    folds = list(range(1, len(fold_mase) + 1))
    # Markers, not bars from 0: what matters is the distance from 1, often a few percent.
    mase_axes.plot(folds, fold_mase, "o", color="tab:blue", label="LSTM")
    for fold, value in zip(folds, fold_mase):  # above each marker: the last one is never cut at the right edge
        mase_axes.annotate(f"{value:.3f}", (fold, value), textcoords="offset points", xytext=(0, 6), ha="center")
    mase_axes.axhline(1.0, color="tab:orange", linestyle="--", label="persistence (MASE = 1)")
    mase_axes.set(xlabel="fold (each retrained on all bars before it)", ylabel="MASE", xticks=folds)
    mase_axes.set_xlim(0.5, len(folds) + 0.5)
    mase_axes.margins(y=0.3)
    mase_axes.legend(loc="best", fontsize="small")
    return figure
