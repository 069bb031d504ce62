"""The Prefect flows in-process, under Prefect's test harness, on tiny demo data.

Training is replaced by a fake `isolated.run_experiment_within` (the training in its child process;
the registry gate by a fake `runner.gate`): these tests are about orchestration - what runs, in which order, what is
skipped, retried, limited or stopped - not about models, which tests/train and tests/evaluate cover.
The real training path through a Prefect worker is tests/flows/test_worker_integration.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from uuid import UUID

import mlflow
import pandas as pd
import pytest
import yaml
from prefect.artifacts import Artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.settings import temporary_settings
from prefect.testing.utilities import prefect_test_harness

from lstmops import tasks
from lstmops.data import demo_prices
from lstmops.evaluate.markdown import evaluation_markdown
from lstmops.evaluate.report import Evaluation
from lstmops.experiment import isolated, runner
from lstmops.experiment.runner import ExperimentOutcome
from lstmops.registry import rule, versions

FLOWS = Path(__file__).resolve().parents[2] / "flows"
sys.path.insert(0, str(FLOWS))  # the flows are scripts that import their siblings by name

import evaluate as evaluate_flow  # noqa: E402
import ingest as ingest_flow  # noqa: E402
import retrain as retrain_flow  # noqa: E402
import score as score_flow  # noqa: E402
import shell  # noqa: E402
import train as train_flow  # noqa: E402

TINY = {
    "prices": {"tickers": ["DEMOA"], "demo": {"n_days": 300}},
    "sensors": {"series": ["demo/machine_a"], "demo": {"n_points": 600}},
    "train": {"epochs": 1, "verbose": 0},
    "models": {"seq2seq": {"seasons": [48, 288]}},  # a day of 5-minute samples fits in 600 rows
}


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    """One temporary Prefect server for the session (it takes seconds to start); results in a tmp folder."""
    results = tmp_path_factory.mktemp("prefect-results")
    with prefect_test_harness(server_startup_timeout=120):
        with temporary_settings(updates={"results.local_storage_path": results}):
            yield


@pytest.fixture
def params_file(tmp_path, monkeypatch, prefect_api):
    """Tiny params with a tmp data root, and a private MLflow store (MLflow's process-wide URIs reset after)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"data": {"root": str(tmp_path / "data")}, **TINY}))
    yield str(path)
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


class FakeTraining:
    """Stands in for isolated.run_experiment_within: records each call; `seconds[kind]` makes one take long;
    the kinds in `really` go to the real one (a child process its timeout kills)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.really: set[str] = set()
        self.calls: list[dict] = []
        self.lock = threading.Lock()
        self.real = isolated.run_experiment_within

    def __call__(
        self, timeout_s, kind, prepared, params, *, tracking_uri, run_name=None, tags=None
    ) -> ExperimentOutcome:
        if kind in self.really:
            return self.real(timeout_s, kind, prepared, params, tracking_uri=tracking_uri, run_name=run_name, tags=tags)
        started = time.monotonic()
        call = {
            "kind": kind,
            "series": prepared.series,
            "data": prepared.kind,
            "run_name": run_name,
            "tags": tags,
            "started": started,
            "finished": None,
        }
        with self.lock:
            self.calls.append(call)
        while time.monotonic() - started < self.seconds.get(kind, 0.0):
            time.sleep(0.05)  # a training loop returns to Python often, like Keras between batches
        call["finished"] = time.monotonic()
        evaluation = Evaluation(
            {"mae": 1.0, "mae_persistence": 1.25, "mae_drift": 1.5, "mase": 0.8},
            primary_metric="mae",
            baseline_metric="mae_persistence",
            higher_is_better=False,
        )
        run_id = f"run-{kind}-{len(self.calls)}"
        return ExperimentOutcome(
            kind, prepared.series, run_id, f"runs:/{run_id}/model", evaluation, evaluation.beats_baseline(), 0.1
        )


@pytest.fixture
def training(monkeypatch):
    fake = FakeTraining()
    monkeypatch.setattr(isolated, "run_experiment_within", fake)
    return fake


@pytest.fixture
def gate(monkeypatch):
    decisions = []

    def register_and_gate(outcome, prepared, params, *, actor):
        name = versions.registered_model_name(outcome.kind, outcome.series)
        side = rule.Side("1", outcome.evaluation.score, outcome.evaluation.baseline_score, {})
        decision = rule.Decision(name, "1", True, f"first version (by {actor})", "mae", side, None)
        decisions.append((outcome, prepared, decision))
        return decision

    monkeypatch.setattr(runner, "gate", register_and_gate)
    return decisions


def task_states(flow_run_id: UUID) -> dict[str, str]:
    """Task run name -> final state name ('Completed', 'Cached', 'Failed', ...) of one flow run."""
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name: run.state.name for run in runs}


# ---------------------------------------------------------------- the happy path


def test_retrain_trains_each_model_on_its_data_reports_it_and_hands_it_to_the_gate(params_file, training, gate):
    summary = retrain_flow.retrain(params_file=params_file)

    trained = sorted((call["kind"], call["series"], call["data"]) for call in training.calls)
    assert trained == [
        ("autoencoder", "demo/machine_a", "sensors"),
        ("forecaster", "DEMOA", "prices"),
        ("seq2seq", "demo/machine_a", "sensors"),
    ]
    by_kind = {call["kind"]: call for call in training.calls}
    assert by_kind["forecaster"]["run_name"].startswith("forecaster-DEMOA-20")  # ... and the newest bar's date
    assert by_kind["autoencoder"]["run_name"].startswith("autoencoder-demo/machine_a-20")
    assert by_kind["forecaster"]["tags"]["prefect.flow_run_name"] == "retrain-prices+sensors"

    assert sorted(outcome.kind for outcome, _, _ in gate) == ["autoencoder", "forecaster", "seq2seq"]
    assert all(prepared.series == outcome.series for outcome, prepared, _ in gate)
    assert {row["decision"] for row in summary} == {d.summary() for _, _, d in gate}
    assert all(d.reason.endswith("(by prefect:retrain-prices+sensors)") for _, _, d in gate)

    report = Artifact.get("forecaster-demoa-evaluation")
    assert "| metric | model | persistence | drift |" in report.data
    assert "| mae | 1 | 1.25 | 1.5 |" in report.data
    assert "run-forecaster-" in report.data


def test_a_retrain_narrowed_to_one_model_trains_only_that_one(params_file, training, gate):
    # What a `lstmops.model.decayed` trigger starts (prefect.yaml): one model task on one series.
    retrain_flow.retrain(
        params_file=params_file, data_kinds=["sensors"], series=["demo/machine_a"], model_kinds=["seq2seq"]
    )
    assert [(call["kind"], call["series"]) for call in training.calls] == [("seq2seq", "demo/machine_a")]
    with pytest.raises(ValueError, match="none of the series"):
        retrain_flow.retrain(params_file=params_file, data_kinds=["prices"], series=["NOSUCH"])


def test_the_train_flow_trains_one_kind_on_one_series_and_gates_only_when_asked(params_file, training, gate):
    experiment_run = train_flow.train("seq2seq", "demo/machine_a", params_file=params_file)
    release = train_flow.train("seq2seq", "demo/machine_a", params_file=params_file, promote_model=True)

    assert [(call["kind"], call["series"]) for call in training.calls] == [("seq2seq", "demo/machine_a")] * 2
    assert [outcome.run_id for outcome, _, _ in gate] == [release.run_id] != [experiment_run.run_id]


def test_runs_started_from_a_shell_send_no_heartbeats_and_deployment_runs_keep_them():
    from prefect.settings import get_current_settings

    deployment_default = get_current_settings().flows.heartbeat_frequency
    with shell.started_from_a_shell():  # what `python flows/<flow>.py` (make run) wraps the flow call in
        assert get_current_settings().flows.heartbeat_frequency is None
    assert get_current_settings().flows.heartbeat_frequency == deployment_default is not None


def test_make_run_with_a_misspelt_params_key_says_so_in_one_line_and_starts_no_flow(tmp_path):
    (tmp_path / "params.yaml").write_text("train:\n  epoch: 2\n")
    code_path = os.pathsep.join([str(FLOWS.parent / "src"), str(FLOWS)])  # this checkout, not an installed copy
    env = {**os.environ, "PYTHONPATH": code_path, "PREFECT_HOME": str(tmp_path / "prefect"), "LSTMOPS_DEBUG": ""}

    result = subprocess.run(  # what `make run` runs
        [sys.executable, str(FLOWS / "retrain.py")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == "ERROR: unknown key train.epoch in params.yaml (did you mean train.epochs?)"
    assert result.stdout == ""


def test_every_flow_script_ends_a_known_error_in_one_line_and_keeps_a_bugs_traceback(tmp_path, capsys, monkeypatch):
    from lstmops.data.prices import NetworkIngestError

    monkeypatch.delenv("LSTMOPS_DEBUG", raising=False)
    (tmp_path / "bad.yaml").write_text("train:\n  epochs: 0\n")
    (tmp_path / "good.yaml").write_text("train:\n  epochs: 2\n")
    with pytest.raises(SystemExit) as invalid, shell.run_from_a_shell(str(tmp_path / "bad.yaml")):
        pytest.fail("the flow must not start with invalid params")
    assert invalid.value.code == 2
    assert "bad.yaml: invalid parameters: train.epochs: Input should be greater than" in capsys.readouterr().err

    with pytest.raises(SystemExit) as failed, shell.run_from_a_shell(str(tmp_path / "good.yaml")):
        raise NetworkIngestError("could not reach Yahoo")  # a known error raised by the flow
    assert failed.value.code == 1 and capsys.readouterr().err == "ERROR: could not reach Yahoo\n"

    with pytest.raises(KeyError), shell.run_from_a_shell(str(tmp_path / "good.yaml")):
        raise KeyError("a bug")


def test_the_metrics_table_puts_each_baseline_beside_its_metric():
    evaluation = Evaluation(
        {"f1": 0.6, "f1_threshold_max": 0.4, "precision": 0.5, "recall": 0.75},
        primary_metric="f1",
        baseline_metric="f1_threshold_max",
        higher_is_better=True,
    )

    markdown = evaluation_markdown("autoencoder", evaluation, "footer")

    assert "| metric | model | threshold_max |" in markdown
    assert "| f1 | 0.6 | 0.4 |" in markdown and "| recall | 0.75 |  |" in markdown
    assert "model 0.6, baseline (f1_threshold_max) 0.4 → **beats the baseline**" in markdown


# ---------------------------------------------------------------- the validation gate


def test_a_batch_failing_validation_fails_the_flow_with_its_message_and_nothing_trains(
    params_file, training, gate, monkeypatch, tmp_path
):
    real_demo = demo_prices.demo_prices

    def high_below_low_on_row_5(ticker, **kwargs):
        frame = real_demo(ticker, **kwargs)
        frame.loc[5, ["high", "low"]] = frame.loc[5, ["low", "high"]].to_numpy()
        return frame

    monkeypatch.setattr(demo_prices, "demo_prices", high_below_low_on_row_5)

    with pytest.raises(Exception, match="high") as failure:
        retrain_flow.retrain(params_file=params_file)

    assert "DEMOA" in str(failure.value) and "line 7" in str(failure.value)
    assert training.calls == [] and gate == []
    assert (tmp_path / "data" / "quarantine" / "prices").is_dir()
    assert not (tmp_path / "data" / "features").exists()


# ---------------------------------------------------------------- retries on the network fetch


def _yfinance_frame(start: str, n_days: int):
    bars = demo_prices.demo_prices("FLAKY", n_days=n_days, start=start, seed=3)
    frame = bars.set_index("date").rename(columns=str.title)
    frame.index.name = "Date"
    return frame


@pytest.fixture
def yahoo(params_file, monkeypatch):
    """Params for the yahoo source with zero backoff, and a stand-in for `yfinance.download`."""
    import yfinance

    frame = _yfinance_frame("2024-01-02", 260)
    end = (frame.index.max() + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    overrides = {
        "prices.source": "yahoo",
        "prices.tickers": ["FLAKY"],
        "prices.start": "2024-01-02",
        "prices.end": end,
        "prices.yahoo.retries": 3,
        "prices.yahoo.backoff_seconds": 0.0,
    }
    calls = []

    def install(failures: int, *, unknown_ticker: bool = False):
        def download(ticker, **kwargs):
            calls.append(ticker)
            if len(calls) <= failures:
                raise ConnectionError("Could not resolve host: query2.finance.yahoo.com")
            return frame.iloc[:0] if unknown_ticker else frame

        monkeypatch.setattr(yfinance, "download", download)
        return calls

    return overrides, install


def test_a_flaky_download_succeeds_on_the_third_attempt_through_prefect_retries(params_file, yahoo):
    overrides, install = yahoo
    calls = install(failures=2)

    state = ingest_flow.ingest("prices", params_file, overrides, return_state=True)

    (prepared,) = state.result()
    assert prepared.series == "FLAKY" and len(calls) == 3
    assert task_states(state.state_details.flow_run_id)["snapshot-prices-yahoo-FLAKY"] == "Completed"


def test_an_unknown_ticker_is_not_retried(params_file, yahoo):
    overrides, install = yahoo
    calls = install(failures=0, unknown_ticker=True)

    with pytest.raises(Exception, match="no data for FLAKY"):
        ingest_flow.ingest("prices", params_file, overrides)

    assert len(calls) == 1


def test_a_download_that_keeps_failing_fails_the_flow_after_the_configured_attempts(params_file, yahoo):
    overrides, install = yahoo
    calls = install(failures=99)

    with pytest.raises(Exception, match="network failure downloading FLAKY"):
        ingest_flow.ingest("prices", params_file, overrides)

    assert len(calls) == 3


# ---------------------------------------------------------------- caching on the data fingerprint


def test_unchanged_data_takes_validation_and_features_from_the_cache(params_file, tmp_path):
    def run(**overrides):
        state = ingest_flow.ingest("prices", params_file, overrides, return_state=True)
        return state.result(), task_states(state.state_details.flow_run_id)

    _, first = run()
    (prepared,), second = run()
    features = tmp_path / "data" / "features" / "prices" / "demo" / "DEMOA"
    for path in features.iterdir():  # someone cleaned the features: they are rebuilt, not assumed
        path.unlink()
    _, after_cleaning = run()
    _, changed = run(**{"prices.demo.n_days": 301})

    validate, prepare = "validate-prices", f"prepare-prices-DEMOA-{prepared.card['sha256'][:12]}"
    assert (first[validate], first[prepare]) == ("Completed", "Completed")
    assert (second[validate], second[prepare]) == ("Cached", "Cached")
    assert second["snapshot-prices-demo-DEMOA"] == "Completed"  # the fingerprint is always taken afresh
    assert prepared.window_counts()["train"] > 0
    assert (after_cleaning[validate], after_cleaning[prepare]) == ("Cached", "Completed")
    assert (features / "features.parquet").exists()
    assert changed[validate] == "Completed" and all(state == "Completed" for state in changed.values())


def test_changing_the_features_prepares_again_but_keeps_the_validation(params_file):
    ingest_flow.ingest("prices", params_file)
    state = ingest_flow.ingest(
        "prices", params_file, {"windows.prices.features": ["log_return", "range"]}, return_state=True
    )

    states = task_states(state.state_details.flow_run_id)
    (prepared,) = state.result()
    assert states["validate-prices"] == "Cached"
    assert prepared.columns == ["log_return", "range"]
    assert states[f"prepare-prices-DEMOA-{prepared.card['sha256'][:12]}"] == "Completed"


def test_a_longer_window_validates_again_because_the_minimum_length_moved(params_file):
    ingest_flow.ingest("prices", params_file)
    state = ingest_flow.ingest("prices", params_file, {"windows.prices.window": 20}, return_state=True)

    states = task_states(state.state_details.flow_run_id)
    (prepared,) = state.result()
    assert states["validate-prices"] == "Completed"
    assert prepared.window == 20 and states[f"prepare-prices-DEMOA-{prepared.card['sha256'][:12]}"] == "Completed"


# ---------------------------------------------------------------- training: parallel, limited, timed out


def _overlap(calls: list[dict]) -> bool:
    spans = sorted((call["started"], call["finished"]) for call in calls)
    return any(later_start < earlier_end for (_, earlier_end), (later_start, _) in zip(spans, spans[1:]))


def test_trainings_run_side_by_side_unless_a_concurrency_limit_allows_one(params_file, training, gate):
    training.seconds = dict.fromkeys(("forecaster", "autoencoder", "seq2seq"), 1.5)
    retrain_flow.retrain(params_file=params_file)
    parallel = list(training.calls)

    training.calls.clear()
    with get_client(sync_client=True) as client:
        client.create_concurrency_limit(tag="gpu-training-test", concurrency_limit=1)
    retrain_flow.retrain(params_file=params_file, training_limit="gpu-training-test")

    assert len(parallel) == 3 and _overlap(parallel)
    assert len(training.calls) == 3 and not _overlap(training.calls)


def test_a_training_limit_the_server_lacks_is_an_error_not_a_silent_oversubscription(params_file, training, gate):
    with pytest.raises(ValueError, match="prefect concurrency-limit create no-such-limit 1"):
        retrain_flow.retrain(params_file=params_file, data_kinds=["prices"], training_limit="no-such-limit")

    assert training.calls == []


@pytest.mark.faults
def test_a_training_past_its_timeout_fails_the_flow_after_the_other_models_are_gated(
    params_file, training, gate, monkeypatch
):
    """The forecaster's training hangs (tests/fixtures/hung_task.py) in the child process its timeout kills."""
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "fixtures"))  # the child imports the task by name
    monkeypatch.setitem(tasks.REGISTRY, "forecaster", "hung_task")
    training.really = {"forecaster"}

    with pytest.raises(RuntimeError, match="1 training\\(s\\) failed") as failure:
        retrain_flow.retrain(params_file=params_file, training_timeout_s=3.0)

    assert "forecaster DEMOA: training stopped after 3 s, its training_timeout_s" in str(failure.value)
    assert sorted(outcome.kind for outcome, _, _ in gate) == ["autoencoder", "seq2seq"]


