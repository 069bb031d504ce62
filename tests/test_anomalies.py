import math

import numpy as np
import pandas as pd
import pytest

from lstmops.evaluate.anomalies import (
    find_anomalies_orion,
    fit_threshold,
    flagged_to_segments,
    merge_segments,
    orion_threshold,
    overlapping_segment_scores,
    pointwise_scores,
    pooled_segment_scores,
    roc_auc,
    threshold_max,
    threshold_mean_std,
    threshold_percentile,
)

TRAIN_ERRORS = np.array([1.0, 2.0, 3.0, 4.0])  # mean 2.5, population std sqrt(1.25)


def test_threshold_rules_by_hand():
    assert threshold_mean_std(TRAIN_ERRORS, k=2.0) == pytest.approx(2.5 + 2 * math.sqrt(1.25))
    assert threshold_percentile(TRAIN_ERRORS, q=50) == pytest.approx(2.5)
    assert threshold_max(TRAIN_ERRORS) == 4.0


def test_fit_threshold_dispatches_by_name_and_rejects_unknown_rules():
    assert fit_threshold(TRAIN_ERRORS, "percentile", q=75) == pytest.approx(3.25)
    assert fit_threshold(TRAIN_ERRORS, "mean_std") == pytest.approx(2.5 + 4 * math.sqrt(1.25))
    with pytest.raises(ValueError, match="'iqr'.*mean_std"):
        fit_threshold(TRAIN_ERRORS, "iqr")


def test_flagged_to_segments_edges():
    assert flagged_to_segments(np.array([True, True, False, True])) == [(0, 1), (3, 3)]
    assert flagged_to_segments(np.array([False, True, True])) == [(1, 2)]
    assert flagged_to_segments(np.zeros(5, dtype=bool)) == []
    assert flagged_to_segments(np.ones(3, dtype=bool)) == [(0, 2)]


def test_merge_segments_joins_overlapping_adjacent_and_close_ones():
    segments = [(10, 12), (0, 3), (4, 5), (2, 3), (14, 15)]
    assert merge_segments(segments) == [(0, 5), (10, 12), (14, 15)]
    assert merge_segments(segments, gap=1) == [(0, 5), (10, 15)]
    with pytest.raises(ValueError, match="start <= end"):
        merge_segments([(5, 1)])


def test_orion_single_window_spike_by_hand():
    errors = np.zeros(100)
    errors[50] = 10.0
    anomalies = find_anomalies_orion(errors, window_size_portion=None, anomaly_padding=2)
    mean, std = 0.1, math.sqrt(0.99)  # of the window: one 10 among 99 zeros
    threshold = mean + 4 * std
    assert len(anomalies) == 1
    start, end, score = anomalies[0]
    assert (start, end) == (48, 52)
    assert score == pytest.approx((10.0 - threshold) / (mean + std))


def test_orion_prunes_runs_too_close_to_the_highest_unflagged_error():
    errors = np.zeros(100)
    errors[[10, 50, 90]] = [10.0, 4.8, 4.5]
    # k = 3.75 puts the threshold (~4.62) between 4.5 and 4.8: runs peak at 10 and 4.8, max below is 4.5.
    # 4.8 is only 6% above 4.5, so with min_percent 0.1 the ranking stops after the 10.
    kept = find_anomalies_orion(errors, window_size_portion=None, k=3.75, anomaly_padding=0)
    assert [(start, end) for start, end, _ in kept] == [(10, 10)]
    both = find_anomalies_orion(errors, window_size_portion=None, k=3.75, anomaly_padding=0, min_percent=0.05)
    assert [(start, end) for start, end, _ in both] == [(10, 10), (50, 50)]


def test_orion_finds_a_spike_in_bounded_noise_and_merges_across_windows():
    rng = np.random.default_rng(3)
    errors = rng.uniform(0, 1, size=1000)
    errors[500] = 10.0
    index = pd.date_range("2024-01-01", periods=1000, freq="5min")
    anomalies = find_anomalies_orion(errors, index)
    # every window holding the spike reports it, padded by 50 and clipped at the window edges;
    # the overlapping reports merge into one segment
    assert len(anomalies) == 1
    start, end, score = anomalies[0]
    assert (start, end) == (index[450], index[550])
    assert score > 0


def test_orion_reports_nothing_on_bounded_noise():
    # uniform noise never exceeds mean + 4 std (0.5 + 4 * 0.29 > 1), so no window flags anything
    rng = np.random.default_rng(4)
    assert find_anomalies_orion(rng.uniform(0, 1, size=2000)) == []


def flagged_points(detections, n: int) -> np.ndarray:
    """The positions inside find_anomalies_orion's (start, end, score) detections, as a mask of n."""
    flagged = np.zeros(n, dtype=bool)
    for start, end, _ in detections:
        flagged[start : end + 1] = True
    return flagged


