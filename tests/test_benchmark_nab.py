import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from lstmops.benchmarks import nab, nab_speed
from lstmops.benchmarks.autoencoder_scores import parse_rule, parse_rules
from lstmops.benchmarks.nab import (
    PROTOCOLS,
    NabProtocol,
    aggregate,
    benchmark_nab,
    format_table,
    series_interval,
)
from lstmops.cli.main import app
from lstmops.config import load_params
from lstmops.data.sensors import windows_to_nab_labels, write_nab_labels
from lstmops.evaluate import anomalies

# The protocols shrunk to test size: same steps and budget rules, a tiny model.
TINY_SIZE = {"window": 12, "units": 4, "epochs": 2, "patience": 1, "anomaly_padding": 5}
TINY = NabProtocol(max_train_windows=64, **TINY_SIZE)
TINY_ORION = dataclasses.replace(PROTOCOLS["orion"], **TINY_SIZE)


def write_series(root, key: str, values: np.ndarray, freq: str = "5min") -> pd.DatetimeIndex:
    times = pd.date_range("2024-01-01", periods=len(values), freq=freq)
    path = root / "data" / f"{key}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"timestamp": times.strftime("%Y-%m-%d %H:%M:%S"), "value": values}).to_csv(path, index=False)
    return times


def write_group(root, group: str, names, freq: str = "5min") -> None:
    """Short series in NAB's layout, each with one labelled spike; labels merged into the root's file."""
    rng = np.random.default_rng(0)
    labels_file = root / "labels" / "combined_windows.json"
    labels = json.loads(labels_file.read_text()) if labels_file.exists() else {}
    for name in names:
        values = np.sin(np.arange(400) * 2 * np.pi / 48) + rng.normal(0, 0.05, 400)
        values[300:304] += 6.0
        times = write_series(root, f"{group}/{name}", values, freq)
        labels |= windows_to_nab_labels(f"{group}/{name}", [(times[290], times[314])])
    write_nab_labels(labels_file, labels)


