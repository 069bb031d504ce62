"""docs/extending.md's claim for a model task, held: a task package (tests/fixtures/toy_task.py) plus
one line in `lstmops.tasks.REGISTRY` is listed, trains on its data kind's prepared series and is
evaluated through the path the real tasks take, with no edit to config.py."""

from __future__ import annotations

from fakes import raw_prices

from lstmops import tasks
from lstmops.config import Params
from lstmops.data.prepare import prepare_frame
from lstmops.tasks import get_task, params_read, task_names, tasks_for


def test_a_registered_toy_task_is_listed_trained_and_evaluated(monkeypatch, tmp_path):
    monkeypatch.setitem(tasks.REGISTRY, "toy", "toy_task")  # the one registry line
    params = Params()
    prepared = prepare_frame(raw_prices(300), {"kind": "prices", "series": "TOY"}, params, tmp_path)

    task = get_task("toy")
    trained = task.train(prepared, params)
    evaluation = task.evaluate(trained, prepared, params, gate=True)

    assert "toy" in task_names() and task in tasks_for("prices")
    assert params_read("toy") == ("windows.split", "windows.prices", "train", "models.toy")
    assert params.for_task("toy").train == params.train  # no models.toy section: the shared one
    assert evaluation.metrics["mae"] < evaluation.metrics["mae_persistence"]
    trained.save(tmp_path / "model")
    assert task.trained_class().load(tmp_path / "model") == trained
