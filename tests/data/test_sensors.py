import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstmops.data.prices import IngestError
from lstmops.data.sensors import (
    read_nab,
    read_sensor_csv,
    windows_to_nab_labels,
    windows_to_point_labels,
    write_nab_labels,
)

T = pd.Timestamp


def write_csv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def nab_root(tmp_path: Path) -> Path:
    """A two-group NAB folder: one labelled series, one known-clean, one with no labels entry."""
    rows = "timestamp,value\n2014-04-01 00:00:00,1.0\n2014-04-01 00:05:00,2.0\n2014-04-01 00:10:00,3.5\n"
    write_csv(tmp_path / "data" / "realKnownCause" / "taxi.csv", rows)
    write_csv(tmp_path / "data" / "realKnownCause" / "unlabelled.csv", rows)
    write_csv(tmp_path / "data" / "artificialNoAnomaly" / "flat.csv", rows)
    labels = {
        "realKnownCause/taxi.csv": [["2014-04-01 00:05:00.000000", "2014-04-01 00:10:00.000000"]],
        "artificialNoAnomaly/flat.csv": [],
    }
    write_csv(tmp_path / "labels" / "combined_windows.json", json.dumps(labels))
    return tmp_path


def test_read_sensor_csv_gives_the_canonical_frame_named_after_the_file(tmp_path):
    path = write_csv(tmp_path / "pump.csv", "timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:05,2.5\n")

    series = read_sensor_csv(path)

    assert series.name == "pump"
    assert series.windows is None
    assert series.frame["timestamp"].dtype == "datetime64[ns]"
    assert series.frame["value"].dtype == "float64"
    assert series.frame["value"].tolist() == [1.0, 2.5]


def test_read_sensor_csv_keeps_order_duplicates_and_missing_values_for_validation(tmp_path):
    text = "timestamp,value\n2024-01-01 00:05,1\n2024-01-01 00:00,\n2024-01-01 00:00,3\n"

    frame = read_sensor_csv(write_csv(tmp_path / "s.csv", text)).frame

    assert frame["timestamp"].tolist() == [
        T("2024-01-01 00:05"),
        T("2024-01-01 00:00"),
        T("2024-01-01 00:00"),
    ]
    assert np.isnan(frame["value"].iloc[1])


def test_read_sensor_csv_converts_utc_offsets_to_naive_utc(tmp_path):
    path = write_csv(tmp_path / "s.csv", "timestamp,value\n2024-01-01T02:00:00+02:00,1\n")

    assert read_sensor_csv(path).frame["timestamp"].iloc[0] == T("2024-01-01 00:00")


def test_read_sensor_csv_names_the_file_and_the_missing_column(tmp_path):
    path = write_csv(tmp_path / "s.csv", "time,value\n2024-01-01,1\n")

    with pytest.raises(IngestError, match=r"s\.csv.*missing column.*'timestamp'"):
        read_sensor_csv(path)


def test_read_sensor_csv_names_the_lines_with_bad_timestamps(tmp_path):
    text = "timestamp,value\n2024-01-01,1\nyesterday,2\n2024-01-01 00:10,3\n,4\n"

    with pytest.raises(IngestError, match=r"s\.csv.*timestamp on lines 3, 5 \(2 rows\).*'yesterday'"):
        read_sensor_csv(write_csv(tmp_path / "s.csv", text))


def test_read_sensor_csv_rejects_text_in_the_value_column(tmp_path):
    text = "timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:05,n/a?\n"

    with pytest.raises(IngestError, match=r"non-numeric value on lines 3 .*'n/a\?'"):
        read_sensor_csv(write_csv(tmp_path / "s.csv", text))


def test_read_sensor_csv_rejects_a_file_without_rows(tmp_path):
    with pytest.raises(IngestError, match="no data rows"):
        read_sensor_csv(write_csv(tmp_path / "s.csv", "timestamp,value\n\n"))


def test_read_nab_carries_the_labelled_windows(nab_root):
    series = read_nab(nab_root, "realKnownCause/taxi")

    assert series.name == "realKnownCause/taxi"
    assert len(series.frame) == 3
    assert series.windows == [(T("2014-04-01 00:05"), T("2014-04-01 00:10"))]


def test_read_nab_tells_clean_series_from_unlabelled_ones(nab_root):
    assert read_nab(nab_root, "artificialNoAnomaly/flat.csv").windows == []
    assert read_nab(nab_root, "realKnownCause/unlabelled").windows is None


def test_read_nab_lists_the_group_when_the_series_is_unknown(nab_root):
    message = r"unknown NAB series 'realKnownCause/taxi_x'.*realKnownCause/unlabelled"
    with pytest.raises(IngestError, match=message):
        read_nab(nab_root, "realKnownCause/taxi_x")


def test_read_nab_says_when_the_folder_is_missing_or_not_nabs(tmp_path):
    with pytest.raises(IngestError, match=r"nab: NAB folder not found \(expected NAB's layout: data/<group>/\*\.csv"):
        read_nab(tmp_path / "nab", "realKnownCause/nyc_taxi")
    with pytest.raises(IngestError, match=r"not a NAB folder, it has no data/ folder"):
        read_nab(tmp_path, "realKnownCause/nyc_taxi")


def test_read_nab_lists_the_groups_when_the_group_is_unknown(nab_root):
    with pytest.raises(IngestError, match=r"no group 'realTweets'.*artificialNoAnomaly"):
        read_nab(nab_root, "realTweets/taxi")


def test_written_labels_read_back_as_the_same_windows(nab_root):
    windows = [(T("2014-04-01 00:00"), T("2014-04-01 00:05")), (T("2014-04-01 00:10"), T("2014-04-01 00:10"))]
    labels = windows_to_nab_labels("realKnownCause/taxi", windows)

    write_nab_labels(nab_root / "labels" / "combined_windows.json", labels)

    assert labels == {
        "realKnownCause/taxi.csv": [
            ["2014-04-01 00:00:00.000000", "2014-04-01 00:05:00.000000"],
            ["2014-04-01 00:10:00.000000", "2014-04-01 00:10:00.000000"],
        ]
    }
    assert read_nab(nab_root, "realKnownCause/taxi").windows == windows


def test_point_labels_include_both_window_edges():
    timestamps = pd.date_range("2024-01-01", periods=6, freq="h")
    windows = [(timestamps[1], timestamps[2]), (timestamps[4], timestamps[4])]

    labels = windows_to_point_labels(timestamps, windows)

    assert labels.tolist() == [False, True, True, False, True, False]


def test_point_labels_are_all_false_without_windows():
    timestamps = pd.Series(pd.date_range("2024-01-01", periods=3, freq="h"))

    assert windows_to_point_labels(timestamps, []).tolist() == [False, False, False]
