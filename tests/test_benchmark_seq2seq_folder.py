"""`lstmops benchmark seq2seq` over several series: per series and pooled, against naive and linear."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lstmops.benchmarks.seq2seq_folder import benchmark_seq2seq_series, csvs_in, seasons_in_samples
from lstmops.cli.main import app
from lstmops.config import load_params

HORIZON, ROWS = 6, 400


def write_csv(path, values, freq="30min"):
    stamps = pd.date_range("2024-01-01", periods=len(values), freq=freq).strftime("%Y-%m-%d %H:%M:%S")
    pd.DataFrame({"timestamp": stamps, "value": values}).to_csv(path, index=False)
    return path


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    steps = np.arange(ROWS)
    data = tmp_path / "nab" / "data" / "group"
    data.mkdir(parents=True)
    write_csv(data / "daily.csv", 100 + 20 * np.sin(2 * np.pi * steps / 48) + rng.normal(0, 1, ROWS))
    write_csv(data / "walk.csv", 100 + np.cumsum(rng.normal(0, 1, ROWS)))  # no season to speak of
    broken = write_csv(data / "irregular.csv", rng.normal(0, 1, ROWS))
    frame = pd.read_csv(broken)
    frame.loc[200:, "timestamp"] = (pd.to_datetime(frame.loc[200:, "timestamp"]) + pd.Timedelta(minutes=7)).dt.strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    frame.to_csv(broken, index=False)
    return data


@pytest.fixture
def params(tmp_path):
    return load_params(
        overrides={
            "data.root": str(tmp_path / "data"),
            "models.seq2seq.window": 12,
            "models.seq2seq.units": 4,
            "models.seq2seq.normalise": "series",
            "train.epochs": 2,
            "train.verbose": 0,
        }
    )


def test_periods_become_samples_of_each_series_own_interval():
    assert seasons_in_samples(["1D", "7D"], pd.Timedelta("30min")) == [48, 336]
    assert seasons_in_samples(["1D", "7D"], pd.Timedelta("1D")) == [7]  # a one-sample season is no season


def test_every_series_is_reported_seasonal_or_not_and_a_broken_one_with_its_error(folder, params, tmp_path):
    out = tmp_path / "bench" / "folder.json"
    result = benchmark_seq2seq_series(csvs_in([folder]), ["1D"], HORIZON, params, out, seeds=2)

    assert json.loads(out.read_text()) == result
    rows = {row["name"]: row for row in result["series"]}
    assert set(rows) == {"daily", "irregular", "walk"}
    assert "irregular.csv" in rows["irregular"]["error"]
    assert rows["daily"]["seasonal"] and rows["daily"]["seasons"] == [48]
    assert not rows["walk"]["seasonal"] and rows["walk"]["seasonality"].startswith("no clear seasonality")
    for row in (rows["daily"], rows["walk"]):
        runs = row["runs"]
        assert [run["seed"] for run in runs] == [params.train.seed, params.train.seed + 1]
        for bar in ("naive", "linear"):
            spread = row[f"rel_mae_{bar}"]
            assert spread["min"] <= spread["mean"] <= spread["max"]
            assert sorted(run[f"rel_mae_{bar}"] for run in runs) == [spread["min"], spread["max"]]
            assert 0 <= row[f"dm_{bar}"]["p"] <= 1
        # the tests compare the seeds' mean loss with the named baselines' own losses
        seeds_mae = np.mean([run["mae"] for run in runs])
        assert row["dm_linear"]["effect"] == pytest.approx(seeds_mae - row["mae_linear"])
        assert row["dm_naive"]["effect"] == pytest.approx(seeds_mae - row["mae_strongest_naive"])
        assert runs[0]["rel_mae_linear"] == pytest.approx(runs[0]["mae"] / row["mae_linear"])
    assert rows["daily"]["strongest_naive"] == "seasonal_48"
    pooled = result["pooled"]
    assert pooled["series"] == 2 and pooled["seasonal_series"] == 1
    ratios = [rows[name]["rel_mae_linear"]["mean"] for name in ("daily", "walk")]
    assert min(ratios) <= pooled["rel_mae_linear_geomean"] <= max(ratios)


def test_the_cli_runs_a_folder_and_refuses_several_series_without_periods(folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = ["--set", "models.seq2seq.window=12", "--set", "models.seq2seq.units=4", "--set", "train.epochs=1"]
    settings += ["--set", "models.seq2seq.normalise=series", "--set", f"data.root={tmp_path / 'data'}"]
    out = tmp_path / "cli.json"

    result = CliRunner().invoke(
        app,
        ["benchmark", "seq2seq", "--folder", str(folder), "--period", "1D", "--horizon", str(HORIZON)]
        + ["--out", str(out), *settings],
    )

    assert result.exit_code == 0, result.output
    assert "walk" in result.output and "no clear seasonality" in result.output and "pooled" in result.output
    assert len(json.loads(out.read_text())["series"]) == 3
    refused = CliRunner().invoke(
        app,
        ["benchmark", "seq2seq", "--csv", str(folder / "daily.csv"), "--csv", str(folder / "walk.csv")]
        + ["--horizon", str(HORIZON), "--out", str(out), *settings],
    )
    assert refused.exit_code != 0 and "--period" in refused.output