def test_the_orion_threshold_is_where_errors_start_being_flagged():
    # Without padding and pruning, the detections hold exactly the errors above the threshold curve.
    errors = np.random.default_rng(5).lognormal(0, 1, size=1000)
    threshold = orion_threshold(errors, k=2.0)
    detections = find_anomalies_orion(errors, k=2.0, anomaly_padding=0, min_percent=0.0)
    flagged = flagged_points(detections, len(errors))
    assert flagged.any()
    np.testing.assert_array_equal(flagged, errors > threshold)


def test_the_whole_series_window_adds_to_the_sliding_windows_detections_and_threshold():
    errors = np.random.default_rng(6).lognormal(0, 1, size=1000)
    errors[600:633] += 8.0  # a plateau a tenth as wide as the 330-point sliding windows
    sliding = find_anomalies_orion(errors, k=2.0, anomaly_padding=0, min_percent=0.0)
    both = find_anomalies_orion(errors, k=2.0, anomaly_padding=0, min_percent=0.0, whole_series_window=True)

    assert (flagged_points(both, len(errors)) >= flagged_points(sliding, len(errors))).all()
    np.testing.assert_array_equal(
        flagged_points(both, len(errors)), errors > orion_threshold(errors, k=2.0, whole_series_window=True)
    )


def test_one_window_has_one_threshold():
    errors = np.zeros(100)
    errors[50] = 10.0
    threshold = orion_threshold(errors, window_size_portion=None)
    np.testing.assert_allclose(threshold, 0.1 + 4 * math.sqrt(0.99))


def test_orion_rejects_a_misaligned_index():
    with pytest.raises(ValueError, match="index has 3 entries for 4 errors"):
        find_anomalies_orion(np.ones(4), np.arange(3))


def test_segment_overlap_and_no_overlap():
    scores = overlapping_segment_scores(expected=[(10, 20), (40, 50)], observed=[(18, 25), (60, 70)])
    assert (scores["tp"], scores["fp"], scores["fn"]) == (1, 1, 1)
    assert scores["precision"] == scores["recall"] == scores["f1"] == 0.5


def test_one_detection_spanning_two_windows_is_two_true_positives():
    scores = overlapping_segment_scores(expected=[(10, 20), (30, 40)], observed=[(15, 35)])
    assert (scores["tp"], scores["fp"], scores["fn"]) == (2, 0, 0)
    assert scores["f1"] == 1.0


def test_two_detections_inside_one_window_are_one_true_positive():
    scores = overlapping_segment_scores(expected=[(10, 40)], observed=[(12, 15), (30, 35)])
    assert (scores["tp"], scores["fp"], scores["fn"]) == (1, 0, 0)


def test_touching_segments_overlap_on_timestamps():
    day = pd.Timestamp("2024-01-01")
    expected = [(day, day + pd.Timedelta(hours=2))]
    touching = [(day + pd.Timedelta(hours=2), day + pd.Timedelta(hours=3))]
    after = [(day + pd.Timedelta(hours=2, minutes=5), day + pd.Timedelta(hours=3))]
    assert overlapping_segment_scores(expected, touching)["tp"] == 1
    assert overlapping_segment_scores(expected, after)["fp"] == 1


def test_no_detections_scores_zero_not_nan():
    scores = overlapping_segment_scores(expected=[(1, 2)], observed=[])
    assert scores["fn"] == 1
    assert scores["precision"] == scores["recall"] == scores["f1"] == 0.0


def test_pooled_scores_sum_counts_before_dividing():
    signal_a = overlapping_segment_scores([(0, 5)], [(1, 2)])  # tp 1
    signal_b = overlapping_segment_scores([(0, 5)], [(8, 9), (10, 11), (12, 13)])  # fn 1, fp 3
    pooled = pooled_segment_scores([signal_a, signal_b])
    assert (pooled["tp"], pooled["fp"], pooled["fn"]) == (1, 3, 1)
    assert pooled["precision"] == 0.25 and pooled["recall"] == 0.5
    assert pooled["f1"] == pytest.approx(1 / 3)


def test_pointwise_scores_by_hand():
    labels = np.array([0, 1, 1, 1, 0], dtype=bool)
    flags = np.array([1, 1, 0, 0, 0], dtype=bool)
    scores = pointwise_scores(labels, flags)
    assert scores["precision"] == 0.5
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(0.4)


def test_roc_auc_extremes_ties_and_one_class():
    labels = np.array([0, 0, 1, 1], dtype=bool)
    assert roc_auc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(labels, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert roc_auc(labels, np.ones(4)) == 0.5
    assert math.isnan(roc_auc(np.zeros(4, dtype=bool), np.arange(4.0)))


def test_roc_auc_matches_sklearn_with_ties():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(5)
    labels = rng.random(500) < 0.2
    scores = np.round(rng.normal(size=500) + labels, 1)  # rounding creates ties
    assert roc_auc(labels, scores) == pytest.approx(sklearn_metrics.roc_auc_score(labels, scores))
