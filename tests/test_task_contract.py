"""The contract every registered model task meets, checked for each one: a new task gets these
tests by adding its line to `lstmops.tasks.REGISTRY`.

Each task's model is the session's tiny one (conftest `tiny_model`: one epoch on the task's tiny demo
settings, `ModelTask.tiny_overrides`).
"""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest

from lstmops.data.kinds import DATA_KINDS
from lstmops.tasks import get_task, task_names
from lstmops.tracking.pyfunc import load_trained, log_bundle_model
from lstmops.train.common import MODEL_FILE, PREPROCESSING_FILE


@pytest.fixture(scope="module", params=task_names())
def task(request):
    return get_task(request.param)


@pytest.fixture(scope="module")
def setup(task, tiny_model):
    """(params, demo series, trained model) of one task, trained for one epoch."""
    model = tiny_model(task.name)
    return model.params, model.demo, model.trained


def test_the_task_consumes_a_registered_data_kind(task):
    assert task.data_kind in DATA_KINDS


def test_save_and_load_give_back_the_same_predictions(task, setup, tmp_path):
    _, demo, trained = setup

    trained.save(tmp_path / "model")
    loaded = task.trained_class().load(tmp_path / "model")

    assert sorted(path.name for path in (tmp_path / "model").iterdir()) == [MODEL_FILE, PREPROCESSING_FILE]
    assert loaded.history == trained.history
    pd.testing.assert_frame_equal(loaded.predict_raw(demo.raw), trained.predict_raw(demo.raw))


def test_a_folder_saved_by_another_task_is_refused(task, setup, tmp_path):
    _, _, trained = setup
    other = next(name for name in task_names() if name != task.name)
    trained.save(tmp_path)
    state = tmp_path / PREPROCESSING_FILE
    state.write_text(json.dumps({**json.loads(state.read_text()), "kind": other}))

    with pytest.raises(ValueError, match=f"holds a '{other}' model, not a '{task.name}'"):
        task.trained_class().load(tmp_path)


def test_the_input_example_is_raw_input_that_predict_raw_accepts(setup):
    _, _, trained = setup

    predictions = trained.predict_raw(trained.input_example())

    assert isinstance(predictions, pd.DataFrame) and len(predictions) > 0


def test_evaluation_reports_the_primary_metric_beside_its_baseline_and_draws_plots(task, setup):
    params, demo, trained = setup

    evaluation = task.evaluate(trained, demo.prepared, params)

    assert {evaluation.primary_metric, evaluation.baseline_metric} <= set(evaluation.metrics)
    assert evaluation.figures


def test_the_gate_mode_gives_the_same_verdict_without_figures(task, setup):
    params, demo, trained = setup

    full = task.evaluate(trained, demo.prepared, params)
    gate = task.evaluate(trained, demo.prepared, params, gate=True)

    assert gate.figures == {}
    assert gate.score == full.score and gate.baseline_score == full.baseline_score


def test_data_of_another_kind_is_refused_before_training(task, setup, demo_series):
    params, _, _ = setup
    other_kind = next(name for name in DATA_KINDS if name != task.data_kind)
    other = demo_series(params, other_kind).prepared

    with pytest.raises(ValueError, match=f"'{task.name}' trains on {task.data_kind} data"):
        task.train(other, params)


def test_the_logged_pyfunc_serves_what_the_model_predicts(mlflow_store, setup):
    _, demo, trained = setup

    with mlflow.start_run():
        info = log_bundle_model(trained)

    served = mlflow.pyfunc.load_model(info.model_uri).predict(demo.raw)
    # The signature hands times back at microsecond resolution: same instants, another dtype.
    pd.testing.assert_frame_equal(served, trained.predict_raw(demo.raw), check_dtype=False)
    assert type(load_trained(info.model_uri)) is type(trained)
