"""The label-free evaluation: anomalies of known kinds injected into copies of the test part (issue 29)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from lstmops.config import InjectionParams
from lstmops.data.prepare import prepare_frame
from lstmops.evaluate.injected import TooShortToInject, inject_copies, min_test_rows, protocol_id
from lstmops.evaluate.significance import compare_units
from lstmops.tasks.autoencoder.evaluate import evaluate_autoencoder
from lstmops.tasks.autoencoder.injected import tail_scores
from lstmops.tasks.autoencoder.train import train_autoencoder

WINDOW = 16
DAY = 48  # rows per cycle: longer than the window, so the seasonal score has a period


def cycle_frame(days: int = 25) -> pd.DataFrame:
    rows = days * DAY
    steps = np.arange(rows)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=rows, freq="30min"),
            "value": 10 + 3 * np.sin(2 * np.pi * steps / DAY) + np.random.default_rng(0).normal(0, 0.1, rows),
        }
    )


@pytest.fixture(scope="module")
def params(tiny_params, tmp_path_factory):
    return tiny_params(
        tmp_path_factory.mktemp("data"),
        "autoencoder",
        **{"windows.sensors.window": WINDOW, "train.epochs": 2, "models.autoencoder.score": "seasonal"},
    )


@pytest.fixture(scope="module")
def unlabelled(params, tmp_path_factory):
    """A user's series with no labels (card without `labels`), and a model trained on it."""
    card = {"series": "pump", "kind": "sensors", "source": "csv"}
    prepared = prepare_frame(cycle_frame(), card, params, tmp_path_factory.mktemp("pump"))
    return prepared, train_autoencoder(prepared, params)


# ---------------------------------------------------------------- the protocol


def test_copies_change_only_the_test_part_with_a_window_of_normal_rows_around_each_anomaly():
    values = np.random.default_rng(1).normal(0, 1, 1000)
    protocol = InjectionParams(events=3, copies=4, length=0.5)
    train, test = slice(0, 700), slice(850, 1000)
    copies = inject_copies(values, train, test, WINDOW, protocol)

    assert len(copies) == 4
    slots = np.linspace(850, 1000, 4).astype(int)
    for copy in copies:
        changed = np.flatnonzero(copy.values != values)
        inside = np.zeros(len(values), bool)
        for (first, last), slot_start, slot_stop in zip(copy.events, slots[:-1], slots[1:]):
            assert slot_start + WINDOW <= first <= last < slot_stop - WINDOW
            inside[first : last + 1] = True
        assert set(changed) <= set(np.flatnonzero(inside))  # nothing outside the anomalies moved
        assert changed.min() >= 850
    kinds = [kind for copy in copies for kind in copy.kinds]
    assert kinds[:5] == list(protocol.kinds)  # the kinds take turns
    spikes = [last - first for copy in copies for (first, last), k in zip(copy.events, copy.kinds) if k == "spike"]
    assert spikes and set(spikes) == {0}


def test_the_same_protocol_gives_the_same_copies_and_another_seed_other_ones():
    values = np.random.default_rng(2).normal(0, 1, 600)
    protocol = InjectionParams(events=2, copies=3)
    first = inject_copies(values, slice(0, 400), slice(500, 600), WINDOW, protocol)
    again = inject_copies(values, slice(0, 400), slice(500, 600), WINDOW, protocol)
    other = inject_copies(values, slice(0, 400), slice(500, 600), WINDOW, protocol.model_copy(update={"seed": 1}))

    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.values, b.values)
        assert a.events == b.events
    assert any(a.events != c.events for a, c in zip(first, other))
    assert protocol_id(protocol) == protocol_id(InjectionParams(events=2, copies=3)) != protocol_id(InjectionParams())


def test_anomalies_are_sized_by_the_training_parts_spread():
    values = np.random.default_rng(3).normal(0, 1, 600)
    protocol = InjectionParams(kinds=["level_shift"], events=1, copies=1)
    small = inject_copies(values, slice(0, 400), slice(500, 600), WINDOW, protocol)[0]
    large = inject_copies(values * 10, slice(0, 400), slice(500, 600), WINDOW, protocol)[0]

    shift = (small.values - values)[small.events[0][0]]
    assert abs(shift) > 0.5 * np.std(values[:400])
    assert (large.values - values * 10)[large.events[0][0]] == pytest.approx(10 * shift)


def test_a_test_part_too_short_for_the_anomalies_is_refused():
    protocol = InjectionParams(events=3, length=0.5)
    needed = min_test_rows(protocol, WINDOW)
    assert needed == 3 * (8 + 2 * WINDOW)
    with pytest.raises(TooShortToInject, match=f"needs {needed}"):
        inject_copies(np.zeros(500), slice(0, 300), slice(500 - needed + 1, 500), WINDOW, protocol)


# ---------------------------------------------------------------- the autoencoder judged on them


@dataclass
class Oracle:
    """A stand-in detector that knows the series before injection: it scores exactly the injected rows."""

    clean: pd.Series  # value by timestamp
    window: int = WINDOW
    smoothing_window: int = 1
    period: int | None = None
    threshold: float = 0.0
    threshold_rule: str = "mean_std"
    threshold_options: dict = field(default_factory=lambda: {"k": 4.0})
    blind: bool = False

    @property
    def min_rows(self) -> int:
        return self.window

    def score_features(self, features: pd.DataFrame) -> np.ndarray:
        if self.blind:
            return np.zeros(len(features))
        clean = self.clean.loc[features["timestamp"]].to_numpy()
        return np.abs(features["value"].to_numpy() - clean)


