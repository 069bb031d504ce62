"""The registry gate on a hold-out that overlaps a version's training data, with tiny real forecasters.

A champion trained on more of the series (a later `data.train_end`) than the challenger's hold-out
leaves out: the gate compares on the hold-out's rows after both training ends when there are enough
of them for the paired test, and refuses with the overlap message when there are not.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from mlflow import MlflowClient

from lstmops.data import ingest, prepare
from lstmops.evaluate.significance import minimum_points
from lstmops.experiment.runner import gate, run_experiment
from lstmops.registry.audit import aliases_of, history
from lstmops.registry.rule import CHAMPION, HoldoutOverlapError
from lstmops.registry.versions import register_version

DAYS = 400


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


def params_with_test(tiny_params, data_root, test: float):
    """Tiny forecaster params whose chronological split holds out the last `test` of the series."""
    return tiny_params(
        data_root,
        "forecaster",
        **{
            "prices.demo.n_days": DAYS,
            "windows.prices.window": 10,
            "windows.split.train": round(0.85 - test, 2),
            "windows.split.val": 0.15,
            "windows.split.test": test,
            "train.epochs": 1,
            "models.forecaster.units": [4],
        },
    )


@pytest.fixture(scope="module")
def trained(mlflow_store, tiny_params, data_root):
    """test fraction -> (params, prepared, outcome) of a tiny forecaster trained on the rest of one series."""
    made = {}
    for test in (0.05, 0.1, 0.35):
        params = params_with_test(tiny_params, data_root, test)
        if not made:
            (result,) = ingest.validate_all(ingest.snapshot_prices(params, source="demo"), params)
            validated = result.validated_path
        prepared = prepare.prepare_series(validated, params)
        made[test] = (params, prepared, run_experiment("forecaster", prepared, params))
    return made


def champion_from(outcome, series: str) -> str:
    """Register `outcome` under `forecaster-<series>` and make it @champion, as an earlier gate would have."""
    version = register_version(replace(outcome, series=series))
    MlflowClient().set_registered_model_alias(version.name, CHAMPION, version.version)
    return version.name


def test_an_overlapping_holdout_is_re_split_on_the_rows_after_both_training_ends(trained):
    _, champion_prepared, champion = trained[0.1]
    params, prepared, challenger = trained[0.35]
    name = champion_from(champion, "resplit")
    champion_end = champion_prepared.part_times()[0].isoformat()
    assert champion_end > prepared.part_times()[1].isoformat()  # the champion trained on part of this hold-out

    decision = gate(replace(challenger, series="resplit"), prepared, params, actor="tester")

    after = champion_prepared.split.test  # the rows the champion never saw
    assert decision.resplit.after == champion_end
    assert decision.resplit.start == champion_prepared.part_times()[1].isoformat()
    assert decision.resplit.points == after.stop - after.start == decision.test.n  # the test ran on exactly those
    assert f"on the {decision.resplit.points} newest points from {decision.resplit.start}" in decision.reason
    entry = history(name)[-1]
    assert entry["version"] == "2" and entry["reason"] == decision.reason
    assert entry["holdout_rows"] == {
        "start": decision.resplit.start,
        "after": champion_end,
        "points": after.stop - after.start,
    }
    assert MlflowClient().get_model_version(name, "2").tags["gate.n"] == str(decision.resplit.points)


def test_too_few_rows_after_the_training_ends_refuse_the_comparison_and_register_nothing(trained):
    _, champion_prepared, champion = trained[0.05]
    params, prepared, challenger = trained[0.35]
    name = champion_from(champion, "too-few")
    rows_after = champion_prepared.split.test.stop - champion_prepared.split.test.start
    assert rows_after < minimum_points(1)

    with pytest.raises(HoldoutOverlapError) as refused:
        gate(replace(challenger, series="too-few"), prepared, params, actor="tester")

    message = str(refused.value)
    assert f"champion v1 trained on data up to {champion_prepared.part_times()[0].isoformat()}" in message
    assert f"only {rows_after} hold-out points come after" in message and f"needs {minimum_points(1)}" in message
    assert aliases_of(name) == {CHAMPION: "1"} and history(name) == []
    assert len(MlflowClient().search_model_versions(f"name = '{name}'")) == 1
