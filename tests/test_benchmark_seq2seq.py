import json

import numpy as np
import pandas as pd
import pytest

from lstmops.benchmarks.inputs import BenchmarkInputError
from lstmops.benchmarks.seq2seq import benchmark_seq2seq
from lstmops.config import load_params

SEASON, HORIZON = 48, 6


def write_daily_csv(path, n_rows=400):
    """Half-hourly samples of a daily cycle with noise: what the NYC taxi benchmark looks like, tiny."""
    rng = np.random.default_rng(0)
    steps = np.arange(n_rows)
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n_rows, freq="30min").strftime("%Y-%m-%d %H:%M:%S"),
            "value": 100 + 20 * np.sin(2 * np.pi * steps / SEASON) + rng.normal(0, 1, n_rows),
        }
    )
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def params(tmp_path):
    return load_params(
        overrides={
            "data.root": str(tmp_path / "data"),
            "models.seq2seq.window": 12,
            "models.seq2seq.units": 4,
            "train.epochs": 2,
            "train.verbose": 0,
        }
    )


def test_benchmark_reports_every_baseline_and_the_spread_over_seeds(tmp_path, params):
    out = tmp_path / "bench" / "seq2seq.json"
    seasons = [SEASON // 2, SEASON]
    result = benchmark_seq2seq(write_daily_csv(tmp_path / "daily.csv"), seasons, HORIZON, params, out, seeds=2)

    assert json.loads(out.read_text()) == result
    naive = ["seasonal_24", "seasonal_48", "persistence"]
    for key in (
        "mae",
        "seconds",
        *(f"{m}_{b}" for m in ("mae", "rel_mae") for b in [*naive, "linear", "best_baseline"]),
    ):
        assert np.isfinite(result[key]) and result[key] > 0, key
    assert min(naive, key=lambda b: result[f"mae_{b}"]) == "seasonal_48"  # the daily cycle: the one-day naive
    # ... yet the ridge on lags and naives is stronger still: it averages the noise the naive repeats
    assert result["best_baseline"] == "linear"
    assert result["rel_mae_best_baseline"] == pytest.approx(result["rel_mae_linear"])
    assert len(result["mae_per_step"]) == HORIZON
    assert [run["seed"] for run in result["runs"]] == [params.train.seed, params.train.seed + 1]
    spread = result["over_seeds"]["test"]["rel_mae_best_baseline"]
    per_seed = [run["test"]["rel_mae_best_baseline"] for run in result["runs"]]
    assert (spread["min"], spread["max"]) == (min(per_seed), max(per_seed))
    assert spread["mean"] == pytest.approx(result["rel_mae_best_baseline"])
    assert set(result["val"]) >= {"mae", "rel_mae_best_baseline"}  # settings are chosen on val, not test
    assert (result["settings"]["seasons"], result["settings"]["horizon"]) == (seasons, HORIZON)
    assert result["split_rows"]["test"] == [340, 400]
    assert (tmp_path / "bench" / "seq2seq_attention.png").exists()


def test_a_csv_that_fails_validation_is_refused_with_its_name(tmp_path, params):
    csv = write_daily_csv(tmp_path / "irregular.csv")
    frame = pd.read_csv(csv)
    frame.loc[200:, "timestamp"] = (pd.to_datetime(frame.loc[200:, "timestamp"]) + pd.Timedelta(minutes=7)).dt.strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    frame.to_csv(csv, index=False)
    with pytest.raises(BenchmarkInputError, match="irregular.csv"):
        benchmark_seq2seq(csv, [SEASON], HORIZON, params, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()
