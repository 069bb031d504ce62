import json

import numpy as np
import pytest

from lstmops.data.windows import SplitIndex, chronological_split, sliding_windows, supervised_windows


def owning_buffer(array: np.ndarray) -> object:
    """Follow .base links to the object that owns the memory."""
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


def test_sliding_windows_1d_shape_and_content():
    series = np.arange(10.0)
    windows = sliding_windows(series, 4)
    assert windows.shape == (7, 4)
    np.testing.assert_array_equal(windows[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(windows[-1], [6, 7, 8, 9])


def test_sliding_windows_2d_puts_time_before_features():
    series = np.arange(20.0).reshape(10, 2)
    windows = sliding_windows(series, 3, step=2)
    assert windows.shape == (4, 3, 2)
    np.testing.assert_array_equal(windows[1], series[2:5])
    np.testing.assert_array_equal(windows[3], series[6:9])


def test_sliding_windows_is_a_read_only_view():
    series = np.arange(30.0).reshape(15, 2)
    windows = sliding_windows(series, 5)
    assert np.shares_memory(windows, series)
    assert not windows.flags.writeable
    series[7, 1] = -1.0  # the view sees later writes to the series
    assert windows[3, 4, 1] == -1.0


def test_windowing_a_million_points_allocates_no_window_copies():
    series = np.random.default_rng(0).normal(size=1_000_000)
    windows = sliding_windows(series, 128)
    assert windows.shape == (1_000_000 - 127, 128)
    assert owning_buffer(windows) is series  # the only buffer is the input's 8 MB
    assert windows.nbytes > 100 * series.nbytes  # what a copy would have cost


@pytest.mark.parametrize("bad", [dict(window=0), dict(window=11), dict(window=3, step=0)])
def test_sliding_windows_rejects_bad_sizes(bad):
    with pytest.raises(ValueError):
        sliding_windows(np.arange(10.0), **bad)


def test_chronological_split_is_contiguous_ordered_and_covers_all_rows():
    split = chronological_split(1000, 0.7, 0.15, 0.15)
    assert (split.train, split.val, split.test) == (slice(0, 700), slice(700, 850), slice(850, 1000))
    rows = np.concatenate([np.arange(1000)[part] for part in (split.train, split.val, split.test)])
    np.testing.assert_array_equal(rows, np.arange(1000))


def test_chronological_split_allows_empty_val_but_not_empty_test():
    split = chronological_split(10, 0.8, 0.0, 0.2)
    assert split.val == slice(8, 8)
    with pytest.raises(ValueError, match="empty"):
        chronological_split(3, 0.9, 0.05, 0.05)
    with pytest.raises(ValueError, match="sum to 1"):
        chronological_split(100, 0.7, 0.2, 0.2)


def test_split_index_json_round_trip():
    split = chronological_split(101, 0.6, 0.2, 0.2)
    restored = SplitIndex.from_dict(json.loads(json.dumps(split.to_dict())))
    assert restored == split
    assert restored.n == 101


def test_split_index_rejects_gaps():
    with pytest.raises(ValueError, match="contiguous"):
        SplitIndex(slice(0, 5), slice(6, 8), slice(8, 10))


def test_supervised_windows_pairs_past_inputs_with_the_next_target():
    features = np.arange(20.0).reshape(10, 2)
    target = np.arange(100.0, 110.0)
    X, y, t_index = supervised_windows(features, target, window=3)
    assert X.shape == (7, 3, 2) and y.shape == (7,)
    np.testing.assert_array_equal(t_index, np.arange(3, 10))
    for row, t in enumerate(t_index):
        np.testing.assert_array_equal(X[row], features[t - 3 : t])
        assert y[row] == target[t]
    assert np.shares_memory(X, features) and np.shares_memory(y, target)


def test_supervised_windows_multi_step_horizon():
    features = np.arange(10.0)[:, None]
    target = np.arange(10.0)
    X, y, t_index = supervised_windows(features, target, window=4, horizon=3)
    assert y.shape == (4, 3)
    np.testing.assert_array_equal(t_index, [4, 5, 6, 7])
    np.testing.assert_array_equal(y[-1], [7, 8, 9])
    np.testing.assert_array_equal(X[-1, :, 0], [3, 4, 5, 6])


def test_targets_stay_inside_the_split_and_context_controls_inputs():
    features = np.arange(50.0)[:, None]
    target = np.arange(50.0)
    split = chronological_split(50, 0.6, 0.2, 0.2)  # val = rows 30..39
    with_context = supervised_windows(features, target, 5, horizon=2, split=split.val)
    np.testing.assert_array_equal(with_context.t_index, np.arange(30, 39))  # t + 1 <= 39
    assert with_context.X[0, 0, 0] == 25  # history from the train part
    without_context = supervised_windows(features, target, 5, horizon=2, split=split.val, context=False)
    np.testing.assert_array_equal(without_context.t_index, np.arange(35, 39))
    assert without_context.X.min() >= 30


def test_train_windows_do_not_change_when_later_parts_change():
    rng = np.random.default_rng(1)
    features, target = rng.normal(size=(200, 3)), rng.normal(size=200)
    split = chronological_split(200, 0.7, 0.15, 0.15)
    before = supervised_windows(features, target, 10, horizon=3, split=split.train)
    X_before, y_before = before.X.copy(), before.y.copy()
    features[split.train.stop :] += 1000.0
    target[split.train.stop :] += 1000.0
    after = supervised_windows(features, target, 10, horizon=3, split=split.train)
    np.testing.assert_array_equal(after.X, X_before)
    np.testing.assert_array_equal(after.y, y_before)
    assert after.t_index[-1] + 3 <= split.train.stop


def test_windows_predicting_up_to_t_ignore_values_after_t():
    rng = np.random.default_rng(2)
    features, target = rng.normal(size=(120, 2)), rng.normal(size=120)
    X_before, y_before, t_index = (a.copy() for a in supervised_windows(features, target, 8))
    t = 70
    features[t + 1 :] = rng.normal(size=(120 - t - 1, 2))
    target[t + 1 :] = rng.normal(size=120 - t - 1)
    X_after, y_after, _ = supervised_windows(features, target, 8)
    known = t_index <= t
    np.testing.assert_array_equal(X_after[known], X_before[known])
    np.testing.assert_array_equal(y_after[known], y_before[known])
    assert not np.array_equal(y_after[~known], y_before[~known])  # the perturbation did reach later rows


def test_supervised_windows_reports_a_too_short_split():
    with pytest.raises(ValueError, match="too few"):
        supervised_windows(np.zeros((20, 1)), np.zeros(20), 5, split=slice(10, 14), context=False)
    with pytest.raises(ValueError, match="equal length"):
        supervised_windows(np.zeros((20, 1)), np.zeros(19), 5)