@pytest.fixture
def nab_root(tmp_path):
    """Two short series in NAB's layout, each with one labelled spike."""
    write_group(tmp_path, "fakeGroup", ("wave_a", "wave_b"))
    return tmp_path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The fake group benchmarked once under the tiny lstmops protocol: (params, result JSON path, result)."""
    root = tmp_path_factory.mktemp("nab")
    write_group(root, "fakeGroup", ("wave_a", "wave_b"))
    params = load_params(overrides={"train.verbose": 0})
    out = root / "bench" / "nab.json"
    return params, out, benchmark_nab(root, ["fakeGroup"], params, out, progress=False, protocol=TINY)


def test_benchmark_writes_the_group_and_series_layout(tiny_run):
    params, out, result = tiny_run

    assert json.loads(out.read_text()) == result
    assert result["complete"] and result["seeds"] == [params.train.seed] and result["unscored"] == {}
    assert result["protocol"]["name"] == "lstmops" and result["protocol"]["max_train_windows"] == 64
    assert result["detector"]["name"] == "lstm_ae"
    assert [row["name"] for row in result["series"]] == ["wave_a", "wave_b"]
    for row in result["series"]:
        assert set(row) == {"name", "group", "seed", "f1", "tp", "fp", "fn", "points", "epochs", "seconds"}
        assert row["group"] == "fakeGroup" and row["tp"] + row["fn"] == 1 and row["seconds"] > 0
    group = result["groups"]["fakeGroup"]
    (run,) = group["runs"]
    assert run["tp"] == sum(row["tp"] for row in result["series"])
    assert run["fp"] == sum(row["fp"] for row in result["series"])
    assert group["f1"] == {"mean": run["f1"], "min": run["f1"], "max": run["f1"]}


def test_the_benchmark_draws_every_series_and_indexes_the_figures_in_a_page(tiny_run):
    params, out, result = tiny_run
    seed = params.train.seed

    page = out.with_name("nab.html").read_text()
    run = result["groups"]["fakeGroup"]["runs"][0]
    assert f"<td>{run['f1']:.3f}</td>" in page and f"{run['tp']}/{run['fp']}/{run['fn']}" in page
    figures = re.findall(r"<a href='([^']+)'><img src='\1'", page)
    assert figures == [f"nab_figures/fakeGroup/wave_a_seed{seed}.png", f"nab_figures/fakeGroup/wave_b_seed{seed}.png"]
    for row, figure in zip(result["series"], figures, strict=True):
        assert (
            f"<td class='name'>{row['name']}</td><td class='seed'>tp {row['tp']} fp {row['fp']} fn {row['fn']}," in page
        )
        with Image.open(out.parent / figure) as image:
            assert image.format == "PNG" and image.width > 1000
            image.verify()


def test_two_seeds_report_the_spread_of_f1_and_each_seeds_counts(nab_root, tmp_path):
    params = load_params(overrides={"train.verbose": 0, "train.seed": 7})
    result = benchmark_nab(
        nab_root, ["fakeGroup"], params, tmp_path / "nab.json", progress=False, protocol=TINY, seeds=2
    )

    assert result["seeds"] == [7, 8]
    assert [(row["seed"], row["name"]) for row in result["series"]] == [
        (7, "wave_a"),
        (7, "wave_b"),
        (8, "wave_a"),
        (8, "wave_b"),
    ]
    group = result["groups"]["fakeGroup"]
    assert [(run["seed"], run["series"]) for run in group["runs"]] == [(7, 2), (8, 2)]
    for run in group["runs"]:
        rows = [row for row in result["series"] if row["seed"] == run["seed"]]
        assert (run["tp"], run["fp"], run["fn"]) == tuple(sum(row[n] for row in rows) for n in ("tp", "fp", "fn"))
    f1 = [run["f1"] for run in group["runs"]]
    assert group["f1"] == {"mean": sum(f1) / 2, "min": min(f1), "max": max(f1)}
    assert group["pooled"]["tp"] == sum(run["tp"] for run in group["runs"])
    table = format_table(result)
    assert "detector lstm_ae, seeds [7, 8]" in table
    counts = " ".join(f"{run['tp']}/{run['fp']}/{run['fn']}" for run in group["runs"])
    assert counts in next(line for line in table.splitlines() if line.startswith("fakeGroup"))


def test_the_orion_protocol_trains_on_every_window_in_batches_of_64_and_prunes_at_13_percent(
    nab_root, tmp_path, monkeypatch
):
    fits, prunings = [], []
    build = nab.build_autoencoder

    def recording_build(*args, **kwargs):
        model = build(*args, **kwargs)
        fit = model.fit

        def recording_fit(x, y, **options):
            fits.append((len(x), options["batch_size"]))
            return fit(x, y, **options)

        model.fit = recording_fit
        return model

    find = anomalies.find_anomalies_orion

    def recording_find(*args, **kwargs):
        prunings.append(kwargs["min_percent"])
        return find(*args, **kwargs)

    monkeypatch.setattr(nab, "build_autoencoder", recording_build)
    monkeypatch.setattr(anomalies, "find_anomalies_orion", recording_find)
    params = load_params(overrides={"train.verbose": 0})
    benchmark_nab(nab_root, ["fakeGroup"], params, tmp_path / "orion.json", progress=False, protocol=TINY_ORION)
    benchmark_nab(nab_root, ["fakeGroup"], params, tmp_path / "lstmops.json", progress=False, protocol=TINY)

    # 400 five-minute points -> 200 ten-minute bins -> 189 windows of 12; Keras' validation split
    # holds out the last 37 (20 %), leaving 152 to train on. The lstmops budget strides them to 64.
    assert fits == [(152, 64), (152, 64), (51, 16), (51, 16)]
    assert prunings == [0.13, 0.13, 0.1, 0.1]


def test_the_seasonal_detector_finds_a_missing_daily_peak_end_to_end(tmp_path):
    """Ten days of a daily square wave (hourly, so the benchmark's bins are the points) with one day's
    peak missing: the reconstruction of a window shorter than the day copies the flat day, the
    seasonal term does not."""
    hours = np.arange(24 * 10)
    values = np.where(hours % 24 < 10, 1.0, 0.0) + np.random.default_rng(1).normal(0, 0.02, len(hours))
    values[24 * 6 : 24 * 6 + 10] = 0.0
    times = write_series(tmp_path, "dailyGroup/no_peak", values, freq="1h")
    write_nab_labels(
        tmp_path / "labels" / "combined_windows.json",
        windows_to_nab_labels("dailyGroup/no_peak", [(times[24 * 6 - 4], times[24 * 6 + 14])]),
    )
    params = load_params(overrides={"train.verbose": 0})

    result = benchmark_nab(
        tmp_path,
        ["dailyGroup"],
        params,
        tmp_path / "seasonal.json",
        progress=False,
        protocol=TINY,
        detector=nab.DETECTORS["seasonal_ae"],
    )

    assert result["detector"] == {
        "name": "seasonal_ae",
        "seasonal": True,
        "min_autocorrelation": nab.DETECTORS["seasonal_ae"].min_autocorrelation,
        "prominence": nab.DETECTORS["seasonal_ae"].prominence,
        "whole_series_window": False,
        "product": False,
    }
    (row,) = result["series"]
    assert (row["tp"], row["fp"], row["fn"]) == (1, 0, 0)


# The product's detector at test size: what `lstmops train autoencoder` trains with these params.
TINY_PRODUCT = {
    "train.verbose": 0,
    "train.epochs": 2,
    "windows.sensors.window": 12,
    "models.autoencoder.units": 4,
    "models.autoencoder.evaluation.injected.copies": 2,
    "models.autoencoder.evaluation.injected.events": 1,
}


def test_the_product_detector_is_judged_on_the_labels_and_on_injected_anomalies(tmp_path):
    root = tmp_path / "nab"
    write_group(root, "fakeGroup", ("wave_a", "wave_b"))
    write_series(root, "fakeGroup/too_short", np.zeros(30))
    write_nab_labels(
        root / "labels" / "combined_windows.json",
        json.loads((root / "labels" / "combined_windows.json").read_text()) | {"fakeGroup/too_short.csv": []},
    )
    out = tmp_path / "product.json"
    params = load_params(overrides=TINY_PRODUCT)

    result = benchmark_nab(root, ["fakeGroup"], params, out, progress=False, detector=nab.DETECTORS["product"])

    rows = {row["name"]: row for row in result["series"]}
    assert rows["too_short"]["refused"] and rows["too_short"]["fn"] == 0  # it has no labelled window to miss
    for name in ("wave_a", "wave_b"):
        assert rows[name]["points"] == 400  # the raw rows: the product does not aggregate
        assert set(rows[name]["f1_labels"]) == set(rows[name]["f1_injected"]) == {"product", "reconstruction", "zscore"}
        assert (rows[name]["tp"] + rows[name]["fn"]) == 1
    agreement = result["rank_agreement"]
    assert agreement["series"] == 2
    assert set(agreement["mean_f1"]["f1_labels"]) == {"product", "reconstruction", "zscore"}
    table = format_table(result)
    assert "refused by the product: fakeGroup/too_short" in table
    assert "injected-anomaly F1 vs labelled F1" in table
    assert len(list(out.parent.glob("product_figures/**/*.png"))) == 2  # the refused series has nothing to draw


def test_threshold_rules_are_judged_on_the_same_trainings_and_the_configured_one_reproduces_the_product(tmp_path):
    root = tmp_path / "nab"
    write_group(root, "fakeGroup", ("wave_a",))
    params = load_params(overrides=TINY_PRODUCT | {"models.autoencoder.threshold_k": 8.0})
    rules = parse_rules("mean_std:8,max")

    result = benchmark_nab(
        root,
        ["fakeGroup"],
        params,
        tmp_path / "rules.json",
        progress=False,
        detector=nab.DETECTORS["product"],
        rules=rules,
    )

    (row,) = result["series"]
    product = {count: row[count] for count in ("tp", "fp", "fn")}
    assert row["rules"]["mean_std:8"] == product  # the configured rule, fitted again: the same flags
    assert row["rules"]["max"]["tp"] + row["rules"]["max"]["fn"] == 1  # the one labelled window, found or missed
    assert set(result["rules"]["fakeGroup"]) == {"mean_std:8", "max"}
    assert result["rules"]["fakeGroup"]["mean_std:8"]["pooled"] == result["groups"]["fakeGroup"]["pooled"]
    assert "fakeGroup, the same trainings under each threshold rule" in format_table(result)


def test_threshold_rules_need_the_products_detector(nab_root, tmp_path):
    with pytest.raises(ValueError, match="product's detector only"):
        benchmark_nab(
            nab_root, ["fakeGroup"], load_params(), tmp_path / "x.json", progress=False, rules=parse_rules("max")
        )


def test_the_whole_series_window_finds_an_anomaly_as_wide_as_a_tenth_of_orions_windows():
    # 3,000 errors: Orion's windows hold 990 and step by 99, so a plateau of one step is a tenth of
    # every window that sees it and lifts their mean + 4 std above itself; over the whole series it
    # is 3 % of the errors and stands out.
    errors = np.random.default_rng(0).uniform(0.0, 0.05, 3000)
    errors[1980:2079] = 1.0
    signal = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=3000, freq="10min"), "value": errors})

    def found(detector):
        detected = nab.detect_from_errors(signal, errors, errors, NabProtocol(), detector, epochs=1)
        return [(start, end) for start, end, _ in detected.detections]

    assert found(nab.Detector()) == []
    ((start, end),) = found(nab.Detector(whole_series_window=True))
    assert start <= signal["timestamp"][1980] and end >= signal["timestamp"][2078]


def test_the_orion_protocol_scores_the_realadexchange_series_orion_scored(tmp_path):
    write_group(tmp_path, "realAdExchange", ("exchange-2_cpc_results", "exchange-4_cpc_results"), freq="1h")
    params = load_params(overrides={"train.verbose": 0})

    orion = benchmark_nab(
        tmp_path, ["realAdExchange"], params, tmp_path / "o.json", progress=False, protocol=TINY_ORION
    )

    assert [row["name"] for row in orion["series"]] == ["exchange-2_cpc_results"]
    assert orion["unscored"] == {"realAdExchange": ["exchange-4_cpc_results"]}
    assert orion["protocol"]["unscored_series"] == {"realAdExchange": ["exchange-4_cpc_results"]}


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
    assert series_interval(hourly, "realKnownCause", NabProtocol()) == 3600
    assert series_interval(hourly.iloc[:0], "realAdExchange", NabProtocol()) == 3600
    five_minutes = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=5, freq="5min"), "value": 1.0})
    assert series_interval(five_minutes, "artificialWithAnomaly", NabProtocol()) == 600


def test_the_table_puts_orion_lstm_ae_beside_orions_best_pipeline_for_the_group():
    def run(seed, f1, tp, fp, fn):
        return {"seed": seed, "f1": f1, "precision": 0.5, "recall": 0.5, "tp": tp, "fp": fp, "fn": fn}

    runs = [run(1, 0.5, 3, 3, 3), run(2, 0.6, 3, 1, 3)]
    result = {
        "protocol": {"name": "orion"},
        "detector": {"name": "lstm_ae"},
        "seeds": [1, 2],
        "groups": {
            group: {"f1": {"mean": 0.55, "min": 0.5, "max": 0.6}, "pooled": runs[0], "runs": runs}
            for group in ("realAdExchange", "realKnownCause")
        },
        "series": [
            {"name": "a", "group": group, "seed": seed, "f1": 0.5, "tp": 3, "fp": 3, "fn": 3, "seconds": 12.0}
            for group in ("realAdExchange", "realKnownCause")
            for seed in (1, 2)
        ],
    }
    lines = format_table(result).splitlines()
    assert lines[0] == "protocol orion, detector lstm_ae, seeds [1, 2]"
    ad_exchange = next(line for line in lines if line.startswith("realAdExchange")).split()
    known_cause = next(line for line in lines if line.startswith("realKnownCause")).split()
    assert ad_exchange[1:7] == ["1", "0.550", "0.500", "0.600", "3/3/3", "3/1/3"]
    assert ad_exchange[7:] == ["0.720", "0.783", "TimesFM", "12"]
    assert known_cause[7:] == ["-", "-", "12"]


# ---------------------------------------------------------------- lstmops benchmark autoencoder-scores

DAY = 48  # rows per day of the half-hourly cycle in `flat_day_nab`


def flat_day_nab(root: Path) -> None:
    """NAB's layout under `root`: a half-hourly daily cycle whose day 20 is flat, labelled, in group
    `cycles`, and a copy with an off-grid timestamp that the product's validation refuses."""
    rows = 25 * DAY
    values = np.sin(2 * np.pi * np.arange(rows) / DAY) + np.random.default_rng(0).normal(0, 0.05, rows)
    values[20 * DAY : 21 * DAY] = 0.0
    timestamps = pd.date_range("2024-01-01", periods=rows, freq="30min")
    (root / "data" / "cycles").mkdir(parents=True)
    (root / "labels").mkdir()
    pd.DataFrame({"timestamp": timestamps, "value": values}).to_csv(
        root / "data" / "cycles" / "flat_day.csv", index=False
    )
    off_grid = timestamps.insert(100, timestamps[99] + pd.Timedelta("1min"))[:rows]  # an interval the product refuses
    pd.DataFrame({"timestamp": off_grid, "value": values}).to_csv(
        root / "data" / "cycles" / "off_grid.csv", index=False
    )
    window = [str(timestamps[20 * DAY]), str(timestamps[21 * DAY - 1])]
    labels = {"cycles/flat_day.csv": [window], "cycles/off_grid.csv": [window]}
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels))


