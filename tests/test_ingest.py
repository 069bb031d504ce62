"""Ingest end to end on the demo sources: snapshot -> validation gate -> validated data -> features."""

import json

import pandas as pd
import pytest

from lstmops.config import load_params
from lstmops.data import ingest, prepare


@pytest.fixture
def params(tmp_path):
    return load_params(
        overrides={
            "data.root": str(tmp_path / "data"),
            "prices.tickers": ["DEMOA"],
            "sensors.series": ["demo/machine_a"],
            "prices.demo.n_days": 300,
            "sensors.demo.n_points": 600,
            # Short windows: the hand-written files below need only a dozen rows to be long enough.
            "windows.prices.window": 5,
            "windows.sensors.window": 4,
            "models.seq2seq.window": 4,
            "models.seq2seq.horizon": 2,
            "models.seq2seq.seasons": [2],
            "models.seq2seq.decoder": "recursive",
            "models.seq2seq.highway": 0,  # the linear highway belongs to the seasonal-residual decoder
        }
    )


def test_demo_prices_are_snapshotted_validated_and_prepared(params):
    results = ingest.validate_all(ingest.snapshot_prices(params, source="demo"), params)

    (result,) = results
    assert result.raw_path.parent == params.data.root / "raw" / "prices" / "demo"
    assert result.raw_path.name == f"DEMOA-{result.sha256[:12]}.csv"
    frame, card = ingest.load_validated(result.validated_path)
    assert len(frame) == 300 and card["sha256"] == result.sha256 and card["validation"]["success"]

    (prepared,) = prepare.prepare_all(params, "prices", "demo")
    counts = prepared.window_counts()
    assert counts["train"] > counts["test"] > 0
    assert (prepared.folder / "scaler.json").exists() and (prepared.folder / "split.json").exists()


def test_reingesting_identical_data_reuses_the_snapshot_and_new_data_adds_one(params):
    first = ingest.snapshot_prices(params, source="demo")[0].raw_path
    again = ingest.snapshot_prices(params, source="demo")[0].raw_path
    changed = load_params(
        overrides={**{"data.root": str(params.data.root)}, "prices.tickers": ["DEMOA"], "prices.demo.n_days": 301}
    )
    newer = ingest.snapshot_prices(changed, source="demo")[0].raw_path

    assert again == first
    assert newer != first and first.exists() and newer.exists()
    assert ingest.latest_snapshots(params.data.root, "prices", "demo")["DEMOA"] == newer


def test_demo_sensor_labels_travel_with_the_validated_data(params):
    (result,) = ingest.validate_all(ingest.snapshot_sensors(params, source="demo"), params)

    _, card = ingest.load_validated(result.validated_path)
    assert card["labels"], "demo sensors carry their injected anomaly windows"
    start, end = (pd.Timestamp(t) for t in card["labels"][0])
    assert start < end


def test_a_bad_csv_is_quarantined_with_its_report_and_never_validated(params, tmp_path):
    bad = tmp_path / "BAD.csv"
    days = pd.bdate_range("2024-01-02", periods=12)
    bars = [f"{day.date()},10,11,9,10.5,10.5,100\n" for day in days]
    bars[1] = f"{days[1].date()},10.5,9,11,10,10,100\n"  # high < low
    bad.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n" + "".join(bars))
    snapshots = ingest.snapshot_prices(params, source="csv", csv_paths=[bad])

    with pytest.raises(ingest.BatchRejected) as rejected:
        ingest.validate_all(snapshots, params)

    message = str(rejected.value)
    assert "BAD-" in message and str(bad) in message and "2024-01-03" in message
    (folder,) = (params.data.root / "quarantine" / "prices").iterdir()
    assert json.loads((folder / "validation.json").read_text())["success"] is False
    assert snapshots[0].raw_path.exists(), "the raw snapshot is copied, never moved"
    assert not ingest.validated_dir(params.data.root, "prices", "csv").exists()


