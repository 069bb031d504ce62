"""Figures of a seq2seq evaluation: attention map, forecasts at a few origins, error per horizon step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure


@dataclass(frozen=True)
class ForecastExample:
    """One origin: the observed window, then the H actual values, the model's and the baseline's forecasts."""

    label: str
    history_time: np.ndarray
    history: np.ndarray
    future_time: np.ndarray
    actual: np.ndarray
    forecast: np.ndarray
    baseline: np.ndarray  # the strongest baseline's forecast
    baseline_label: str


def attention_figure(
    mean_weights: np.ndarray, example_weights: np.ndarray, example_label: str, seasons: Sequence[int] = ()
) -> Figure:
    """Two heatmaps of (horizon step x window position) attention: mean over origins, and one origin.

    For each season that reaches into the window, a dashed guide marks the position one season before
    each step's target (step h: position h - season), where a seasonal pattern draws the eye."""
    figure = Figure(figsize=(12, 4.5), layout="constrained")
    axes = figure.subplots(1, 2)
    for ax, weights, title in (
        (axes[0], mean_weights, "mean attention over the evaluated origins"),
        (axes[1], example_weights, f"attention at origin {example_label}"),
    ):
        horizon, window = weights.shape
        image = ax.imshow(
            weights,
            aspect="auto",
            origin="lower",
            cmap="viridis",
            extent=(-window + 0.5, 0.5, 0.5, horizon + 0.5),  # x: 0 is the last observed row
        )
        ax.set(title=title, xlabel="window position (0 = last observed row)", ylabel="forecast step")
        figure.colorbar(image, ax=ax, label="weight")
        steps = np.arange(1, horizon + 1)
        for season in seasons:
            inside = (steps - season > -window) & (steps - season <= 0)
            if inside.any():
                ax.plot(steps[inside] - season, steps[inside], color="white", linestyle="--", linewidth=0.8)
                ax.annotate(
                    f"{season} earlier", (steps[inside][0] - season, steps[inside][0]), color="white", fontsize="small"
                )
    return figure


def forecast_figure(examples: Sequence[ForecastExample], unit: str = "value") -> Figure:
    """One panel per origin: history, actual continuation, model forecast and the strongest baseline."""
    figure = Figure(figsize=(12, 3 * len(examples)), layout="constrained")
    axes = figure.subplots(len(examples), 1, squeeze=False)[:, 0]
    for ax, example in zip(axes, examples):
        ax.plot(example.history_time, example.history, color="0.4", label="history")
        ax.plot(example.future_time, example.actual, color="black", label="actual")
        ax.plot(example.future_time, example.forecast, color="tab:blue", marker=".", label="seq2seq")
        ax.plot(example.future_time, example.baseline, color="tab:orange", linestyle="--", label=example.baseline_label)
        ax.axvline(example.history_time[-1], color="0.7", linewidth=0.8)
        ax.set(title=f"origin {example.label}", ylabel=unit)
        ax.legend(loc="upper left", fontsize="small")
    return figure


def per_step_figure(steps: np.ndarray, mae_by_forecaster: Mapping[str, np.ndarray]) -> Figure:
    """MAE of each horizon step, one line per forecaster (model and baselines on the same points)."""
    figure = Figure(figsize=(8, 4), layout="constrained")
    ax = figure.subplots()
    for name, values in mae_by_forecaster.items():
        ax.plot(steps, values, marker=".", label=name)
    ax.set(title="MAE per forecast step", xlabel="forecast step", ylabel="MAE", ylim=(0, None))
    ax.legend()
    return figure