TINY_AUTOENCODER = [
    "--set",
    "windows.sensors.window=16",
    "--set",
    "train.epochs=2",
    "--set",
    "models.autoencoder.units=4",
]
NAB_SPLIT = ["--set", "windows.split.train=0.5", "--set", "windows.split.test=0.35"]


def autoencoder_scores(root: Path, out: Path, *options: str) -> dict:
    """`lstmops benchmark autoencoder-scores` on the group `cycles` under `root`, tiny; its result JSON."""
    command = ["benchmark", "autoencoder-scores", "--root", str(root), "--groups", "cycles", "--out", str(out)]
    result = CliRunner().invoke(app, [*command, *options, *TINY_AUTOENCODER, *NAB_SPLIT])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def test_autoencoder_scores_trains_once_and_scores_both_anomaly_scores_on_a_nab_folder(tmp_path):
    """Both scores on the flat day; the off-grid copy fails the product's validation and is left out."""
    flat_day_nab(tmp_path)

    result = autoencoder_scores(tmp_path, tmp_path / "scores.json", "--seeds", "1", "--set", "train.seed=42")

    assert list(result["rejected"]) == ["cycles/off_grid"]  # left out as the product would quarantine it
    assert "cycles/off_grid failed validation" in result["rejected"]["cycles/off_grid"]
    assert "interval_regular" in result["rejected"]["cycles/off_grid"]
    (row,) = result["series"]
    assert (row["series"], row["seed"], row["period"]) == ("cycles/flat_day", 42, DAY)
    for score in ("reconstruction", "seasonal", "zscore"):
        assert row[f"{score}_tp"] + row[f"{score}_fn"] == 1  # the flat day lies in the scored part
        (run,) = result["groups"]["cycles"][score]["runs"]
        assert run["tp"] == row[f"{score}_tp"] and run["fp"] == row[f"{score}_fp"]


