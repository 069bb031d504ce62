import numpy as np
import pandas as pd
import pytest

from lstmops.data.demo_sensors import ANOMALY_KINDS, CLEAN_FRACTION, demo_sensor, generate_demo_sensor
from lstmops.data.sensors import read_nab, windows_to_nab_labels, windows_to_point_labels, write_nab_labels


@pytest.fixture(scope="module")
def demo():
    return generate_demo_sensor("demo/machine_a")


def test_same_name_and_seed_give_the_same_series():
    first, again = demo_sensor("demo/machine_a"), demo_sensor("demo/machine_a")

    pd.testing.assert_frame_equal(first.frame, again.frame)
    assert first.windows == again.windows


def test_name_and_seed_each_change_the_series():
    base = demo_sensor("demo/machine_a").frame["value"]

    assert not np.allclose(base, demo_sensor("demo/machine_b").frame["value"])
    assert not np.allclose(base, demo_sensor("demo/machine_a", seed=12).frame["value"])


def test_values_are_finite_floats_on_a_regular_clock(demo):
    frame = demo.series.frame

    assert len(frame) == 4032
    assert frame["value"].dtype == "float64"
    assert np.isfinite(frame["value"]).all()
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2024-01-01")
    assert (frame["timestamp"].diff().iloc[1:] == pd.Timedelta("5min")).all()


def test_every_anomaly_kind_is_injected_once_with_its_own_window(demo):
    assert sorted(demo.kinds) == sorted(ANOMALY_KINDS)
    assert len(demo.series.windows) == len(demo.kinds)


def test_windows_are_sorted_apart_and_after_the_clean_start(demo):
    windows = demo.series.windows
    clean_until = demo.series.frame["timestamp"].iloc[int(CLEAN_FRACTION * len(demo.series.frame))]

    assert all(start <= end for start, end in windows)
    assert all(end < next_start for (_, end), (next_start, _) in zip(windows, windows[1:]))
    assert windows[0][0] >= clean_until


def test_values_differ_from_the_clean_signal_only_inside_windows(demo):
    frame = demo.series.frame
    changed = frame["value"].to_numpy() != demo.clean

    assert not changed[~windows_to_point_labels(frame["timestamp"], demo.series.windows)].any()
    for window in demo.series.windows:
        assert changed[windows_to_point_labels(frame["timestamp"], [window])].any(), window


def test_each_window_covers_a_small_fraction(demo):
    labelled = windows_to_point_labels(demo.series.frame["timestamp"], demo.series.windows)

    for window in demo.series.windows:
        assert windows_to_point_labels(demo.series.frame["timestamp"], [window]).mean() < 0.05
    assert labelled.mean() < 0.15


def test_anomalies_stand_out_from_the_noise(demo):
    deviation = np.abs(demo.series.frame["value"].to_numpy() - demo.clean)
    noise = np.std(np.diff(demo.clean[:1000]))  # seasonality is nearly flat step to step

    for kind, window in zip(demo.kinds, demo.series.windows):
        inside = windows_to_point_labels(demo.series.frame["timestamp"], [window])
        assert deviation[inside].max() > 5 * noise, kind


def test_a_short_series_still_holds_all_kinds():
    short = generate_demo_sensor("tiny", n_points=100, freq="h")

    assert sorted(short.kinds) == sorted(ANOMALY_KINDS)
    windows = short.series.windows
    assert all(end < next_start for (_, end), (next_start, _) in zip(windows, windows[1:]))


def test_too_short_a_series_is_refused():
    with pytest.raises(ValueError, match="n_points must be >= 100"):
        demo_sensor("tiny", n_points=50)


def test_labels_round_trip_through_a_nab_folder(demo, tmp_path):
    series = demo.series
    (tmp_path / "data" / "demo").mkdir(parents=True)
    series.frame.to_csv(tmp_path / "data" / "demo" / "machine_a.csv", index=False)
    labels = windows_to_nab_labels(series.name, series.windows)
    write_nab_labels(tmp_path / "labels" / "combined_windows.json", labels)

    loaded = read_nab(tmp_path, "demo/machine_a")

    assert loaded.windows == series.windows
    pd.testing.assert_frame_equal(loaded.frame, series.frame)


def test_the_relay_leaves_the_anomalies_where_they_were():
    plain, relay = (
        generate_demo_sensor("demo/machine_a", seed=18),
        generate_demo_sensor("demo/machine_a", seed=18, cycle=1.0),
    )

    assert relay.kinds == plain.kinds and relay.series.windows == plain.series.windows
    assert not np.allclose(relay.clean, plain.clean)


def test_the_relay_cycles_faster_at_the_hours_it_falls_faster():
    plain, relay = generate_demo_sensor("demo/machine_a"), generate_demo_sensor("demo/machine_a", cycle=1.0)
    wave = relay.clean - plain.clean  # the relay alone: the other draws are the same
    days = np.arange(len(wave)) / 288
    tops = np.flatnonzero((wave[1:-1] > wave[:-2]) & (wave[1:-1] >= wave[2:])) + 1
    periods, phase = np.diff(tops), np.sin(2 * np.pi * days[tops[:-1]])

    assert len(tops) > 100  # many cycles over the two weeks
    assert periods[phase > 0.5].mean() < 0.7 * periods[phase < -0.5].mean()


def test_the_relays_jitter_changes_the_relay_alone_and_is_set_in_params():
    from lstmops.config import ConfigError, load_params

    steady, wandering = (
        generate_demo_sensor("demo/machine_a", seed=18, cycle=1.0),
        generate_demo_sensor("demo/machine_a", seed=18, cycle=1.0, cycle_jitter=0.3),
    )
    assert wandering.kinds == steady.kinds and wandering.series.windows == steady.series.windows
    assert not np.allclose(wandering.clean, steady.clean)
    assert load_params(overrides={"sensors.demo.cycle_jitter": 0.3}).sensors.demo.cycle_jitter == 0.3
    with pytest.raises(ConfigError, match="cycle_jitter"):  # a speed that could reverse is refused
        load_params(overrides={"sensors.demo.cycle_jitter": 1.0})


def test_a_negative_cycle_is_refused():
    with pytest.raises(ValueError, match="cycle must be >= 0"):
        demo_sensor("demo/machine_a", cycle=-1.0)
