"""Score a trained seq2seq on the hold-out part of a sensor series, beside every seasonal naive and persistence.

Scored origins: every row t (the last observed value) whose H targets t+1..t+H all lie in the part;
its inputs may reach back before the part (that is history, known at forecast time). An origin is
also dropped when the history the model or the longest season's naive reads would start before the
series does. That rule only bites when the part begins within one window or season of the series
start, and it drops the origin for the model and every baseline alike, so all are always scored on
exactly the same points. Errors are in the value's own units.

Baselines: `seasonal_<season>` for each of params.models.seq2seq.seasons, `persistence`, and `linear`
(models.linear: a ridge on the model's window of past values and each step's seasonal naives,
predicting the residual over the seasonal naive strongest on the train part; fitted on the train part,
its penalty, `linear_alpha`, chosen on the val part). The strongest of them on the scored points
(lowest MAE) is `best_baseline`: the one the gate compares with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lstmops.config import Params
from lstmops.data.prepare import PreparedSeries
from lstmops.evaluate import baselines, metrics
from lstmops.evaluate.baselines import seasonal_naive_at
from lstmops.evaluate.linear import LinearBaseline, fit_linear_baseline
from lstmops.evaluate.report import Evaluation
from lstmops.tasks.seq2seq.plots import ForecastExample, attention_figure, forecast_figure, per_step_figure
from lstmops.tasks.seq2seq.train import TrainedSeq2Seq, part_origins

FORECAST_EXAMPLES = 3  # origins drawn in forecast.png, evenly spread over the part
BEST_BASELINE = "best_baseline"


@dataclass(frozen=True)
class HoldoutForecasts:
    """Model and baseline forecasts for the scored origins of one part; (n, H) arrays row-aligned."""

    timestamps: np.ndarray  # of every row of the series
    values: np.ndarray  # every row of the series, in the value's units
    origins: np.ndarray  # (n,) row of each origin's last observed value
    actual: np.ndarray
    forecast: np.ndarray
    baselines: dict[str, np.ndarray]  # seasonal_<season> for each season, persistence, then linear if fitted
    attention: np.ndarray  # (n, H, window)
    seasons: tuple[int, ...]

    @property
    def steps(self) -> np.ndarray:
        return np.arange(1, self.actual.shape[1] + 1)

    @property
    def forecasters(self) -> dict[str, np.ndarray]:
        """Metric-name suffix -> (n, H) forecasts: the model has none, each baseline `_<name>`."""
        return {"": self.forecast, **{f"_{name}": forecast for name, forecast in self.baselines.items()}}

    @property
    def best_baseline(self) -> str:
        """The baseline with the lowest MAE on these origins."""
        return min(self.baselines, key=lambda name: metrics.mae(self.actual, self.baselines[name]))


def scored_origins(n_rows: int, part: slice, *, first_origin: int, horizon: int, seasons: Sequence[int]) -> np.ndarray:
    """Origin rows t with targets t+1..t+horizon in `part`, the model's history (rows up to
    `first_origin`) and every season's history in the series."""
    return part_origins(n_rows, part, horizon=horizon, first_origin=max(first_origin, max(seasons) - 1))


def fit_linear(trained: TrainedSeq2Seq, prepared: PreparedSeries, seasons: Sequence[int]) -> LinearBaseline:
    """The linear baseline on the model's own window and horizon, fitted on the train part, tuned on val."""
    return fit_linear_baseline(
        prepared.features["value"].to_numpy(dtype="float64"),
        prepared.split.train,
        prepared.split.val,
        lags=trained.window,
        horizon=trained.horizon,
        seasons=seasons,
    )


def holdout_forecasts(
    trained: TrainedSeq2Seq,
    features: pd.DataFrame,
    part: slice,
    seasons: Sequence[int],
    linear: LinearBaseline | None = None,
) -> HoldoutForecasts:
    """Forecast every scored origin of `part` (rows of `features`: timestamp, value) and its baselines
    (the linear one where given)."""
    values = features["value"].to_numpy(dtype="float64")
    horizon = trained.horizon
    origins = scored_origins(len(values), part, first_origin=trained.first_origin, horizon=horizon, seasons=seasons)
    forecast, attention = trained.forecast_with_attention(features, origins)
    naive = {f"seasonal_{season}": seasonal_naive_at(values, origins, season, horizon) for season in seasons}
    return HoldoutForecasts(
        timestamps=features["timestamp"].to_numpy(),
        values=values,
        origins=origins,
        actual=values[origins[:, None] + np.arange(1, horizon + 1)],
        forecast=forecast,
        baselines={
            **naive,
            "persistence": baselines.persistence(values[origins], horizon),
            **({"linear": linear.predict(values, origins)} if linear else {}),
        },
        attention=attention,
        seasons=tuple(seasons),
    )


