"""Evaluate a forecaster in price space on the hold-out (test) part, beside persistence and drift,
plus an optional walk-forward backtest of the training recipe.

Metrics (closes, test rows): rmse, mae, mape, directional_accuracy, mase (model MAE / persistence
MAE on the same rows), each also suffixed _persistence, _drift, _linear and _best_baseline (the
strongest of those three on these rows: the one the gate compares with); mae_vs_linear (model MAE /
linear MAE) and linear_alpha; coverage_<100(1-alpha)> and interval_width (mean upper - lower) of the
model's conformal interval; test_points.
The linear baseline (models.linear) is a ridge on the model's window of past log returns of the
close, predicting the next one, fitted on the training rows with its penalty chosen on the
validation rows; its forecast is the previous close times exp(predicted return).
Backtest (params.models.forecaster.backtest_folds > 0): the test rows are cut into that many
consecutive folds; fold i retrains from scratch (backtest_epochs epochs, same seed) on every row
before it, its last 15% as validation, and is scored on its fold: backtest_fold_<i>_mase,
backtest_mase_mean, and over all folds' points at once backtest_mase_pooled (model MAE / persistence
MAE) with a 95% moving-block bootstrap interval (backtest_mase_pooled_ci_low/_high, blocks of
BOOTSTRAP_BLOCK bars), backtest_mae_vs_drift and backtest_mae_vs_linear (model MAE / drift or linear
MAE; each fold's linear baseline fitted on that fold's training rows).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from lstmops.config import Params
from lstmops.data.prepare import PreparedSeries
from lstmops.data.scaling import StandardScaler
from lstmops.data.windows import SplitIndex, sliding_windows
from lstmops.evaluate.baselines import drift
from lstmops.evaluate.linear import fit_linear_baseline
from lstmops.evaluate.metrics import coverage, forecast_report
from lstmops.evaluate.report import Evaluation
from lstmops.evaluate.significance import block_bootstrap_ratio
from lstmops.tasks.forecaster.plots import backtest_figure, forecast_figure
from lstmops.tasks.forecaster.train import TrainedForecaster, train_forecaster

FOLD_VALIDATION_FRACTION = 0.15  # of each walk-forward fold's training rows (its latest ones)
BOOTSTRAP_BLOCK = 10  # bars per block of the pooled-MASE bootstrap (errors cluster in volatile stretches)
BASELINES = ("persistence", "drift", "linear")  # columns of the predictions table, in report order
BEST_BASELINE = "best_baseline"


def coverage_key(alpha: float) -> str:
    return f"coverage_{round(100 * (1 - alpha))}"


def linear_closes(prepared: PreparedSeries, window: int, rows: np.ndarray) -> tuple[np.ndarray, float]:
    """The linear baseline's forecasts of the closes of table `rows` (each from the rows before it) and its penalty."""
    close = prepared.features["close"].to_numpy(dtype=np.float64)
    returns = np.diff(np.log(close))  # returns[j]: row j -> j+1, so row t's return is returns[t-1]
    split = prepared.split
    linear = fit_linear_baseline(
        returns,
        slice(0, split.train.stop - 1),
        slice(split.val.start - 1, split.val.stop - 1),
        lags=window,
        horizon=1,
        residual=False,  # a return's naive forecast is zero: persistence in price
    )
    # Row t's last known return is returns[t-2] (row t-2 -> t-1): that is its origin.
    predicted = linear.predict(returns, rows - 2)[:, 0]
    return close[rows - 1] * np.exp(predicted), linear.alpha


def strongest_baseline(points: pd.DataFrame) -> str:
    """The baseline column of `points` with the lowest MAE: the one the gate compares with."""
    return min(BASELINES, key=lambda name: (points["actual"] - points[name]).abs().mean())


def score_rows(trained: TrainedForecaster, prepared: PreparedSeries) -> tuple[pd.DataFrame, dict[str, float]]:
    """Forecasts of the test rows of `prepared` (date, actual, predicted, lower, upper, then the
    BASELINES' closes) and their metrics."""
    table, rows = prepared.features, prepared.split.test
    points = trained.forecast_table(table, rows.start, rows.stop)
    t = np.arange(rows.stop - len(points), rows.stop)
    # Drift extends the line through the closes of the model's own input window (t-window..t-1).
    close_windows = sliding_windows(table["close"].to_numpy(), trained.window)[t - trained.window]
    points["drift"] = drift(close_windows)[:, 0]
    points["linear"], alpha = linear_closes(prepared, trained.window, t)
    actual, predicted, previous = (points[name].to_numpy() for name in ("actual", "predicted", "persistence"))
    baselines = {name: points[name].to_numpy() for name in BASELINES}
    best = strongest_baseline(points)
    metrics = forecast_report(actual, predicted, previous, {**baselines, BEST_BASELINE: baselines[best]})
    metrics["mae_vs_linear"] = metrics["mae"] / metrics["mae_linear"] if metrics["mae_linear"] > 0 else float("nan")
    metrics["linear_alpha"] = alpha
    lower, upper = points["lower"].to_numpy(), points["upper"].to_numpy()
    metrics[coverage_key(trained.interval_alpha)] = coverage(actual, lower, upper)
    metrics["interval_width"] = float(np.mean(upper - lower))
    metrics["test_points"] = float(len(points))
    return points, metrics


