"""Score a trained seq2seq on the hold-out part of a sensor series, beside seasonal naive and persistence.

Scored origins: every row t (the last observed value) whose H targets t+1..t+H all lie in the part;
its inputs may reach back before the part (that is history, known at forecast time). An origin is
also dropped when its window or its seasonal history (row t+1-season, what seasonal naive reads for
step 1) would start before the series does. That rule only bites when the part begins within one
season of the series start, and it drops the origin for the model and both baselines alike, so the
three are always scored on exactly the same points. Errors are in the value's own units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lstmops import metrics
from lstmops.config import Params
from lstmops.data.prepare import PreparedSeries
from lstmops.data.windows import sliding_windows
from lstmops.evaluate.report import Evaluation
from lstmops.models import baselines
from lstmops.tasks.seq2seq.plots import ForecastExample, attention_figure, forecast_figure, per_step_figure
from lstmops.tasks.seq2seq.train import TrainedSeq2Seq

FORECAST_EXAMPLES = 3  # origins drawn in forecast.png, evenly spread over the part


@dataclass(frozen=True)
class HoldoutForecasts:
    """Model and baseline forecasts for the scored origins of one part; (n, H) arrays row-aligned."""

    timestamps: np.ndarray  # of every row of the series
    values: np.ndarray  # every row of the series, in the value's units
    origins: np.ndarray  # (n,) row of each origin's last observed value
    actual: np.ndarray
    forecast: np.ndarray
    seasonal_naive: np.ndarray
    persistence: np.ndarray
    attention: np.ndarray  # (n, H, window)

    @property
    def steps(self) -> np.ndarray:
        return np.arange(1, self.actual.shape[1] + 1)


def scored_origins(n_rows: int, part: slice, *, window: int, horizon: int, season: int) -> np.ndarray:
    """Origin rows t with targets t+1..t+horizon in `part`, and window and season history in the series."""
    start, stop, _ = part.indices(n_rows)
    first = max(start - 1, window - 1, season - 1)
    last = stop - 1 - horizon
    if last < first:
        raise ValueError(
            f"rows {start}..{stop} hold no origin with a full window={window}, horizon={horizon} "
            f"and season={season} of history (need {first + horizon + 1 - start} rows from the part start)"
        )
    return np.arange(first, last + 1)


def holdout_forecasts(trained: TrainedSeq2Seq, features: pd.DataFrame, part: slice, season: int) -> HoldoutForecasts:
    """Forecast every scored origin of `part` (rows of `features`: timestamp, value) and its baselines."""
    values = features["value"].to_numpy(dtype="float64")
    horizon = trained.horizon
    origins = scored_origins(len(values), part, window=trained.window, horizon=horizon, season=season)
    forecast, attention = trained.forecast_with_attention(features, origins)
    # Row i of the season-long windows ends at row i + season - 1, so origin t is row t - season + 1.
    season_history = sliding_windows(values, season)[origins - season + 1]
    return HoldoutForecasts(
        timestamps=features["timestamp"].to_numpy(),
        values=values,
        origins=origins,
        actual=values[origins[:, None] + np.arange(1, horizon + 1)],
        forecast=forecast,
        seasonal_naive=baselines.seasonal_naive(season_history, season, horizon),
        persistence=baselines.persistence(values[origins], horizon),
        attention=attention,
    )


def forecast_metrics(forecasts: HoldoutForecasts, train_values: np.ndarray, season: int) -> dict[str, float]:
    """mae, rmse and mase of the model and both baselines, rel_mae_<baseline> (model mae / baseline mae),
    the model's mae per step (mae_step_<h>) and n_origins.

    mase is Hyndman's: MAE over the in-sample seasonal-naive MAE of `train_values` (the train part).
    """
    report: dict[str, float] = {"n_origins": float(len(forecasts.origins))}
    for suffix, predicted in _forecasters(forecasts).items():
        report[f"mae{suffix}"] = metrics.mae(forecasts.actual, predicted)
        report[f"rmse{suffix}"] = metrics.rmse(forecasts.actual, predicted)
        if len(train_values) > season:  # the in-sample scale needs one season of training history
            report[f"mase{suffix}"] = metrics.mase_insample(forecasts.actual, predicted, train_values, season)
    for name in ("seasonal", "persistence"):
        baseline_mae = report[f"mae_{name}"]
        report[f"rel_mae_{name}"] = report["mae"] / baseline_mae if baseline_mae > 0 else float("nan")
    per_step = metrics.per_step_mae(forecasts.actual, forecasts.forecast)
    report |= {f"mae_step_{step}": float(value) for step, value in zip(forecasts.steps, per_step)}
    return report


def per_step_table(forecasts: HoldoutForecasts) -> pd.DataFrame:
    """step, then mae and rmse of the model and of each baseline at that step."""
    table = pd.DataFrame({"step": forecasts.steps})
    for suffix, predicted in _forecasters(forecasts).items():
        table[f"mae{suffix}"] = metrics.per_step_mae(forecasts.actual, predicted)
        table[f"rmse{suffix}"] = metrics.per_step_rmse(forecasts.actual, predicted)
    return table


def predictions_table(forecasts: HoldoutForecasts) -> pd.DataFrame:
    """One row per (origin, step): origin and target timestamps, actual, model and baseline forecasts."""
    horizon = len(forecasts.steps)
    target_rows = forecasts.origins[:, None] + forecasts.steps
    return pd.DataFrame(
        {
            "origin": np.repeat(forecasts.timestamps[forecasts.origins], horizon),
            "step": np.tile(forecasts.steps, len(forecasts.origins)),
            "timestamp": forecasts.timestamps[target_rows].ravel(),
            "actual": forecasts.actual.ravel(),
            "forecast": forecasts.forecast.ravel(),
            "seasonal_naive": forecasts.seasonal_naive.ravel(),
            "persistence": forecasts.persistence.ravel(),
        }
    )


def evaluation_figures(forecasts: HoldoutForecasts, window: int) -> dict[str, Figure]:
    last = len(forecasts.origins) - 1
    examples = np.unique(np.linspace(0, last, FORECAST_EXAMPLES).round().astype(int))
    per_step = per_step_table(forecasts)
    return {
        "attention.png": attention_figure(
            forecasts.attention.mean(axis=0),
            forecasts.attention[last],
            _time_label(forecasts.timestamps[forecasts.origins[last]]),
        ),
        "forecast.png": forecast_figure([_example(forecasts, i, window) for i in examples]),
        "per_step_mae.png": per_step_figure(
            per_step["step"].to_numpy(),
            {
                "seq2seq": per_step["mae"].to_numpy(),
                "seasonal naive": per_step["mae_seasonal"].to_numpy(),
                "persistence": per_step["mae_persistence"].to_numpy(),
            },
        ),
    }


def evaluate_seq2seq(
    trained: TrainedSeq2Seq, prepared: PreparedSeries, params: Params, *, gate: bool = False
) -> Evaluation:
    """Score on the test part of `prepared` with the TRAINED model's own scaler and window.

    Works for any trained seq2seq on any prepared sensor series, so the registry can score champion
    and challenger on the same newest hold-out (`gate=True`: no figures). Gate: mae, against
    seasonal naive's mae.
    """
    season = params.models.seq2seq.season
    forecasts = holdout_forecasts(trained, prepared.features, prepared.split.test, season)
    train_values = prepared.features["value"].to_numpy(dtype="float64")[prepared.split.train]
    return Evaluation(
        metrics=forecast_metrics(forecasts, train_values, season),
        primary_metric="mae",
        baseline_metric="mae_seasonal",
        higher_is_better=False,
        figures={} if gate else evaluation_figures(forecasts, trained.window),
        tables={"per_step.csv": per_step_table(forecasts), "predictions.csv": predictions_table(forecasts)},
        units=origin_losses(forecasts),
        horizon=forecasts.actual.shape[1],
    )


def origin_losses(forecasts: HoldoutForecasts) -> pd.DataFrame:
    """Per forecast origin: the model's and seasonal naive's MAE over the horizon (their means are
    `mae` and `mae_seasonal`), indexed by the origin's timestamp."""
    return pd.DataFrame(
        {
            "loss": np.abs(forecasts.actual - forecasts.forecast).mean(axis=1),
            "loss_baseline": np.abs(forecasts.actual - forecasts.seasonal_naive).mean(axis=1),
        },
        index=pd.Index(forecasts.timestamps[forecasts.origins], name="origin"),
    )


def _forecasters(forecasts: HoldoutForecasts) -> dict[str, np.ndarray]:
    """Metric-name suffix -> (n, H) forecasts: the model has none, baselines '_<name>'."""
    return {
        "": forecasts.forecast,
        "_seasonal": forecasts.seasonal_naive,
        "_persistence": forecasts.persistence,
    }


def _example(forecasts: HoldoutForecasts, index: int, window: int) -> ForecastExample:
    origin = forecasts.origins[index]
    history_rows = slice(origin - window + 1, origin + 1)
    future_rows = origin + forecasts.steps
    return ForecastExample(
        label=_time_label(forecasts.timestamps[origin]),
        history_time=forecasts.timestamps[history_rows],
        history=forecasts.values[history_rows],
        future_time=forecasts.timestamps[future_rows],
        actual=forecasts.actual[index],
        forecast=forecasts.forecast[index],
        seasonal_naive=forecasts.seasonal_naive[index],
    )


def _time_label(timestamp: np.datetime64) -> str:
    return pd.Timestamp(timestamp).strftime("%Y-%m-%d %H:%M")