# ---------------------------------------------------------------- scoring and evaluating registered models


class TwiceTheValue(mlflow.pyfunc.PythonModel):
    """A stand-in serving model: raw sensor frame in, a score per timestamp out."""

    def predict(self, context, model_input, params=None):
        return pd.DataFrame({"timestamp": model_input["timestamp"], "score": 2 * model_input["value"]})


def register_champion(name: str) -> str:
    from lstmops.tracking import store

    store.configure_tracking()
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="model", python_model=TwiceTheValue(), pip_requirements=["pandas"])
    version = str(mlflow.register_model(info.model_uri, name).version)
    mlflow.MlflowClient().set_registered_model_alias(name, "champion", version)
    return version


def test_score_writes_the_champions_predictions_for_the_newest_validated_data(params_file, tmp_path):
    version = register_champion("autoencoder-demo__machine_a")

    (summary,) = score_flow.score("sensors", model_kinds=["autoencoder"], params_file=params_file)

    predictions = pd.read_parquet(tmp_path / "data" / "predictions" / "autoencoder-demo__machine_a.parquet")
    validated = pd.read_parquet(tmp_path / "data" / "validated" / "sensors" / "demo" / "demo__machine_a.parquet")
    assert summary.startswith(f"autoencoder-demo__machine_a v{version} (@champion) scored 600 rows")
    assert (predictions["score"].to_numpy() == 2 * validated["value"].to_numpy()).all()
    assert (predictions["model_version"] == int(version)).all()
    assert f"| autoencoder-demo__machine_a | {version} | 600 |" in Artifact.get("score-sensors").data


