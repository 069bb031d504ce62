"""Forecaster figures: hold-out forecast with its conformal band, and the walk-forward backtest."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure


def forecast_figure(points: pd.DataFrame, *, title: str, coverage_label: str) -> Figure:
    """Actual vs predicted close with the interval band and persistence.

    `points`: date, actual, predicted, lower, upper, persistence (as evaluate_forecaster's table).
    """
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    axes = figure.subplots()
    axes.fill_between(
        points["date"],
        points["lower"],
        points["upper"],
        color="tab:blue",
        alpha=0.2,
        label=f"{coverage_label} conformal interval",
    )
    axes.plot(points["date"], points["actual"], color="black", linewidth=1.2, label="actual close")
    axes.plot(points["date"], points["predicted"], color="tab:blue", linewidth=1.0, label="LSTM forecast")
    axes.plot(
        points["date"],
        points["persistence"],
        color="tab:orange",
        linewidth=0.8,
        linestyle="--",
        label="persistence (previous close)",
    )
    axes.set(title=title, xlabel="date", ylabel="close")
    axes.legend(loc="best", fontsize="small")
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
    for fold, value in zip(folds, fold_mase):
        mase_axes.annotate(f"{value:.3f}", (fold, value), textcoords="offset points", xytext=(8, 0), va="center")
    mase_axes.axhline(1.0, color="tab:orange", linestyle="--", label="persistence (MASE = 1)")
    mase_axes.set(xlabel="fold (each retrained on all bars before it)", ylabel="MASE", xticks=folds)
    mase_axes.legend(loc="best", fontsize="small")
    return figure