@dataclass
class Fold:
    number: int  # 1-based
    points: pd.DataFrame
    metrics: dict[str, float]


def _fold_series(prepared: PreparedSeries, start: int, stop: int) -> PreparedSeries:
    """Rows before `start` to train on (latest 15% as validation), rows start..stop to test; nothing later."""
    table = prepared.features.iloc[:stop].reset_index(drop=True)
    val_start = round(start * (1 - FOLD_VALIDATION_FRACTION))
    split = SplitIndex(slice(0, val_start), slice(val_start, start), slice(start, stop))
    scaler = StandardScaler().fit(table[prepared.columns].to_numpy()[split.train])
    return replace(prepared, features=table, split=split, scaler=scaler)


def walk_forward(prepared: PreparedSeries, params: Params) -> list[Fold]:
    """Expanding-window backtest over the test rows (see the module docstring); [] when folds = 0."""
    config = params.models.forecaster
    region = prepared.split.test
    if config.backtest_folds == 0:
        return []
    if region.stop - region.start < config.backtest_folds:
        raise ValueError(
            f"{prepared.series}: {region.stop - region.start} test rows cannot make "
            f"{config.backtest_folds} walk-forward folds"
        )
    bounds = np.linspace(region.start, region.stop, config.backtest_folds + 1).round().astype(int)
    fold_params = params.model_copy(
        update={"train": params.train.model_copy(update={"epochs": config.backtest_epochs})}
    )
    folds = []
    for number, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:]), start=1):
        fold = _fold_series(prepared, int(start), int(stop))
        trained = train_forecaster(fold, fold_params)
        points, metrics = score_rows(trained, fold)
        folds.append(Fold(number, points, metrics))
    return folds


def backtest_metrics(folds: list[Fold]) -> dict[str, float]:
    metrics = {f"backtest_fold_{fold.number}_mase": fold.metrics["mase"] for fold in folds}
    metrics["backtest_mase_mean"] = float(np.mean([fold.metrics["mase"] for fold in folds]))
    points = pd.concat([fold.points for fold in folds], ignore_index=True)
    model = (points["actual"] - points["predicted"]).abs().to_numpy()
    persistence = (points["actual"] - points["persistence"]).abs().to_numpy()
    metrics["backtest_mase_pooled"] = float(model.sum() / persistence.sum())
    low, high = block_bootstrap_ratio(model, persistence, BOOTSTRAP_BLOCK)
    metrics["backtest_mase_pooled_ci_low"], metrics["backtest_mase_pooled_ci_high"] = low, high
    drift_error = sum(fold.metrics["mae_drift"] * fold.metrics["test_points"] for fold in folds)
    metrics["backtest_mae_vs_drift"] = float(model.sum() / drift_error)
    metrics["backtest_mae_vs_linear"] = float(model.sum() / (points["actual"] - points["linear"]).abs().sum())
    return metrics


def evaluate_forecaster(
    trained: TrainedForecaster, prepared: PreparedSeries, params: Params, *, gate: bool = False
) -> Evaluation:
    """Score `trained` on the test part of `prepared` with the model's own preprocessing (any dataset).

    `gate=True` (the registry gate comparing two versions): no figures and no walk-forward backtest,
    which retrains from scratch and so says nothing about the versions themselves.
    """
    if prepared.kind != "prices":
        raise ValueError(f"{prepared.series}: a forecaster is evaluated on price series, got {prepared.kind!r}")
    points, metrics = score_rows(trained, prepared)
    best = strongest_baseline(points)
    evaluation = Evaluation(
        metrics=metrics,
        primary_metric="mae",
        baseline_metric=f"mae_{BEST_BASELINE}",
        higher_is_better=False,
        tables={"predictions.csv": points},
        units=pd.DataFrame(
            {
                "loss": (points["actual"] - points["predicted"]).abs().to_numpy(),
                "loss_baseline": (points["actual"] - points[best]).abs().to_numpy(),
            },
            index=pd.Index(points["date"], name="date"),
        ),
        horizon=1,
        baseline_name=best,
    )
    if gate:
        return evaluation
    label = coverage_key(trained.interval_alpha).removeprefix("coverage_") + "%"
    evaluation.figures["forecast.png"] = forecast_figure(
        points,
        title=f"{prepared.series}: hold-out close, LSTM vs persistence (MASE {metrics['mase']:.3f})",
        coverage_label=label,
    )

    folds = walk_forward(prepared, params)
    if folds:
        evaluation.metrics |= backtest_metrics(folds)
        fold_points = pd.concat([fold.points.assign(fold=fold.number) for fold in folds], ignore_index=True)
        evaluation.figures["backtest.png"] = backtest_figure(
            fold_points,
            [fold.metrics["mase"] for fold in folds],
            title=f"{prepared.series}: walk-forward backtest (mean MASE {metrics['backtest_mase_mean']:.3f})",
        )
    return evaluation