def forecast_metrics(forecasts: HoldoutForecasts, train_values: np.ndarray, seasons: Sequence[int]) -> dict[str, float]:
    """mae, rmse and mase of the model and of each baseline (suffix `_<baseline>`), rel_mae_<baseline>
    (model mae / baseline mae), the same for `best_baseline`, the model's mae per step (mae_step_<h>)
    and n_origins.

    mase is Hyndman's: MAE over the in-sample seasonal-naive MAE of `train_values` (the train part),
    with the season whose in-sample naive is strongest (the smallest scale, the strictest mase).
    """
    report: dict[str, float] = {"n_origins": float(len(forecasts.origins))}
    fitting = [season for season in seasons if len(train_values) > season]
    forecasters = forecasts.forecasters
    forecasters[f"_{BEST_BASELINE}"] = forecasts.baselines[forecasts.best_baseline]
    for suffix, predicted in forecasters.items():
        report[f"mae{suffix}"] = metrics.mae(forecasts.actual, predicted)
        report[f"rmse{suffix}"] = metrics.rmse(forecasts.actual, predicted)
        if fitting:  # the in-sample scale needs one season of training history
            report[f"mase{suffix}"] = max(
                metrics.mase_insample(forecasts.actual, predicted, train_values, season) for season in fitting
            )
    for name in [*forecasts.baselines, BEST_BASELINE]:
        baseline_mae = report[f"mae_{name}"]
        report[f"rel_mae_{name}"] = report["mae"] / baseline_mae if baseline_mae > 0 else float("nan")
    per_step = metrics.per_step_mae(forecasts.actual, forecasts.forecast)
    report |= {f"mae_step_{step}": float(value) for step, value in zip(forecasts.steps, per_step)}
    return report


def per_step_table(forecasts: HoldoutForecasts) -> pd.DataFrame:
    """step, then mae and rmse of the model, of each baseline and of the strongest baseline (the gate's,
    under a name that does not depend on the seasons configured) at that step."""
    table = pd.DataFrame({"step": forecasts.steps})
    best = {f"_{BEST_BASELINE}": forecasts.baselines[forecasts.best_baseline]}
    for suffix, predicted in (forecasts.forecasters | best).items():
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
            **{name: predicted.ravel() for name, predicted in forecasts.baselines.items()},
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
            seasons=forecasts.seasons,
        ),
        "forecast.png": forecast_figure([_example(forecasts, i, window) for i in examples]),
        "per_step_mae.png": per_step_figure(
            per_step["step"].to_numpy(),
            {
                "seq2seq": per_step["mae"].to_numpy(),
                **{_label(name): per_step[f"mae_{name}"].to_numpy() for name in forecasts.baselines},
            },
        ),
    }


def evaluate_seq2seq(
    trained: TrainedSeq2Seq, prepared: PreparedSeries, params: Params, *, gate: bool = False
) -> Evaluation:
    """Score on the test part of `prepared` with the TRAINED model's own scaler and window.

    Works for any trained seq2seq on any prepared sensor series, so the registry can score champion
    and challenger on the same newest hold-out (`gate=True`: no figures). Gate: mae, against the
    strongest baseline's mae on the same points.
    """
    seasons = params.models.seq2seq.seasons
    linear = fit_linear(trained, prepared, seasons)
    forecasts = holdout_forecasts(trained, prepared.features, prepared.split.test, seasons, linear)
    train_values = prepared.features["value"].to_numpy(dtype="float64")[prepared.split.train]
    return Evaluation(
        metrics=forecast_metrics(forecasts, train_values, seasons) | {"linear_alpha": linear.alpha},
        primary_metric="mae",
        baseline_metric=f"mae_{BEST_BASELINE}",
        higher_is_better=False,
        figures={} if gate else evaluation_figures(forecasts, trained.window),
        tables={
            "per_step.csv": per_step_table(forecasts),
            "predictions.csv": predictions_table(forecasts),
            **({"normalisation.csv": normalisation_table(trained)} if trained.normalise_trials else {}),
        },
        units=origin_losses(forecasts),
        horizon=forecasts.actual.shape[1],
        baseline_name=forecasts.best_baseline,
    )


def normalisation_table(trained: TrainedSeq2Seq) -> pd.DataFrame:
    """Each input normalisation trained (normalise=auto trains two): best validation loss, epochs, which was kept."""
    return pd.DataFrame(
        [
            {"normalise": name, **trial, "kept": name == trained.normalise}
            for name, trial in trained.normalise_trials.items()
        ]
    )


def origin_losses(forecasts: HoldoutForecasts) -> pd.DataFrame:
    """Per forecast origin: the model's and the strongest baseline's MAE over the horizon (their means
    are `mae` and `mae_best_baseline`), indexed by the origin's timestamp."""
    best = forecasts.baselines[forecasts.best_baseline]
    return pd.DataFrame(
        {
            "loss": np.abs(forecasts.actual - forecasts.forecast).mean(axis=1),
            "loss_baseline": np.abs(forecasts.actual - best).mean(axis=1),
        },
        index=pd.Index(forecasts.timestamps[forecasts.origins], name="origin"),
    )


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
        baseline=forecasts.baselines[forecasts.best_baseline][index],
        baseline_label=_label(forecasts.best_baseline),
    )


def _label(baseline: str) -> str:
    """`seasonal_288` -> `seasonal naive (288)` for plot legends."""
    if baseline.startswith("seasonal_"):
        return f"seasonal naive ({baseline.removeprefix('seasonal_')})"
    if baseline == "linear":
        return "linear (ridge on lags)"
    return baseline


def _time_label(timestamp: np.datetime64) -> str:
    return pd.Timestamp(timestamp).strftime("%Y-%m-%d %H:%M")
