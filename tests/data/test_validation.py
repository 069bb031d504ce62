"""The validation gate: each rule catches its own breakage, names it and the rows; bad batches are quarantined."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from lstmops.data.kinds.price_rules import validate_prices
from lstmops.data.kinds.sensor_rules import validate_sensors
from lstmops.data.snapshots import write_snapshot
from lstmops.data.validation import ValidationFailed, ValidationReport, gate, quarantine


def clean_prices(n: int = 20) -> pd.DataFrame:
    close = 100 + np.arange(n, dtype=float)
    return pd.DataFrame(
        {
            "date": pd.bdate_range("2024-01-01", periods=n),
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.full(n, 1e6),
        }
    )


def clean_sensors(n: int = 60) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="5min"),
            "value": np.sin(np.arange(n) / 5.0),
        }
    )


def failed_rules(report: ValidationReport) -> set[str]:
    return {failure.rule for failure in report.failures}


def with_value(frame: pd.DataFrame, row: int, **values: object) -> pd.DataFrame:
    frame = frame.copy()
    for column, value in values.items():
        frame.loc[row, column] = value
    return frame


def swap_rows(frame: pd.DataFrame, a: int, b: int) -> pd.DataFrame:
    order = list(range(len(frame)))
    order[a], order[b] = order[b], order[a]
    return frame.iloc[order].reset_index(drop=True)


def test_clean_frames_pass():
    prices = validate_prices(clean_prices(), source_file="prices.csv")
    sensors = validate_sensors(clean_sensors(), source_file="sensors.csv")

    assert prices.success and prices.failures == [] and prices.rows == 20
    assert sensors.success and sensors.failures == []
    assert prices.gx_result["content"]["success"] is True  # GX's own verdict travels in the report
    assert "passed" in prices.message()


def test_adj_close_and_holiday_weekends_are_fine():
    prices = clean_prices().assign(adj_close=lambda f: f["close"] * 0.9)
    prices = prices.drop(index=[3, 4, 5]).reset_index(drop=True)  # 3 business days missing <= 5

    assert validate_prices(prices, source_file="p.csv").success


PRICES_NOT_POSITIVE = {f"{column}_positive_finite" for column in ("open", "high", "low", "close")}

# Each case breaks one rule; where the data cannot break it alone (a duplicate date is also a
# non-increasing step; high < low puts open or close outside [low, high]) the companions are listed.
PRICE_CASES: list[tuple[str, Callable[[pd.DataFrame], pd.DataFrame], set[str]]] = [
    ("too short", lambda f: f.head(1), {"enough_rows"}),
    ("no volume column", lambda f: f.drop(columns="volume"), {"required_columns"}),
    ("dates as text", lambda f: f.assign(date=f["date"].astype(str)), {"date_type"}),
    ("tz-aware dates", lambda f: f.assign(date=f["date"].dt.tz_localize("UTC")), {"date_type"}),
    ("close as text", lambda f: f.assign(close=f["close"].astype(str)), {"close_type"}),
    ("adj_close as text", lambda f: f.assign(adj_close="n/a"), {"adj_close_type"}),
    ("missing date", lambda f: with_value(f, 7, date=pd.NaT), {"date_not_null"}),
    ("duplicated date", lambda f: with_value(f, 7, date=f["date"][6]), {"date_unique", "date_increasing"}),
    ("swapped rows", lambda f: swap_rows(f, 7, 8), {"date_increasing"}),
    ("six business days missing", lambda f: f.drop(index=range(5, 11)), {"date_gap"}),
    ("missing open", lambda f: with_value(f, 7, open=np.nan), {"open_not_null"}),
    ("missing high", lambda f: with_value(f, 7, high=np.nan), {"high_not_null"}),
    ("missing low", lambda f: with_value(f, 7, low=np.nan), {"low_not_null"}),
    ("missing close", lambda f: with_value(f, 7, close=np.nan), {"close_not_null"}),
    (
        "high below low",
        lambda f: with_value(f, 7, open=10.0, high=9.0, low=10.0, close=10.0),
        {"high_ge_low", "high_ge_open", "high_ge_close"},
    ),
    ("open above high", lambda f: with_value(f, 7, open=12.0, high=11.0, low=9.0, close=10.0), {"high_ge_open"}),
    ("close above high", lambda f: with_value(f, 7, open=10.0, high=11.0, low=9.0, close=12.0), {"high_ge_close"}),
    ("open below low", lambda f: with_value(f, 7, open=8.0, high=11.0, low=9.0, close=10.0), {"open_ge_low"}),
    ("close below low", lambda f: with_value(f, 7, open=10.0, high=11.0, low=9.0, close=8.0), {"close_ge_low"}),
    ("negative volume", lambda f: with_value(f, 7, volume=-1.0), {"volume_non_negative"}),
    ("zero prices", lambda f: with_value(f, 7, open=0.0, high=0.0, low=0.0, close=0.0), PRICES_NOT_POSITIVE),
    (
        "negative prices",
        lambda f: with_value(f, 7, open=-2.0, high=-1.0, low=-3.0, close=-2.0),
        PRICES_NOT_POSITIVE,
    ),
    ("an infinite high", lambda f: with_value(f, 7, high=np.inf), {"high_positive_finite"}),
]


@pytest.mark.faults
@pytest.mark.parametrize(("case", "breakage", "expected"), PRICE_CASES, ids=[c[0] for c in PRICE_CASES])
def test_each_price_rule_is_caught_and_named(case, breakage, expected):
    report = validate_prices(breakage(clean_prices()), source_file="prices.csv")

    assert not report.success
    assert failed_rules(report) == expected
    assert all(f"{rule}:" in report.message() for rule in expected)


SENSOR_CASES: list[tuple[str, Callable[[pd.DataFrame], pd.DataFrame], dict, set[str]]] = [
    ("too short", lambda f: f.head(1), {}, {"enough_rows"}),
    ("no value column", lambda f: f.drop(columns="value"), {}, {"required_columns"}),
    ("tz-aware timestamps", lambda f: f.assign(timestamp=f["timestamp"].dt.tz_localize("UTC")), {}, {"timestamp_type"}),
    ("values as text", lambda f: f.assign(value=f["value"].astype(str)), {}, {"value_type"}),
    ("missing timestamp", lambda f: with_value(f, 9, timestamp=pd.NaT), {}, {"timestamp_not_null"}),
    (
        "duplicated timestamp",
        lambda f: with_value(f, 9, timestamp=f["timestamp"][8]),
        {},
        {"timestamp_unique", "timestamp_increasing"},
    ),
    ("swapped rows", lambda f: swap_rows(f, 9, 10), {}, {"timestamp_increasing"}),
    (
        "sample shifted by half an interval",
        lambda f: with_value(f, 9, timestamp=f["timestamp"][9] + pd.Timedelta("150s")),
        {},
        {"interval_regular"},
    ),
    ("gap of 6 intervals", lambda f: f.drop(index=range(10, 15)), {"max_gap_intervals": 3}, {"interval_gap"}),
    ("infinite value", lambda f: with_value(f, 9, value=np.inf), {}, {"value_finite"}),
    ("2 of 60 values missing", lambda f: with_value(f, [9, 20], value=np.nan), {}, {"value_null_fraction"}),
]


@pytest.mark.parametrize(("case", "breakage", "options", "expected"), SENSOR_CASES, ids=[c[0] for c in SENSOR_CASES])
def test_each_sensor_rule_is_caught_and_named(case, breakage, options, expected):
    report = validate_sensors(breakage(clean_sensors()), source_file="sensors.csv", **options)

    assert not report.success
    assert failed_rules(report) == expected
    assert all(f"{rule}:" in report.message() for rule in expected)


def test_missing_samples_are_gaps_not_irregular_sampling():
    with_gaps = clean_sensors().drop(index=[10, 30, 31, 32]).reset_index(drop=True)
    jittered = clean_sensors().assign(timestamp=lambda f: f["timestamp"] + pd.to_timedelta(np.arange(60) % 2 * 20, "s"))

    assert validate_sensors(with_gaps, source_file="s.csv").success
    assert validate_sensors(jittered, source_file="s.csv", interval_tolerance=0.15).success  # 20 s of 300 s
    assert not validate_sensors(jittered, source_file="s.csv", interval_tolerance=0.1).success


def test_a_small_share_of_missing_values_is_tolerated():
    sensors = with_value(clean_sensors(200), 50, value=np.nan)  # 0.5% <= 1%

    assert validate_sensors(sensors, source_file="s.csv", max_null_fraction=0.01).success


def test_message_names_file_rule_lines_dates_and_values():
    prices = with_value(clean_prices(), 12, high=50.0)  # data row 12 is line 14 of the CSV

    report = validate_prices(prices, source_file="data/raw/prices/csv/DEMO-abc.csv")
    failure = next(f for f in report.failures if f.rule == "high_ge_low")

    assert failure.unexpected_count == 1
    assert failure.examples == [{"line": 14, "date": "2024-01-17", "high": 50.0, "low": 111.0}]
    message = report.message()
    assert message.startswith("data/raw/prices/csv/DEMO-abc.csv failed validation")
    assert "high_ge_low: 1 row(s)" in message
    assert "line 14 (2024-01-17): high=50.0, low=111.0" in message


def test_schema_failures_stop_before_row_rules():
    report = validate_prices(clean_prices().drop(columns=["volume", "low"]), source_file="p.csv")

    assert [f.rule for f in report.failures] == ["required_columns"]
    assert "missing low, volume" in report.failures[0].description
    assert report.gx_result["content"] is None
    assert "checked once the columns and types are right" in report.message()


def test_examples_are_capped_but_the_count_is_complete():
    sensors = clean_sensors().assign(value=np.inf)

    failure = validate_sensors(sensors, source_file="s.csv").failures[0]

    assert failure.unexpected_count == 60
    assert [example["line"] for example in failure.examples] == [2, 3, 4, 5, 6]


def test_report_json_is_strict_json(tmp_path):
    report = validate_sensors(with_value(clean_sensors(), 3, value=np.inf), source_file="s.csv")

    saved = json.loads(report.write_json(tmp_path / "r.json").read_text())

    assert saved["success"] is False
    assert saved["failures"][0]["examples"][0] == {"line": 5, "timestamp": "2024-01-01 00:15:00", "value": "inf"}
    assert saved["gx_result"]["content"]["results"]  # the GX result itself is kept


YAHOO_CSV = """\
Date,Open,High,Low,Close,Adj Close,Volume
2020-01-02,5.97,6.00,5.92,6.00,5.97,237536000
2020-01-03,5.88,5.95,5.85,5.90,5.88,205384000
2020-01-06,5.81,5.93,5.78,5.93,5.90,262636000
2020-01-07,5.95,6.04,5.91,6.00,5.97,314856000
2020-01-08,5.99,6.05,5.95,6.01,5.98,277108000
2020-01-08,6.10,6.28,6.06,6.26,6.23,434696000
2020-01-10,6.28,6.32,6.22,6.27,6.24,396020000
2020-01-13,6.31,6.31,6.61,6.61,6.58,480980000
2020-01-14,6.60,6.62,6.48,6.52,6.49,387116000
"""
YAHOO_TO_CANONICAL = {"Date": "date", "Open": "open", "High": "high", "Low": "low", "Close": "close",
                      "Adj Close": "adj_close", "Volume": "volume"}  # fmt: skip


def test_acceptance_yahoo_file_with_high_below_low_and_duplicate_date_is_quarantined(tmp_path):
    raw = tmp_path / "data" / "raw" / "prices" / "csv" / "NVDA-abc.csv"
    raw.parent.mkdir(parents=True)
    raw.write_text(YAHOO_CSV)
    frame = pd.read_csv(raw, parse_dates=["Date"]).rename(columns=YAHOO_TO_CANONICAL)

    report = validate_prices(frame, source_file=raw)
    with pytest.raises(ValidationFailed) as failed:
        gate(report, raw, tmp_path / "data")

    message = str(failed.value)
    assert str(raw) in message
    assert "date_unique: 2 row(s)" in message and "line 6 (2020-01-08); line 7 (2020-01-08)" in message
    assert "high_ge_low: 1 row(s)" in message and "line 9 (2020-01-13): high=6.31, low=6.61" in message
    assert failed.value.quarantine_dir == tmp_path / "data" / "quarantine" / "prices" / "NVDA-abc"
    assert raw.exists()


def test_quarantine_copies_raw_file_sidecar_and_report(tmp_path):
    frame = with_value(clean_prices(), 4, volume=-5.0)
    raw = write_snapshot(frame, kind="prices", source="demo", series="DEMOA", data_root=tmp_path)
    report = validate_prices(pd.read_csv(raw, parse_dates=["date"]), source_file=raw)

    folder = quarantine(raw, report, tmp_path)

    assert folder == tmp_path / "quarantine" / "prices" / raw.stem
    assert (folder / raw.name).read_bytes() == raw.read_bytes()
    assert (folder / raw.with_suffix(".meta.json").name).exists()
    saved = json.loads((folder / "validation.json").read_text())
    assert [f["rule"] for f in saved["failures"]] == ["volume_non_negative"]
    assert saved["failures"][0]["examples"][0]["line"] == 6
    assert "volume_non_negative" in (folder / "validation.html").read_text()
    assert raw.exists() and raw.with_suffix(".meta.json").exists()  # copied, never moved


def test_gate_lets_a_passing_batch_through_untouched(tmp_path):
    raw = write_snapshot(clean_prices(), kind="prices", source="demo", series="DEMOA", data_root=tmp_path)
    report = validate_prices(pd.read_csv(raw, parse_dates=["date"]), source_file=raw)

    gate(report, raw, tmp_path)

    assert not (tmp_path / "quarantine").exists()


def test_frame_index_does_not_change_line_numbers():
    prices = with_value(clean_prices(), 2, volume=-1.0).set_index("date", drop=False)
    prices.index.name = None

    failure = validate_prices(prices, source_file="p.csv").failures[0]

    assert failure.examples[0]["line"] == 4


@pytest.mark.faults
def test_a_series_shorter_than_the_models_need_is_rejected_with_the_numbers():
    from lstmops.config import load_params
    from lstmops.data.kinds import data_kind

    params = load_params(overrides={"windows.prices.window": 10})
    report = data_kind("prices").validate(clean_prices(12), "NVDA.csv", params)

    assert failed_rules(report) == {"enough_rows"}
    (failure,) = report.failures
    assert "at least 18 rows" in str(report) and "windows.prices.window 10 + 1 bar ahead" in str(report)
    assert "got 12" in failure.description
