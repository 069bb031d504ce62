import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from lstmops.data.features import sensor_features
from lstmops.data.prepare import PreparedSeries
from lstmops.data.scaling import MinMaxScaler
from lstmops.data.windows import chronological_split
from lstmops.evaluate.linear import ALPHAS
from lstmops.tasks.seq2seq.evaluate import evaluate_seq2seq, scored_origins
from lstmops.tasks.seq2seq.train import train_seq2seq

WINDOW, HORIZON, PERIOD = 12, 4, 8


@pytest.fixture(scope="module")
def params(tiny_params, tmp_path_factory):
    return tiny_params(
        tmp_path_factory.mktemp("data"),
        "seq2seq",
        **{
            "models.seq2seq.window": WINDOW,
            "models.seq2seq.horizon": HORIZON,
            "models.seq2seq.units": 4,
            "train.epochs": 2,
            "train.batch_size": 64,
        },
    )


@pytest.fixture(scope="module")
def demo(demo_series, params):
    series = demo_series(params, "sensors")
    trained = train_seq2seq(series.prepared, params)
    return series.raw, series.prepared, trained, evaluate_seq2seq(trained, series.prepared, params)


def periodic_series(n_rows: int = 800) -> PreparedSeries:
    """A pure period-8 signal: seasonal naive with season 8 is exact, persistence is not."""
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n_rows, freq="5min").astype("datetime64[ns]"),
            "value": 10.0 + (np.arange(n_rows) % PERIOD) ** 2,
        }
    )
    features = sensor_features(frame)
    split = chronological_split(n_rows, 0.7, 0.15, 0.15)
    scaler = MinMaxScaler((-1.0, 1.0)).fit(features[["value"]].to_numpy()[split.train])
    return PreparedSeries("sensors", "periodic", None, features, ["value"], "value", split, scaler, WINDOW, {})


def test_metrics_put_every_baseline_beside_the_model_and_gate_on_the_strongest(demo):
    evaluation = demo[3]
    metrics = evaluation.metrics
    baselines = ["seasonal_48", "seasonal_288", "persistence", "linear"]  # the tiny params' seasons, ...
    steps = [f"mae_step_{step}" for step in range(1, HORIZON + 1)]
    for key in ("mae", "rmse", "mase", *steps, *(f"{m}_{b}" for m in ("mae", "rel_mae") for b in baselines)):
        assert np.isfinite(metrics[key]), key
    for baseline in baselines:
        assert metrics[f"rel_mae_{baseline}"] == pytest.approx(metrics["mae"] / metrics[f"mae_{baseline}"])
    assert metrics["mae_best_baseline"] == min(metrics[f"mae_{b}"] for b in baselines)
    assert metrics["mae_best_baseline"] == metrics[f"mae_{evaluation.baseline_name}"]
    assert metrics["linear_alpha"] in ALPHAS
    assert (evaluation.primary_metric, evaluation.baseline_metric) == ("mae", "mae_best_baseline")
    assert evaluation.higher_is_better is False
    assert evaluation.beats_baseline() == (metrics["mae"] < metrics["mae_best_baseline"])
    # The gate's paired test compares with the same strongest baseline, origin by origin.
    assert evaluation.units["loss_baseline"].mean() == pytest.approx(metrics["mae_best_baseline"])


def test_only_origins_whose_targets_lie_in_the_test_part_are_scored(demo):
    _, prepared, _, evaluation = demo
    predictions = evaluation.tables["predictions.csv"]
    timestamps = prepared.features["timestamp"]
    test_start, test_stop = prepared.split.test.start, prepared.split.test.stop
    assert predictions["timestamp"].min() == timestamps.iloc[test_start]
    assert predictions["timestamp"].max() == timestamps.iloc[test_stop - 1]
    assert evaluation.metrics["n_origins"] == test_stop - test_start - HORIZON + 1


def test_predict_raw_reproduces_the_evaluated_forecasts(demo):
    raw, _, trained, evaluation = demo
    evaluated = evaluation.tables["predictions.csv"]
    served = trained.predict_raw(raw).merge(evaluated, on=["origin", "step"], suffixes=("_served", ""))
    assert len(served) == len(evaluated)
    np.testing.assert_array_equal(served["timestamp_served"], served["timestamp"])  # regular 5-min grid
    np.testing.assert_allclose(served["forecast_served"], served["forecast"], rtol=1e-6)


def test_figures_and_tables_are_produced(demo, tmp_path):
    evaluation = demo[3]
    assert set(evaluation.figures) == {"attention.png", "forecast.png", "per_step_mae.png"}
    attention = evaluation.figures["attention.png"]
    assert isinstance(attention, Figure)
    heatmaps = [ax for ax in attention.axes if ax.images]
    assert [ax.images[0].get_array().shape for ax in heatmaps] == [(HORIZON, WINDOW)] * 2
    attention.savefig(tmp_path / "attention.png")
    assert (tmp_path / "attention.png").stat().st_size > 1000
    per_step = evaluation.tables["per_step.csv"]
    assert list(per_step["step"]) == list(range(1, HORIZON + 1))
    assert {"mae", "rmse", "mae_seasonal_48", "mae_seasonal_288", "mae_persistence", "mae_linear"} <= set(
        per_step.columns
    )
    assert "linear" in evaluation.tables["predictions.csv"].columns


def test_per_step_metrics_align_with_the_series_on_a_periodic_signal(demo, params):
    trained = demo[2]  # any trained seq2seq scores any prepared sensor series
    prepared = periodic_series()
    periodic_params = params.model_copy(deep=True)
    periodic_params.models.seq2seq.seasons = [PERIOD, 2 * PERIOD]
    evaluation = evaluate_seq2seq(trained, prepared, periodic_params)
    metrics, predictions = evaluation.metrics, evaluation.tables["predictions.csv"]

    assert metrics["mae_seasonal_8"] == metrics["mae_seasonal_16"] == metrics["mae_best_baseline"] == 0.0
    assert metrics["mae_persistence"] > 0
    # Each row's actual is the series value at its timestamp, i.e. `step` rows after the origin.
    values = prepared.features.set_index("timestamp")["value"]
    np.testing.assert_array_equal(predictions["actual"], values.loc[predictions["timestamp"]].to_numpy())
    np.testing.assert_array_equal(predictions["persistence"], values.loc[predictions["origin"]].to_numpy())
    lead_time = predictions["timestamp"] - predictions["origin"]
    assert (lead_time == pd.Timedelta(minutes=5) * predictions["step"]).all()
    errors = (predictions["actual"] - predictions["forecast"]).abs().groupby(predictions["step"]).mean()
    for step, error in errors.items():
        assert metrics[f"mae_step_{step}"] == pytest.approx(error)


def test_origins_without_the_history_of_the_model_or_the_longest_season_are_left_out_for_everyone():
    # Test part rows 10..99; step 1 of the season-20 naive at origin t reads row t + 1 - 20, so t >= 19.
    origins = scored_origins(100, slice(10, 100), first_origin=4, horizon=3, seasons=[5, 20])
    assert (origins[0], origins[-1]) == (19, 96)
    assert scored_origins(100, slice(10, 100), first_origin=30, horizon=3, seasons=[5, 20])[0] == 30
    assert scored_origins(100, slice(50, 100), first_origin=4, horizon=3, seasons=[20])[0] == 49
    with pytest.raises(ValueError, match="hold no origin"):
        scored_origins(100, slice(95, 100), first_origin=4, horizon=6, seasons=[20])