def test_score_skips_a_series_whose_model_has_no_champion_and_says_so(params_file, tmp_path):
    two_series = yaml.safe_load(Path(params_file).read_text())
    two_series["sensors"]["series"] = ["demo/machine_a", "demo/machine_b"]
    Path(params_file).write_text(yaml.safe_dump(two_series))
    version = register_champion("autoencoder-demo__machine_a")  # machine_b's detector never won the gate

    (summary,) = score_flow.score("sensors", model_kinds=["autoencoder"], params_file=params_file)

    assert summary.startswith(f"autoencoder-demo__machine_a v{version} (@champion) scored 600 rows")
    assert not (tmp_path / "data" / "predictions" / "autoencoder-demo__machine_b.parquet").exists()
    assert "Skipped: no registered model 'autoencoder-demo__machine_b'" in Artifact.get("score-sensors").data


def test_score_without_a_champion_says_what_is_missing(params_file):
    # no version of the seq2seq was ever registered in this store: said the way every command says it
    with pytest.raises(Exception, match="no registered model 'seq2seq-demo__machine_a'"):
        score_flow.score("sensors", model_kinds=["seq2seq"], params_file=params_file)


def test_evaluate_scores_the_champion_on_the_newest_data_with_the_gates_evaluator(params_file, monkeypatch):
    asked = []

    def evaluator(kind, prepared, params):
        def evaluate(model_uri):
            asked.append((kind, prepared.series, prepared.kind, model_uri))
            return Evaluation({"mae": 0.5, "mae_persistence": 0.6}, "mae", "mae_persistence", False)

        return evaluate

    monkeypatch.setattr(runner, "gate_evaluator", evaluator)

    metrics = evaluate_flow.evaluate("forecaster", "DEMOA", params_file=params_file)

    assert asked == [("forecaster", "DEMOA", "prices", "models:/forecaster-DEMOA@champion")]
    assert metrics == {"mae": 0.5, "mae_persistence": 0.6}
    assert "| mae | 0.5 | 0.6 |" in Artifact.get("evaluate-forecaster-demoa").data


