"""docs/extending.md's claims, held: a data kind (tests/fixtures/toy_kind.py) plus its line in
`DATA_KINDS` goes through the generic snapshot, validation gate and feature preparation; a model task
(tests/fixtures/toy_task.py) plus its line in `lstmops.tasks.REGISTRY` is listed, trains on that
kind's prepared series and is evaluated, saved and loaded through the path the real tasks take. Neither
edits config.py: they have no settings of their own."""

from __future__ import annotations

from toy_kind import TOY

from lstmops import tasks
from lstmops.config import Params
from lstmops.data import kinds
from lstmops.data.ingest import snapshot, validate_snapshot
from lstmops.data.kinds import data_kind
from lstmops.data.prepare import prepare_series
from lstmops.tasks import get_task, task_names, tasks_for


def test_a_registered_toy_kind_and_task_go_through_the_generic_pipeline(monkeypatch, tmp_path):
    monkeypatch.setitem(kinds.DATA_KINDS, "toy", TOY)  # the kind's one registry line
    monkeypatch.setitem(tasks.REGISTRY, "toy", "toy_task")  # the task's one registry line
    params = Params.model_validate({"data": {"root": str(tmp_path / "data")}})

    (raw,) = snapshot("toy", params)
    prepared = prepare_series(validate_snapshot(raw, params).validated_path, params)
    task = get_task("toy")
    trained = task.train(prepared, params)
    evaluation = task.evaluate(trained, prepared, params, gate=True)

    assert data_kind("toy") is TOY and prepared.kind == "toy" and prepared.window == 5
    assert "toy" in task_names() and tasks_for("toy") == [task]
    assert params.for_task("toy").train == params.train  # no models.toy section: the shared one
    assert evaluation.metrics["mae"] < evaluation.metrics["mae_persistence"]
    trained.save(tmp_path / "model")
    assert task.trained_class().load(tmp_path / "model") == trained
