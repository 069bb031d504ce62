"""`benchmark_prices`: walk-forward evaluation of the forecaster on Yahoo-layout CSVs."""

import json
import math

import pytest

from lstmops.benchmarks.inputs import BenchmarkInputError
from lstmops.benchmarks.prices import benchmark_prices, vs_persistence
from lstmops.config import load_params
from lstmops.data.demo_prices import demo_prices

PARAMS = load_params(
    overrides={
        "windows.prices.window": 6,
        "models.forecaster.units": [4],
        "models.forecaster.backtest_folds": 2,
        "models.forecaster.backtest_epochs": 1,
        "train.verbose": 0,
    }
)


def write_yahoo_csv(path, n_days=300):
    bars = demo_prices("DEMOA", n_days=n_days)
    yahoo = bars.rename(columns=str.title).assign(**{"Adj Close": bars["close"]})
    yahoo[["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]].to_csv(path, index=False)
    return path


def test_each_csv_gets_walk_forward_means_named_by_its_stem(tmp_path):
    csv = write_yahoo_csv(tmp_path / "ACME.csv")
    out = tmp_path / "bench" / "prices.json"

    result = benchmark_prices([csv], PARAMS, out)

    assert json.loads(out.read_text()) == result
    (series,) = result["series"]
    assert set(series) == {
        "name",
        "mase",
        "rmse",
        "rmse_persistence",
        "directional_accuracy",
        "coverage_90",
        "mase_pooled",
        "mase_pooled_ci_low",
        "mase_pooled_ci_high",
        "mae_vs_drift",
        "vs_persistence",
        "points",
        "seconds",
    }
    assert series["name"] == "ACME" and series["seconds"] > 0
    assert 0.5 < series["mase"] < 2 and series["rmse"] > 0 and math.isfinite(series["rmse_persistence"])
    assert series["mase_pooled_ci_low"] <= series["mase_pooled"] <= series["mase_pooled_ci_high"]
    assert series["vs_persistence"] == vs_persistence(series["mase_pooled_ci_low"], series["mase_pooled_ci_high"])
    assert result["protocol"]["folds"] == 2


def test_an_invalid_csv_is_rejected_naming_the_file_and_the_rule(tmp_path):
    csv = write_yahoo_csv(tmp_path / "BROKEN.csv")
    lines = csv.read_text().splitlines()
    date, open_, high, low, *rest = lines[5].split(",")
    lines[5] = ",".join([date, open_, low, high, *rest])  # high below low
    csv.write_text("\n".join(lines) + "\n")

    with pytest.raises(BenchmarkInputError, match="BROKEN.csv") as error:
        benchmark_prices([csv], PARAMS, tmp_path / "out.json")
    assert "high_ge_low" in str(error.value) and "line 6" in str(error.value)
    assert not (tmp_path / "out.json").exists()


def test_folds_zero_is_refused_because_the_benchmark_is_walk_forward(tmp_path):
    params = PARAMS.model_copy(
        update={
            "models": PARAMS.models.model_copy(
                update={"forecaster": PARAMS.models.forecaster.model_copy(update={"backtest_folds": 0})}
            )
        }
    )

    with pytest.raises(ValueError, match="backtest_folds >= 1"):
        benchmark_prices([write_yahoo_csv(tmp_path / "A.csv")], params, tmp_path / "out.json")


def test_pooled_mase_is_read_against_persistence_by_where_its_interval_lies():
    assert vs_persistence(0.95, 0.99) == "better"
    assert vs_persistence(0.98, 1.01) == "indistinguishable"
    assert vs_persistence(1.01, 1.05) == "worse"