# ---------------------------------------------------------------- GPU work pool job templates


def _render(template_path: Path, **worker_values) -> dict:
    """A base job template's job configuration with its variables' defaults, as a worker renders it."""
    import json

    from prefect.utilities.templating import apply_values

    template = json.loads(template_path.read_text())
    defaults = {
        name: spec["default"] for name, spec in template["variables"]["properties"].items() if "default" in spec
    }
    return apply_values(template["job_configuration"], {**defaults, **worker_values}, remove_notset=True)


def test_the_kubernetes_template_renders_a_valid_job_that_requests_a_gpu():
    import kubernetes_validate

    config = _render(
        FLOWS.parent / "infra" / "k8s" / "gpu-job-template.json",
        name="retrain-prices",
        labels={"prefect.io/flow-run-id": "0"},
        command="prefect flow-run execute",
    )
    job = config["job_manifest"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": k, "value": v} for k, v in container["env"].items()]  # as the worker does
    container["args"] = container["args"].split()
    pod = job["spec"]["template"]["spec"]
    # prefect-kubernetes insists on these two in the pod spec (its manifest check); Kubernetes drops them.
    assert (pod.pop("parallelism"), pod.pop("completions")) == (1, 1)

    kubernetes_validate.validate(job, "1.31.0", strict=True)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert job["spec"]["template"]["spec"]["tolerations"][0]["key"] == "nvidia.com/gpu"


def test_the_docker_template_renders_an_nvidia_device_request_docker_accepts():
    from docker.types import HostConfig

    config = _render(FLOWS.parent / "infra" / "docker" / "gpu-job-template.json")
    create = config["container_create_kwargs"]

    host = HostConfig(version="1.44", device_requests=create["device_requests"], shm_size=create["shm_size"])
    (request,) = host["DeviceRequests"]
    assert (request["Driver"], request["Count"], request["Capabilities"]) == ("nvidia", 1, [["gpu"]])


def test_a_multi_step_models_table_shows_a_few_steps_not_one_column_per_step():
    metrics = {"mae": 0.5, "mae_seasonal": 1.8, "mae_persistence": 1.2}
    metrics |= {f"mae_step_{step}": 0.1 * step for step in range(1, 25)}
    evaluation = Evaluation(metrics, primary_metric="mae", baseline_metric="mae_seasonal", higher_is_better=False)

    markdown = evaluation_markdown("seq2seq", evaluation, "footer")

    assert "| metric | model | seasonal | persistence |" in markdown
    assert "| mae_step_1 | 0.1 |  |  |" in markdown and "| mae_step_24 | 2.4 |  |  |" in markdown
    assert "mae_step_2 " not in markdown and "steps 1, 13 and 24 of 24 shown" in markdown