REPEATED_HOUR_CSV = (
    "timestamp,value\n"
    "2024-01-01 00:00:00,1.0\n"
    "2024-01-01 00:05:00,2.0\n"
    "2024-01-01 00:00:00,3.0\n"  # the recorder replays a stretch, as NAB's machine_temperature does
    "2024-01-01 00:05:00,4.0\n"
    "2024-01-01 00:10:00,5.0\n"
    + "".join(f"2024-01-01 00:{minute:02d}:00,{minute / 5:.1f}\n" for minute in range(15, 60, 5))
)


def test_repeated_sensor_timestamps_are_averaged_and_the_repair_is_recorded(params, tmp_path):
    replayed = tmp_path / "replayed.csv"
    replayed.write_text(REPEATED_HOUR_CSV)

    (result,) = ingest.validate_all(ingest.snapshot_sensors(params, source="csv", csv_paths=[replayed]), params)

    frame, card = ingest.load_validated(result.validated_path)
    assert frame["value"].tolist()[:3] == [2.0, 3.0, 5.0] and len(frame) == 12
    assert "merged 2 rows" in card["repairs"][0]
    assert "repaired" in result.summary()
    assert result.raw_path.read_text().count("\n") == 15, "the raw snapshot keeps every original row"


def test_with_the_reject_policy_repeated_timestamps_fail_validation(params, tmp_path):
    replayed = tmp_path / "replayed.csv"
    replayed.write_text(REPEATED_HOUR_CSV)
    strict = params.model_copy(update={"sensors": params.sensors.model_copy(update={"duplicate_timestamps": "reject"})})

    with pytest.raises(ingest.BatchRejected, match="timestamp_unique"):
        ingest.validate_all(ingest.snapshot_sensors(strict, source="csv", csv_paths=[replayed]), strict)


def test_parallel_ingests_of_different_series_each_record_their_newest_snapshot(params):
    from concurrent.futures import ThreadPoolExecutor

    tickers = [f"DEMO{letter}" for letter in "ABCDEFGH"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        snapshots = list(pool.map(lambda t: ingest.snapshot_prices(params, source="demo", tickers=[t])[0], tickers))

    latest = ingest.latest_snapshots(params.data.root, "prices", "demo")
    assert latest == {s.series: s.raw_path for s in snapshots}


@pytest.mark.faults
@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text.replace(text.splitlines()[5], text.splitlines()[5].replace(".", "9", 1)),  # an edited value
        lambda text: "\n".join(text.splitlines()[:100]) + "\n",  # truncated at a line break
    ],
    ids=["edited", "truncated"],
)
def test_a_damaged_snapshot_is_refused_set_aside_and_restored_by_ingesting_again(params, damage):
    from lstmops.data.snapshots import SnapshotCorrupted

    (good,) = ingest.validate_all(ingest.snapshot_prices(params, source="demo"), params)
    validated_before = good.validated_path.read_bytes()
    good.raw_path.write_text(damage(good.raw_path.read_text()))

    with pytest.raises(SnapshotCorrupted) as refused:
        ingest.validate_latest(params, "prices", "demo")

    message = str(refused.value)
    assert str(good.raw_path) in message and good.sha256[:16] in message and "ingest the source again" in message
    assert not good.raw_path.exists() and refused.value.moved_to.exists()  # set aside, not deleted
    assert good.validated_path.read_bytes() == validated_before  # nothing downstream changed
    (again,) = ingest.validate_all(ingest.snapshot_prices(params, source="demo"), params)
    assert again.raw_path == good.raw_path and again.sha256 == good.sha256


@pytest.mark.faults
def test_rows_that_arrive_out_of_order_are_sorted_and_the_card_says_so(params, tmp_path):
    shuffled = tmp_path / "shuffled.csv"
    rows = [f"2024-01-01 00:{minute:02d}:00,{minute / 5:.1f}\n" for minute in range(0, 60, 5)]
    rows[3], rows[4] = rows[4], rows[3]
    shuffled.write_text("timestamp,value\n" + "".join(rows))

    (result,) = ingest.validate_all(ingest.snapshot_sensors(params, source="csv", csv_paths=[shuffled]), params)

    frame, card = ingest.load_validated(result.validated_path)
    assert frame["timestamp"].is_monotonic_increasing
    assert card["repairs"] == [
        "sorted the rows by time: they arrived out of order (sensors.duplicate_timestamps: mean)"
    ]
