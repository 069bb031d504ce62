import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from lstmops.data.prepare import prepare_frame
from lstmops.evaluate.injected import TooShortToInject
from lstmops.tasks.autoencoder.evaluate import clip_windows, evaluate_autoencoder
from lstmops.tasks.autoencoder.train import train_autoencoder

WINDOW = 16


@pytest.fixture(scope="module")
def params(tiny_params, tmp_path_factory):
    return tiny_params(
        tmp_path_factory.mktemp("data"),
        "autoencoder",
        **{
            "windows.sensors.window": WINDOW,
            "train.epochs": 3,
            "train.batch_size": 64,
        },
    )


@pytest.fixture(scope="module")
def demo(demo_series, params):
    series = demo_series(params, "sensors")
    trained = train_autoencoder(series.prepared, params)
    return series.raw, series.prepared, trained, evaluate_autoencoder(trained, series.prepared, params)


def test_metrics_put_the_zscore_baseline_beside_the_model(demo):
    evaluation = demo[3]
    metrics = evaluation.metrics
    for key in (
        "f1",
        "precision",
        "recall",
        "tp",
        "fp",
        "fn",
        "f1_point",
        "roc_auc",
        "f1_zscore",
        "precision_zscore",
        "recall_zscore",
        "roc_auc_zscore",
        "threshold",
    ):
        assert np.isfinite(metrics[key]), key
    assert (evaluation.primary_metric, evaluation.baseline_metric) == ("f1", "f1_zscore")
    assert evaluation.higher_is_better is True
    assert evaluation.beats_baseline() == (metrics["f1"] > metrics["f1_zscore"])
    # Every labelled window in the hold-out is either found or missed.
    assert metrics["tp"] + metrics["fn"] == metrics["labelled_windows"] > 0


def test_scores_table_equals_predict_raw_on_the_same_rows(demo):
    raw, prepared, trained, evaluation = demo
    table = evaluation.tables["scores.csv"]
    # The test part only: the validation rows picked the model's epoch.
    served = trained.predict_raw(raw).iloc[prepared.split.test.start :].reset_index(drop=True)
    assert len(table) == len(raw) - prepared.split.test.start
    np.testing.assert_array_equal(table["timestamp"].to_numpy(), served["timestamp"].to_numpy())
    np.testing.assert_allclose(table["score"], served["score"], rtol=1e-6)
    np.testing.assert_array_equal(table["is_anomaly"], served["is_anomaly"])


def test_gate_units_count_each_event_once_where_it_starts(demo):
    _, _, _, evaluation = demo
    units = evaluation.units
    assert len(units) == len(evaluation.tables["scores.csv"]) and evaluation.horizon > 1
    assert units[["tp", "fp", "fn"]].sum().tolist() == [evaluation.metrics[c] for c in ("tp", "fp", "fn")]
    for suffix, detector in (("", ""), ("_baseline", "_zscore")):  # the block bootstrap recomputes F1 from these
        tp, fp, fn = units[[f"{count}{suffix}" for count in ("tp", "fp", "fn")]].sum()
        assert 2 * tp / max(2 * tp + fp + fn, 1) == pytest.approx(evaluation.metrics[f"f1{detector}"])


def test_detections_are_hold_out_segments_with_their_peak_score(demo):
    _, prepared, trained, evaluation = demo
    detected = evaluation.tables["anomalies.csv"]
    assert list(detected.columns) == ["start", "end", "score"]
    holdout_start = prepared.features["timestamp"].iloc[prepared.split.test.start]
    assert (detected["start"] >= holdout_start).all() and (detected["start"] <= detected["end"]).all()
    assert (detected["score"] > trained.threshold).all()
    assert isinstance(evaluation.figures["reconstruction_error.png"], Figure)


def test_a_model_can_be_evaluated_on_another_series(demo, params, tmp_path):
    raw, prepared, trained, _ = demo
    other = raw.copy()
    other["value"] = other["value"] * 1.1 + 2.0
    evaluation = evaluate_autoencoder(trained, prepare_frame(other, prepared.card, params, tmp_path), params)
    assert np.isfinite(evaluation.score) and np.isfinite(evaluation.baseline_score)


def test_a_labelled_test_part_too_short_to_inject_into_is_judged_on_its_labels(demo):
    evaluation = demo[3]  # the tiny demo's test part is shorter than the injection protocol needs
    assert evaluation.tags["evaluation.judged_on"] == "labels"
    assert evaluation.tags["evaluation.injected.protocol"].startswith("none")
    assert "f1_injected" not in evaluation.metrics


def test_an_unlabelled_series_too_short_to_inject_into_cannot_be_evaluated(demo, params, tmp_path):
    raw, prepared, trained, _ = demo
    unlabelled = prepare_frame(raw, {**prepared.card, "labels": None}, params, tmp_path)
    with pytest.raises(TooShortToInject, match="the test part has 90 rows, but injecting 3 anomalies"):
        evaluate_autoencoder(trained, unlabelled, params)


def test_label_windows_are_clipped_to_the_hold_out():
    t = pd.Timestamp
    windows = [
        (t("2024-01-01"), t("2024-01-02")),
        (t("2024-01-03"), t("2024-01-05")),
        (t("2024-01-06"), t("2024-01-09")),
    ]
    clipped = clip_windows(windows, t("2024-01-04"), t("2024-01-08"))
    assert clipped == [(t("2024-01-04"), t("2024-01-05")), (t("2024-01-06"), t("2024-01-08"))]
