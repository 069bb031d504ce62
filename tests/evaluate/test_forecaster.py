"""Evaluating the price forecaster: price-space metrics beside baselines, conformal coverage, backtest."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from lstmops.data import prepare
from lstmops.evaluate.linear import ALPHAS
from lstmops.tasks.forecaster.evaluate import evaluate_forecaster, linear_closes, walk_forward
from lstmops.tasks.forecaster.train import train_forecaster

SETTINGS = {"prices.demo.n_days": 600, "windows.prices.window": 8, "train.epochs": 3, "train.batch_size": 64}


@pytest.fixture(scope="module")
def setup(tiny_params, demo_series, tmp_path_factory):
    params = tiny_params(tmp_path_factory.mktemp("data"), "forecaster", **SETTINGS)
    demo = demo_series(params, "prices")
    trained = train_forecaster(demo.prepared, params)
    return params, demo.prepared, trained, demo.raw, evaluate_forecaster(trained, demo.prepared, params)


def test_baselines_are_reported_beside_the_model_on_the_same_points(setup):
    _, prepared, _, _, evaluation = setup
    m = evaluation.metrics
    test_rows = prepared.split.test.stop - prepared.split.test.start

    for metric in ("rmse", "mae", "mape", "directional_accuracy", "mase"):
        assert {metric, *(f"{metric}_{b}" for b in ("persistence", "drift", "linear", "best_baseline"))} <= m.keys()
    assert m["mase"] == pytest.approx(m["mae"] / m["mae_persistence"])
    assert m["mase_persistence"] == 1.0 and m["test_points"] == test_rows
    assert m["mae_vs_linear"] == pytest.approx(m["mae"] / m["mae_linear"]) and m["linear_alpha"] in ALPHAS
    # The gate compares with the strongest simple baseline, naive or linear, point by point.
    assert (evaluation.primary_metric, evaluation.baseline_metric) == ("mae", "mae_best_baseline")
    assert m["mae_best_baseline"] == min(m["mae_persistence"], m["mae_drift"], m["mae_linear"])
    assert m["mae_best_baseline"] == m[f"mae_{evaluation.baseline_name}"]
    assert evaluation.units["loss_baseline"].mean() == pytest.approx(m["mae_best_baseline"])
    assert not evaluation.higher_is_better
    assert evaluation.beats_baseline() == (m["mae"] < m["mae_best_baseline"])


def test_the_linear_baseline_forecasts_each_close_from_earlier_returns_fitted_on_the_training_rows(setup):
    params, prepared, trained, _, evaluation = setup
    table = evaluation.tables["predictions.csv"]
    first = prepared.split.test.start
    # Another test part (prices doubled from its first row on): the coefficients, fitted on the
    # training rows and tuned on the validation rows, are the same, so the first test close is too.
    features = prepared.features.copy()
    features.loc[first:, "close"] *= 2.0
    changed = replace(prepared, features=features)
    rows = np.arange(first, prepared.split.test.stop)
    original, alpha = linear_closes(prepared, trained.window, rows)
    moved, moved_alpha = linear_closes(changed, trained.window, rows)
    assert moved[0] == original[0] and moved_alpha == alpha
    np.testing.assert_allclose(table["linear"], original)
    # a forecast near the previous close: a return's forecast is small
    previous = prepared.features["close"].to_numpy()[rows - 1]
    assert np.all(np.abs(np.log(original / previous)) < 0.2)


def test_metrics_are_in_price_space(setup):
    _, prepared, _, _, evaluation = setup
    closes = prepared.features["close"].to_numpy()[prepared.split.test]

    table = evaluation.tables["predictions.csv"]

    assert list(table.columns) == ["date", "actual", "predicted", "lower", "upper", "persistence", "drift", "linear"]
    np.testing.assert_array_equal(table["actual"], closes)
    np.testing.assert_array_equal(table["persistence"].iloc[1:], closes[:-1])
    errors = table["actual"] - table["predicted"]
    assert evaluation.metrics["rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)))


def test_conformal_interval_covers_about_ninety_percent_of_the_hold_out(setup):
    _, _, _, _, evaluation = setup
    table = evaluation.tables["predictions.csv"]
    inside = (table["lower"] <= table["actual"]) & (table["actual"] <= table["upper"])

    assert evaluation.metrics["coverage_90"] == pytest.approx(inside.mean())
    assert 0.75 <= evaluation.metrics["coverage_90"] <= 1.0
    assert evaluation.metrics["interval_width"] == pytest.approx((table["upper"] - table["lower"]).mean())


def test_predict_raw_from_raw_bars_equals_the_evaluation_predictions(setup):
    _, _, trained, frame, evaluation = setup
    table = evaluation.tables["predictions.csv"]

    served = trained.predict_raw(frame).set_index("date").loc[table["date"]]

    np.testing.assert_allclose(served["predicted_close"], table["predicted"], rtol=1e-6)
    np.testing.assert_allclose(served["lower"], table["lower"], rtol=1e-6)
    np.testing.assert_allclose(served["upper"], table["upper"], rtol=1e-6)
    np.testing.assert_array_equal(served["actual"], table["actual"])


def test_figures_without_backtest(setup):
    _, _, _, _, evaluation = setup

    assert set(evaluation.figures) == {"forecast.png"}
    assert not any(key.startswith("backtest") for key in evaluation.metrics)


def test_walk_forward_retrains_on_the_past_and_covers_the_test_rows_once(setup):
    params, prepared, trained, _, _ = setup
    params = params.model_copy(
        update={
            "models": params.models.model_copy(
                update={
                    "forecaster": params.models.forecaster.model_copy(
                        update={"backtest_folds": 2, "backtest_epochs": 1}
                    )
                }
            )
        }
    )

    folds = walk_forward(prepared, params)
    evaluation = evaluate_forecaster(trained, prepared, params)

    test_dates = prepared.features["date"].iloc[prepared.split.test]
    fold_dates = pd.concat([fold.points["date"] for fold in folds])
    assert fold_dates.tolist() == test_dates.tolist()
    assert [fold.number for fold in folds] == [1, 2]
    m = evaluation.metrics
    assert m["backtest_fold_1_mase"] == pytest.approx(folds[0].metrics["mase"])
    assert m["backtest_mase_mean"] == pytest.approx((m["backtest_fold_1_mase"] + m["backtest_fold_2_mase"]) / 2)
    # Pooled over every fold's points: total model error over total persistence (and drift) error.
    points = pd.concat([fold.points for fold in folds])
    persistence = (points["actual"] - points["persistence"]).abs().sum()
    assert m["backtest_mase_pooled"] == pytest.approx(
        (points["actual"] - points["predicted"]).abs().sum() / persistence
    )
    assert m["backtest_mase_pooled_ci_low"] < m["backtest_mase_pooled"] < m["backtest_mase_pooled_ci_high"]
    drift = sum(fold.metrics["mae_drift"] * len(fold.points) for fold in folds)
    assert m["backtest_mae_vs_drift"] == pytest.approx((points["actual"] - points["predicted"]).abs().sum() / drift)
    linear = sum(fold.metrics["mae_linear"] * len(fold.points) for fold in folds)
    assert m["backtest_mae_vs_linear"] == pytest.approx((points["actual"] - points["predicted"]).abs().sum() / linear)
    assert set(evaluation.figures) == {"forecast.png", "backtest.png"}


def test_a_dataset_without_the_models_inputs_is_rejected(setup, tiny_params, tmp_path):
    params, _, trained, frame, _ = setup
    other = tiny_params(
        tmp_path, "forecaster", **{**SETTINGS, "windows.prices.features": ["range"], "windows.prices.target": "close"}
    )
    prepared = prepare.prepare_frame(frame, {"kind": "prices", "series": "DEMOA"}, other, tmp_path)

    with pytest.raises(ValueError, match=r"lacks columns \['log_return'\]"):
        evaluate_forecaster(trained, prepared, params)