def test_autoencoder_scores_reads_threshold_rules_as_the_product_configures_them():
    assert parse_rule("mean_std:6") == ("mean_std", {"k": 6.0})
    assert parse_rule("percentile:99.9") == ("percentile", {"q": 99.9})
    assert parse_rule("max") == ("max", {})
    for wrong in ("mean_std", "max:3", "median:2", "mean_std:six"):
        with pytest.raises(ValueError, match="is not one of mean_std:K, percentile:Q, max"):
            parse_rule(wrong)
    # the command says so in one line, before it reads or trains anything
    result = CliRunner().invoke(app, ["benchmark", "autoencoder-scores", "--demo", "--rules", "max:3", "--out", "x"])
    assert result.exit_code == 1
    assert result.output.strip() == "ERROR: --rules: 'max:3' is not one of mean_std:K, percentile:Q, max"


def test_autoencoder_scores_compares_threshold_rules_on_one_training_with_the_z_score_under_each(tmp_path):
    flat_day_nab(tmp_path)

    result = autoencoder_scores(tmp_path, tmp_path / "scores.json", "--rules", "mean_std:4,max")

    assert list(result["groups"]["cycles"]) == [
        "reconstruction mean_std:4",
        "reconstruction max",
        "seasonal mean_std:4",
        "seasonal max",
        "zscore mean_std:4",
        "zscore max",
    ]
    (row,) = result["series"]  # one training for all of them
    for name in result["groups"]["cycles"]:
        assert row[f"{name}_tp"] + row[f"{name}_fn"] == 1


