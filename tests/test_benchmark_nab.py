import json

import numpy as np
import pandas as pd
import pytest

from lstmops.benchmarks.nab import OrionProtocol, aggregate, benchmark_nab, format_table, series_interval
from lstmops.config import load_params
from lstmops.data.sensors import windows_to_nab_labels, write_nab_labels

# Orion's protocol shrunk to test size: same steps, tiny model and budget.
TINY = OrionProtocol(window=12, units=4, epochs=2, patience=1, max_train_windows=64, anomaly_padding=5)


def write_series(root, key: str, values: np.ndarray, freq: str = "5min") -> pd.DatetimeIndex:
    times = pd.date_range("2024-01-01", periods=len(values), freq=freq)
    path = root / "data" / f"{key}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"timestamp": times.strftime("%Y-%m-%d %H:%M:%S"), "value": values}).to_csv(path, index=False)
    return times


@pytest.fixture
def nab_root(tmp_path):
    """Two short series in NAB's layout, each with one labelled spike."""
    rng = np.random.default_rng(0)
    labels = {}
    for name in ("wave_a", "wave_b"):
        values = np.sin(np.arange(400) * 2 * np.pi / 48) + rng.normal(0, 0.05, 400)
        values[300:304] += 6.0
        times = write_series(tmp_path, f"fakeGroup/{name}", values)
        labels |= windows_to_nab_labels(f"fakeGroup/{name}", [(times[290], times[314])])
    write_nab_labels(tmp_path / "labels" / "combined_windows.json", labels)
    return tmp_path


def test_benchmark_writes_the_group_and_series_layout(nab_root, tmp_path):
    params = load_params(overrides={"train.verbose": 0})
    out = tmp_path / "bench" / "nab.json"
    result = benchmark_nab(nab_root, ["fakeGroup"], params, out, progress=False, protocol=TINY)

    assert json.loads(out.read_text()) == result
    assert set(result) == {"groups", "series"}
    assert set(result["groups"]["fakeGroup"]) == {"f1", "precision", "recall", "tp", "fp", "fn"}
    assert [row["name"] for row in result["series"]] == ["wave_a", "wave_b"]
    for row in result["series"]:
        assert set(row) == {"name", "group", "f1", "tp", "fp", "fn", "seconds"}
        assert row["group"] == "fakeGroup" and row["tp"] + row["fn"] == 1 and row["seconds"] > 0
    pooled = result["groups"]["fakeGroup"]
    assert pooled["tp"] == sum(row["tp"] for row in result["series"])
    assert pooled["fp"] == sum(row["fp"] for row in result["series"])


def test_an_unknown_group_names_the_groups_found(nab_root, tmp_path):
    with pytest.raises(FileNotFoundError, match="fakeGroup"):
        benchmark_nab(nab_root, ["realTweets"], load_params(), tmp_path / "x.json", progress=False, protocol=TINY)


def test_aggregation_averages_bins_from_the_first_timestamp_and_imputes_the_mean():
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:05", "2024-01-01 00:25"]),
            "value": [1.0, 3.0, 8.0],
        }
    )
    signal = aggregate(frame, 600)
    assert signal["timestamp"].tolist() == list(
        pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:10", "2024-01-01 00:20"])
    )
    assert signal["value"].tolist() == [2.0, 5.0, 8.0]  # the empty middle bin gets the mean of (2, 8)


def test_bins_are_never_finer_than_the_sampling():
    hourly = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=5, freq="h"), "value": 1.0})
    assert series_interval(hourly, "realKnownCause", OrionProtocol()) == 3600
    assert series_interval(hourly.iloc[:0], "realAdExchange", OrionProtocol()) == 3600
    five_minutes = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=5, freq="5min"), "value": 1.0})
    assert series_interval(five_minutes, "artificialWithAnomaly", OrionProtocol()) == 600


def test_the_table_puts_orion_beside_ours_and_dashes_where_orion_has_no_number():
    result = {
        "groups": {
            "artificialWithAnomaly": {"f1": 0.5, "precision": 0.5, "recall": 0.5, "tp": 3, "fp": 3, "fn": 3},
            "realKnownCause": {"f1": 0.4, "precision": 0.4, "recall": 0.4, "tp": 2, "fp": 3, "fn": 3},
        },
        "series": [
            {"name": "a", "group": "artificialWithAnomaly", "f1": 0.5, "tp": 3, "fp": 3, "fn": 3, "seconds": 12.0}
        ],
    }
    lines = format_table(result).splitlines()
    artificial = next(line for line in lines if line.startswith("artificialWithAnomaly"))
    known_cause = next(line for line in lines if line.startswith("realKnownCause"))
    assert "0.545" in artificial and "0.750" in artificial
    assert known_cause.split()[-3:-1] == ["-", "-"]