def test_an_unlabelled_series_is_judged_on_injected_anomalies_reported_under_their_own_name(unlabelled, params):
    prepared, trained = unlabelled
    evaluation = evaluate_autoencoder(trained, prepared, params)
    metrics, protocol = evaluation.metrics, params.models.autoencoder.evaluation.injected

    assert (evaluation.primary_metric, evaluation.baseline_metric) == ("f1_injected", "f1_injected_zscore")
    assert "f1" not in metrics and "labelled_windows" not in metrics  # no labels, no F1 on labels
    assert evaluation.tags["evaluation.judged_on"] == "injected"
    assert evaluation.tags["evaluation.injected.protocol"] == protocol_id(protocol)
    events = evaluation.tables["injected.csv"]
    assert len(events) == metrics["injected_events"] == protocol.copies * protocol.events
    assert metrics["tp_injected"] + metrics["fn_injected"] == len(events) == events["found"].size
    assert metrics["tp_injected"] == events["found"].sum()
    units = evaluation.units  # pooled over copies, per test row: the gate's paired test takes them
    assert len(units) == len(prepared.features) - prepared.split.test.start
    assert units[["tp", "fp", "fn"]].sum().tolist() == [metrics[f"{c}_injected"] for c in ("tp", "fp", "fn")]
    assert units[["tp_baseline", "fp_baseline", "fn_baseline"]].sum().tolist() == [
        metrics[f"{c}_injected_zscore"] for c in ("tp", "fp", "fn")
    ]
    assert "reconstruction_error.png" in evaluation.figures


def test_two_evaluations_of_a_version_see_the_same_injections_so_the_paired_test_applies(unlabelled, params):
    prepared, trained = unlabelled
    first = evaluate_autoencoder(trained, prepared, params, gate=True)
    again = evaluate_autoencoder(trained, prepared, params, gate=True)

    pd.testing.assert_frame_equal(first.units, again.units)
    same = compare_units(first.units, again.units, horizon=first.horizon, alpha=0.05)
    assert same.effect == 0 and not same.significant(True)


def test_the_tail_scores_the_injected_copies_read_equal_the_whole_series_scores(unlabelled):
    prepared, trained = unlabelled
    assert trained.period == DAY  # the seasonal score reads one period either side: the tail must hold it
    start = prepared.split.test.start
    np.testing.assert_allclose(
        tail_scores(trained, prepared.features, start), trained.score_features(prepared.features)[start:], rtol=1e-5
    )


def test_a_detector_that_sees_exactly_the_injected_rows_scores_f1_1_and_a_blind_one_0(unlabelled, params):
    prepared, _ = unlabelled
    clean = prepared.features.set_index("timestamp")["value"]
    seeing = evaluate_autoencoder(Oracle(clean), prepared, params, gate=True)
    blind = evaluate_autoencoder(Oracle(clean, blind=True), prepared, params, gate=True)
    events = params.models.autoencoder.evaluation.injected
    total = events.copies * events.events

    assert (seeing.metrics["f1_injected"], seeing.metrics["tp_injected"], seeing.metrics["fp_injected"]) == (
        1.0,
        total,
        0,
    )
    assert (blind.metrics["f1_injected"], blind.metrics["fn_injected"]) == (0.0, total)
    # The rolling z-score is the same baseline beside both; the oracle beats it, the blind one does not.
    assert seeing.metrics["f1_injected_zscore"] == blind.metrics["f1_injected_zscore"] < 1.0
    assert compare_units(seeing.units, seeing.units, horizon=WINDOW, alpha=0.05, baseline=True).significant(True)


def test_enough_real_labels_in_the_test_part_judge_first_and_the_gate_then_injects_nothing(
    demo_series, tiny_params, tmp_path_factory
):
    params = tiny_params(
        tmp_path_factory.mktemp("labelled"),
        "autoencoder",
        **{"windows.sensors.window": WINDOW, "train.epochs": 1, "models.autoencoder.evaluation.injected.events": 2},
    )
    prepared = demo_series(params, "sensors").prepared
    trained = train_autoencoder(prepared, params)
    few = evaluate_autoencoder(trained, prepared, params)  # one labelled window in the tiny demo's test part
    assert few.metrics["labelled_windows"] < params.models.autoencoder.evaluation.min_labelled_windows
    assert few.primary_metric == "f1_injected" and "f1" in few.metrics  # both reported, injected judges

    enough = params.model_copy(deep=True)
    enough.models.autoencoder.evaluation.min_labelled_windows = 1
    gate = evaluate_autoencoder(trained, prepared, enough, gate=True)
    assert (gate.primary_metric, gate.baseline_metric) == ("f1", "f1_zscore")
    assert gate.tags["evaluation.judged_on"] == "labels" and "f1_injected" not in gate.metrics


def test_a_series_too_short_to_inject_into_is_refused_before_training_naming_the_minimum(params, tmp_path, monkeypatch):
    from lstmops.tasks.autoencoder import train as training

    card = {"series": "short", "kind": "sensors", "source": "csv"}
    prepared = prepare_frame(cycle_frame(days=8), card, params, tmp_path)  # a test part of 58 rows
    monkeypatch.setattr(training, "fit", lambda *a, **k: pytest.fail("trained a model it cannot judge"))
    needed = min_test_rows(params.models.autoencoder.evaluation.injected, WINDOW)
    with pytest.raises(TooShortToInject) as refused:
        train_autoencoder(prepared, params)
    message = str(refused.value)
    assert "\n" not in message and message.startswith("short: the test part has 58 rows")
    assert f"needs at least {needed}" in message and f"about {int(np.ceil(needed / 0.15))} rows" in message
