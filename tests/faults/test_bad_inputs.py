"""Bad input refused or repaired in one line naming the file, the rule and the rows (issue 31, Why 7-8)."""

from __future__ import annotations

import pytest

from lstmops.data.prices import IngestError, read_yahoo_csv

pytestmark = pytest.mark.faults


def test_price_dates_spanning_a_dst_change_ingest_and_keep_their_trading_day(tmp_path):
    path = tmp_path / "DST.csv"  # New York's clocks moved on 2024-03-10: the offset changes mid-file
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        "2024-03-08 00:00:00-05:00,10,11,9,10.5,100\n"
        "2024-03-11 00:00:00-04:00,10.5,11.5,10,11,120\n"
        "2024-03-12T09:30:00.5-0400,11,12,10.5,11.5,130\n"
        "2024-03-13 00:00:00Z,11,12,10.5,11.5,130\n"
        "2024-03-14,11,12,10.5,11.5,130\n"
    )

    frame = read_yahoo_csv(path)

    assert frame["date"].dt.tz is None
    assert [str(day.date()) for day in frame["date"]] == [
        "2024-03-08",
        "2024-03-11",
        "2024-03-12",
        "2024-03-13",
        "2024-03-14",
    ]


def test_an_unparseable_price_date_names_the_file_and_its_lines(tmp_path):
    path = tmp_path / "BAD.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        "2024-03-08 00:00:00-05:00,10,11,9,10.5,100\n"
        "next tuesday,10.5,11.5,10,11,120\n"
        "2024-03-12 00:00:00-04:00,11,12,10.5,11.5,130\n"
    )

    with pytest.raises(IngestError) as refused:
        read_yahoo_csv(path)
    assert str(refused.value) == f"{path}: missing or unparseable Date on lines 3 (1 rows): 'next tuesday'"


def test_a_four_month_gap_in_a_five_minute_sensor_series_fails_validation_naming_the_row():
    import pandas as pd

    from lstmops.config import Params
    from lstmops.data.kinds import data_kind

    times = pd.date_range("2024-01-01", periods=2000, freq="5min")
    times = times.append(pd.date_range(times[-1] + pd.DateOffset(months=4), periods=2000, freq="5min"))
    frame = pd.DataFrame({"timestamp": times, "value": [float(i % 7) for i in range(len(times))]})

    report = data_kind("sensors").validate(frame, "machine_a.csv", Params())

    assert not report.success
    [failure] = report.failures
    assert failure.rule == "interval_gap" and failure.unexpected_count == 1
    assert "machine_a.csv failed validation" in report.message()
    assert "interval_gap: 1 row(s) break 'no interval longer than 1000 median intervals'" in report.message()


@pytest.mark.parametrize("value", ["true", "30.0"])
def test_a_count_given_as_a_boolean_or_fraction_is_refused_not_coerced(value, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from lstmops.cli.main import app

    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["train", "forecaster", "--set", f"train.epochs={value}"])

    assert done.exit_code != 0 and isinstance(done.exception, SystemExit), done.output
    [line] = done.output.strip().splitlines()
    assert line.startswith("ERROR: --set train.epochs=") and line.endswith("Input should be a valid integer")
    assert not (tmp_path / "data").exists()  # refused before anything was read or trained


def test_a_300_character_ticker_is_refused_in_one_line_before_anything_is_written(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from lstmops.cli.main import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LSTMOPS_DEBUG", raising=False)
    ticker = "A" * 300

    by_option = CliRunner().invoke(app, ["ingest", "prices", "--source", "demo", "--ticker", ticker])
    (tmp_path / "params.yaml").write_text(f'prices:\n  tickers: ["{ticker}"]\n')
    by_file = CliRunner().invoke(app, ["ingest", "prices", "--source", "demo"])

    for done, origin in ((by_option, "ERROR: --ticker 'AAAA"), (by_file, "ERROR: params.yaml: invalid parameters")):
        assert done.exit_code != 0 and isinstance(done.exception, SystemExit), done.output
        [line] = [line for line in done.output.splitlines() if line.startswith("ERROR")]
        assert line.startswith(origin) and "Traceback" not in done.output, done.output
        assert "a series name is at most 100 characters, this one has 300" in line
        assert ticker not in line  # named, not echoed whole
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("name", ["../../x", "/etc/x", "a\tb", "a\\b", ""])
def test_a_series_name_that_would_leave_its_folder_is_refused(name):
    from lstmops.config import ConfigError, load_params

    with pytest.raises(ConfigError, match="sensors.series.0: Value error, a series name"):
        load_params(overrides={"sensors.series": [name]})


def test_a_window_longer_than_the_data_is_refused_before_a_run_opens(place, instant_task, monkeypatch):
    import mlflow
    import yaml
    from typer.testing import CliRunner

    from lstmops.cli.main import app

    params_file = place.root / "params.yaml"
    params_file.write_text(yaml.safe_dump(place.params.model_dump(mode="json")))
    rows = len(place.series.prepared.features) + 1  # the validated file's rows, at most this

    done = CliRunner().invoke(
        app, ["train", "forecaster", "--params", str(params_file), "--set", f"windows.prices.window={rows}"]
    )

    assert done.exit_code == 1 and isinstance(done.exception, SystemExit), done.output
    [line] = [line for line in done.output.splitlines() if line.startswith("ERROR")]
    assert (
        line.startswith("ERROR: forecaster DEMOA (")
        and " validated rows, but the configured windows need at least " in line
    )
    assert f"windows.prices.window {rows} + 1 bar ahead" in line and "enough_rows" in line, line
    assert mlflow.search_runs(search_all_experiments=True, output_format="list") == []  # no run was opened