# ---------------------------------------------------------------- lstmops benchmark nab-speed


@pytest.mark.timeout(300)
def test_nab_speed_times_lstmops_benchmark_nab_on_a_synthetic_series_in_a_process_of_its_own(tmp_path):
    """The timing path end to end, tiny: one synthetic series, one epoch (no timing asserted)."""
    out = tmp_path / "speed.json"
    tiny = ["--set", "train.epochs=1", "--set", "windows.sensors.window=16", "--set", "models.autoencoder.units=4"]

    result = CliRunner().invoke(
        app, ["benchmark", "nab-speed", "--series", "1", "--bins", "1000", *tiny, "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    assert "NAB product (lstmops), 1 series of 1000 bins:" in result.output
    speed = json.loads(out.read_text())
    assert (speed["series"], speed["bins"], speed["epochs"]) == (1, 1000, [1])
    assert speed["seconds_first_series_cold_cache"] == speed["seconds_per_series"]["max"] > 0
    assert speed["target_s_per_series"] == nab_speed.TARGET_S_PER_SERIES["product"]


def test_nab_speed_says_in_one_line_why_a_series_could_not_be_timed(tmp_path):
    command = ["benchmark", "nab-speed", "--out", str(tmp_path / "speed.json")]

    result = CliRunner().invoke(app, [*command, "--bins", "50"])
    assert result.exit_code == 1
    assert result.output.strip() == "ERROR: demo sensor 'machine_0': n_points must be >= 100, got 50"

    result = CliRunner().invoke(app, [*command, "--detector", "aer"])
    assert result.exit_code == 1 and result.output.strip().startswith("ERROR: --detector 'aer': unknown detector")
    assert not (tmp_path / "speed.json").exists()
