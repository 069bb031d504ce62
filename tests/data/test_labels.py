"""A user's labels for a sensor series: the labels CSV beside the data and `lstmops label` (issue 29)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from lstmops.cli.main import app
from lstmops.config import load_params
from lstmops.data.labels import Label, LabelsError, labels_path, merged_windows, read_labels
from lstmops.data.prepare import prepare_all
from lstmops.tasks.autoencoder.judged import judgement

runner = CliRunner()
T = pd.Timestamp
FIRST, LAST = T("2024-01-01"), T("2024-01-31")


def write(path, text):
    path.write_text(text)
    return path


def test_a_labels_file_is_read_with_its_normal_windows(tmp_path):
    path = write(
        tmp_path / "pump.csv",
        "start,end,anomaly\n2024-01-02,2024-01-03,true\n\n2024-01-05 10:00,2024-01-05 12:00,false\n",
    )
    labels = read_labels(path, FIRST, LAST)
    assert [(label.start, label.end, label.anomaly, label.line) for label in labels] == [
        (T("2024-01-02"), T("2024-01-03"), True, 2),
        (T("2024-01-05 10:00"), T("2024-01-05 12:00"), False, 4),
    ]
    assert read_labels(write(tmp_path / "two.csv", "start,end\n2024-01-02,2024-01-03\n"), FIRST, LAST)[0].anomaly


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "2024-01-02,2024-01-03\n2024-01-09,2024-01-08\n",
            "line 3: the window ends (2024-01-08 00:00:00) before it starts",
        ),
        ("2024-01-02,2024-01-03\n2024-01-30,2024-02-02\n", "line 3: the window 2024-01-30 00:00:00 .. 2024-02-02"),
        ("2024-01-02,2024-01-05\n2024-01-10,2024-01-11\n2024-01-04,2024-01-06\n", "line 4: the window 2024-01-04"),
        ("2024-01-02,yesterday\n", "line 2: 'yesterday' is not a timestamp"),
        ("2024-01-02,2024-01-03,maybe\n", "line 2: anomaly must be true or false, got 'maybe'"),
    ],
)
def test_a_bad_labels_file_is_refused_with_the_line_number(tmp_path, body, message):
    path = write(tmp_path / "pump.csv", "start,end\n" + body)
    with pytest.raises(LabelsError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        read_labels(path, FIRST, LAST)
    if "overlap" in message or "line 4" in message:
        with pytest.raises(LabelsError, match="overlaps line 2"):
            read_labels(path, FIRST, LAST)


def test_a_normal_window_removes_the_source_windows_it_overlaps_and_anomalies_are_added():
    source = [(T("2024-01-02"), T("2024-01-03")), (T("2024-01-10"), T("2024-01-11"))]
    labels = [
        Label(T("2024-01-10 06:00"), T("2024-01-10 07:00"), False, 2),
        Label(T("2024-01-20"), T("2024-01-21"), True, 3),
    ]
    assert merged_windows(source, labels) == [(T("2024-01-02"), T("2024-01-03")), (T("2024-01-20"), T("2024-01-21"))]
    assert merged_windows(None, labels[:1]) == []  # a file of normal windows only: labels known, none anomalous


DAY = 48


@pytest.fixture
def pump(tmp_path, monkeypatch):
    """A project folder (params.yaml, data under ./data) with an unlabelled pump.csv ingested."""
    monkeypatch.chdir(tmp_path)
    # Validation asks for the seq2seq's history too: short seasons keep a month of half-hours enough.
    params = load_params(overrides={"models.seq2seq.seasons": [48, 288], "windows.sensors.window": 16})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params.model_dump(mode="json")))
    rows = 30 * DAY
    pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=rows, freq="30min").strftime("%Y-%m-%d %H:%M:%S"),
            "value": np.sin(2 * np.pi * np.arange(rows) / DAY),
        }
    ).to_csv("pump.csv", index=False)
    result = runner.invoke(app, ["ingest", "sensors", "--source", "csv", "--path", "pump.csv"])
    assert result.exit_code == 0, result.output
    return tmp_path


def label(*args: str):
    return runner.invoke(app, ["label", *args, "--source", "csv"])


def error_line(result) -> str:
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    [line] = [text for text in result.output.splitlines() if text.startswith("ERROR")]
    return line


def test_label_writes_the_labels_file_and_the_next_preparation_judges_on_the_labels(pump):
    # Four anomalies inside the test part (its last 15 %: from day 26, noon) and one rejected detection.
    for day in (27, 28, 29, 30):
        done = label("pump", "--start", f"2024-01-{day:02d} 03:00", "--end", f"2024-01-{day:02d} 04:00")
        assert done.exit_code == 0, done.output
    rejected = label("pump", "--start", "2024-01-29 12:00", "--end", "2024-01-29 13:00", "--not-anomaly")
    assert rejected.exit_code == 0 and "labelled normal (not an anomaly); 5 label(s)" in rejected.output

    path = labels_path(pump / "data", "sensors", "csv", "pump")
    assert path.read_text().splitlines()[0] == "start,end,anomaly"
    assert path.read_text().splitlines()[-1] == "2024-01-29T12:00:00,2024-01-29T13:00:00,false"
    params = load_params("params.yaml", {"sensors.source": "csv"})
    [prepared] = prepare_all(params, "sensors", "csv")
    assert len(prepared.card["labels"]) == 4 and prepared.card["labels_file"] == "data/labels/sensors/csv/pump.csv"
    judged = judgement(prepared, params)
    assert judged.judged_on == "labels" and len(judged.held_windows) == 4


def test_label_refuses_reversed_overlapping_out_of_range_windows_and_unknown_series(pump):
    assert label("pump", "--start", "2024-01-05 03:00", "--end", "2024-01-05 04:00").exit_code == 0

    reversed_ = error_line(label("pump", "--start", "2024-01-06 04:00", "--end", "2024-01-06 03:00"))
    assert "the window ends (2024-01-06 03:00:00) before it starts (2024-01-06 04:00:00)" in reversed_
    overlapping = error_line(label("pump", "--start", "2024-01-05 03:30", "--end", "2024-01-05 05:00"))
    assert "overlaps line 2 (2024-01-05 03:00:00 .. 2024-01-05 04:00:00)" in overlapping
    outside = error_line(label("pump", "--start", "2024-03-01", "--end", "2024-03-02"))
    assert "is outside the series' time range 2024-01-01 00:00:00 .. 2024-01-30 23:30:00" in outside
    unknown = error_line(label("tank", "--start", "2024-01-05", "--end", "2024-01-06"))
    assert unknown == (
        "ERROR: unknown series 'tank': no validated sensors data from source 'csv' (validated: pump); ingest it first"
    )
    assert len(labels_path(pump / "data", "sensors", "csv", "pump").read_text().splitlines()) == 2  # nothing added


def test_a_labels_file_for_a_series_never_ingested_is_refused_naming_it(pump):
    stray = labels_path(pump / "data", "sensors", "csv", "tank")
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_text("start,end\n2024-01-05,2024-01-06\n")
    with pytest.raises(LabelsError, match="labels for series 'tank', which has no validated sensors data"):
        prepare_all(load_params("params.yaml", {"sensors.source": "csv"}), "sensors", "csv")
