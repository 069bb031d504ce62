import math

import numpy as np
import pytest

from lstmops.evaluate.metrics import (
    conformal_interval,
    coverage,
    directional_accuracy,
    forecast_report,
    mae,
    mape,
    mase,
    mase_insample,
    per_step_mae,
    per_step_rmse,
    rmse,
)

Y = np.array([1.0, 2.0, 3.0])


def test_rmse_and_mae_by_hand():
    pred = np.array([1.0, 2.0, 5.0])
    assert mae(Y, pred) == pytest.approx(2 / 3)
    assert rmse(Y, pred) == pytest.approx(math.sqrt(4 / 3))


def test_one_step_baseline_column_is_accepted_beside_a_1d_target():
    assert mae(Y, Y[:, None] + 1) == pytest.approx(1.0)


def test_mismatched_shapes_are_an_error_not_a_broadcast():
    with pytest.raises(ValueError, match="does not match"):
        rmse(Y, np.ones((3, 2)))


def test_mape_skips_zero_actuals():
    # only (2 -> 1) and (4 -> 5) count: (50% + 25%) / 2
    assert mape(np.array([0.0, 2.0, 4.0]), np.array([1.0, 1.0, 5.0])) == pytest.approx(37.5)
    assert math.isnan(mape(np.zeros(3), np.ones(3)))


def test_directional_accuracy_skips_points_that_did_not_move():
    y_prev = np.ones(4)
    y_true = np.array([2.0, 0.0, 1.0, 3.0])  # up, down, flat (skipped), up
    y_pred = np.array([3.0, 2.0, 5.0, 0.0])  # up, up, -, down
    assert directional_accuracy(y_true, y_pred, y_prev) == pytest.approx(1 / 3)


def test_directional_accuracy_of_persistence_is_zero():
    y_prev = np.array([1.0, 2.0, 3.0])
    assert directional_accuracy(np.array([2.0, 1.0, 4.0]), y_prev, y_prev) == 0.0


def test_mase_is_one_when_the_model_is_persistence():
    rng = np.random.default_rng(1)
    series = rng.normal(size=101).cumsum()
    y_true, naive = series[1:], series[:-1]
    assert mase(y_true, naive, naive) == pytest.approx(1.0)
    assert mase(y_true, y_true, naive) == 0.0
    assert mase(y_true, (y_true + naive) / 2, naive) == pytest.approx(0.5)


def test_mase_insample_scales_by_the_training_naive_error():
    # in-sample one-step differences |3-1|, |2-3|, |4-2| -> mean 5/3; test MAE 1
    assert mase_insample(Y, Y + 1, np.array([1.0, 3.0, 2.0, 4.0])) == pytest.approx(0.6)


def test_per_step_errors_are_one_per_horizon_step():
    y_true = np.array([[1.0, 1.0], [1.0, 1.0]])
    y_pred = np.array([[1.0, 3.0], [1.0, -1.0]])
    np.testing.assert_allclose(per_step_mae(y_true, y_pred), [0, 2])
    np.testing.assert_allclose(per_step_rmse(y_true, y_pred), [0, 2])


def test_conformal_quantile_uses_the_finite_sample_rank():
    residuals = np.arange(1.0, 10.0)  # n = 9
    assert conformal_interval(residuals, alpha=0.2) == 8.0  # ceil(10 * 0.8) = 8th smallest
    assert conformal_interval(-residuals, alpha=0.1) == 9.0  # absolute values; ceil(10 * 0.9) = 9th
    assert conformal_interval(residuals[:5], alpha=0.1) == math.inf  # ceil(6 * 0.9) = 6 > 5


def test_conformal_interval_covers_about_1_minus_alpha():
    rng = np.random.default_rng(2)
    q = conformal_interval(rng.normal(size=5000), alpha=0.1)
    y_hat = np.zeros(5000)
    y_true = rng.normal(size=5000)
    assert coverage(y_true, y_hat - q, y_hat + q) == pytest.approx(0.9, abs=0.03)


def test_forecast_report_puts_baselines_beside_the_model():
    y_prev = np.array([1.0, 2.0, 3.0, 4.0])
    y_true = np.array([2.0, 3.0, 4.0, 5.0])
    baselines = {"persistence": y_prev, "drift": y_prev + 1.0}
    report = forecast_report(y_true, y_true + 0.5, y_prev, baselines)
    assert report["mase"] == pytest.approx(0.5)
    assert report["mase_persistence"] == pytest.approx(1.0)
    assert report["rmse_drift"] == 0.0
    assert report["directional_accuracy_drift"] == 1.0
    assert {"rmse", "mae", "mape", "directional_accuracy", "mase"} <= set(report)
    assert all(isinstance(value, float) for value in report.values())


def test_forecast_report_requires_persistence():
    with pytest.raises(ValueError, match="persistence"):
        forecast_report(Y, Y, Y, {"drift": Y})
