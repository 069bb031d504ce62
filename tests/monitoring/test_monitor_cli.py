"""`lstmops monitor` end to end on a private store: a tiny forecaster of DEMOA is trained on the first
300 business days of the demo series and made @champion; the validated data then holds 420 days,
unchanged (healthy), or with the returns' momentum reversed after the champion's data ends (drifted:
the champion now forecasts the wrong direction), or only the days it already had (nothing new)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
from typer.testing import CliRunner

from lstmops.cli.main import app
from lstmops.data import ingest, prepare
from lstmops.experiment.runner import run_experiment
from lstmops.monitoring import events
from lstmops.registry.rule import CHAMPION
from lstmops.registry.versions import register_version
from lstmops.tracking.pyfunc import load_trained

sys.path.insert(0, str(Path(__file__).parents[1] / "flows"))
from test_decay_trigger import RUNS, python, runs_after  # noqa: E402
from test_worker_integration import Processes, cli, loopback_prefect, ok, start_server  # noqa: E402

pytestmark = pytest.mark.integration

TRAINED_DAYS, ALL_DAYS = 300, 420
NAME = "forecaster-DEMOA"


def data_params(tiny_params, root, **changes):
    # Strong linear momentum (no threshold swing), which a few epochs learn: the champion then clearly
    # beats persistence.
    settings = {
        "prices.demo.n_days": ALL_DAYS,
        "prices.demo.momentum": 0.6,
        "prices.demo.swing": 0.0,
        "windows.prices.window": 10,
        "train.epochs": 20,
        **changes,
    }
    return tiny_params(root, "forecaster", **settings)


def params_file(params, path):
    path.write_text(yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False))
    return path


def validated(params):
    (result,) = ingest.validate_all(ingest.snapshot_prices(params, source="demo"), params)
    return result.validated_path


@pytest.fixture(scope="module")
def store(mlflow_store, tiny_params, tmp_path_factory):
    """The champion (trained on the first TRAINED_DAYS rows) and one param file per data case."""
    root = mlflow_store.root
    healthy = data_params(tiny_params, root / "healthy")
    frame, card = ingest.load_validated(validated(healthy))
    prefix = prepare.prepare_frame(frame.iloc[:TRAINED_DAYS], card, healthy, root / "features")
    outcome = run_experiment("forecaster", prefix, healthy)
    version = register_version(outcome)
    MlflowClient().set_registered_model_alias(version.name, CHAMPION, version.version)
    data_end = MlflowClient().get_run(outcome.run_id).data.tags["data.end"]
    drifted = data_params(
        tiny_params, root / "drifted", **{"prices.demo.change_after": data_end, "prices.demo.change_momentum": -0.6}
    )
    validated(drifted)
    unchanged = data_params(tiny_params, root / "unchanged", **{"prices.demo.n_days": TRAINED_DAYS})
    validated(unchanged)
    register_version(outcome.__class__(**{**outcome.__dict__, "series": "NOCHAMP"}))  # a model without @champion
    files = {
        case: params_file(p, root / f"{case}.yaml")
        for case, p in [("healthy", healthy), ("drifted", drifted), ("unchanged", unchanged)]
    }
    return {"version": str(version.version), "files": files, "data_end": data_end, "outcome": outcome, "prefix": prefix}


@pytest.fixture
def sent(monkeypatch):
    """The decay events `monitor` emits, captured instead of sent to a Prefect API."""
    captured = []
    monkeypatch.setattr(events, "emit_event", lambda **event: captured.append(event) or object())
    monkeypatch.setattr(events, "prefect_api_available", lambda: True)
    return captured


def monitor(*args):
    result = CliRunner().invoke(app, ["monitor", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def test_unchanged_data_is_not_decayed(store, sent, tmp_path):
    out = monitor("--params", store["files"]["healthy"], "--json", tmp_path / "m.json")
    line = next(line for line in out.splitlines() if line.startswith(f"{NAME} v"))
    assert line.split(": ", 1)[1].split(" — ")[0] in ("healthy", "warning"), out
    report = json.loads((tmp_path / "m.json").read_text())
    assert set(report) == {NAME}  # only models with a @champion by default
    assert report[NAME]["version"] == store["version"]
    assert report[NAME]["n"] >= 100  # about ALL_DAYS - TRAINED_DAYS new targets
    assert report[NAME]["evidence"]["new_from"] > store["data_end"]
    assert sent == []


def test_drifted_data_is_decayed_recorded_and_announced(store, sent, tmp_path):
    out = monitor("--params", store["files"]["drifted"], "--json", tmp_path / "m.json")
    assert f"{NAME} v{store['version']}: decayed — error ratio" in out
    report = json.loads((tmp_path / "m.json").read_text())[NAME]
    assert report["status"] == "decayed"
    assert report["evidence"]["error_ratio"] > report["evidence"]["holdout_ratio"]

    (event,) = sent
    assert event["event"] == "lstmops.model.decayed"
    assert event["resource"]["prefect.resource.id"] == f"lstmops.model.{NAME}"
    assert event["payload"]["version"] == store["version"]
    assert (event["payload"]["data_kind"], event["payload"]["series"]) == ("prices", "DEMOA")

    client = MlflowClient()
    assert client.get_model_version(NAME, store["version"]).tags["monitor.status"] == "decayed"
    experiment = client.get_experiment_by_name("lstmops-monitoring")
    (run,) = client.search_runs([experiment.experiment_id], order_by=["start_time DESC"], max_results=1)
    assert run.data.tags["model.name"] == NAME and run.data.tags["monitor.status"] == "decayed"
    assert run.data.metrics["monitor.n"] == report["n"]
    assert {"monitor.error_ratio", "monitor.dm_p"} <= set(run.data.metrics)
    assert [i.tags[0].value for i in run.inputs.dataset_inputs] == ["monitoring"]
    page = Path(download_artifacts(run_id=run.info.run_id, artifact_path="monitor/report.html")).read_text()
    assert ">decayed<" in page and "data:image/png;base64," in page  # the report with its figure

    listing = CliRunner().invoke(app, ["registry", "list"]).output
    assert any(line.startswith(NAME) and "decayed 20" in line for line in listing.splitlines()), listing


def test_no_new_rows_is_insufficient_data(store, sent):
    out = monitor("--params", store["files"]["unchanged"], NAME)
    assert f"{NAME} v{store['version']}: insufficient_data — no validated rows after" in out


def test_no_champion_is_skipped_and_a_missing_model_is_one_error(store, sent):
    out = monitor("--params", store["files"]["healthy"], "forecaster-NOCHAMP", "forecaster-NOSUCH", NAME)
    lines = out.splitlines()
    assert "forecaster-NOCHAMP: skipped — no @champion to check" in lines
    assert "forecaster-NOSUCH: error — no registered model 'forecaster-NOSUCH' (see `lstmops registry list`)" in lines
    assert any(line.startswith(f"{NAME} v{store['version']}: ") for line in lines)  # still checked


@contextmanager
def truncated_model_file(name: str, version: str):
    """Cut the version's model.keras in half for the duration (as tests/faults/test_gate_faults.py does)."""
    [path] = Path(download_artifacts(f"models:/{name}/{version}")).rglob("model.keras")
    intact = path.read_bytes()
    path.write_bytes(intact[: len(intact) // 2])
    try:
        yield path
    finally:
        path.write_bytes(intact)


def test_a_champion_that_cannot_be_loaded_is_one_error_and_the_others_are_checked(store, sent, tiny_params):
    # The same model logged again (its own files) and made the champion of another name.
    params = data_params(tiny_params, store["files"]["healthy"].parent / "healthy")
    again = run_experiment("forecaster", store["prefix"], params, trained=load_trained(store["outcome"].model_uri))
    broken = register_version(replace(again, series="BROKEN"))
    client = MlflowClient()
    client.set_registered_model_alias(broken.name, CHAMPION, broken.version)
    try:
        with truncated_model_file(broken.name, str(broken.version)):
            out = monitor("--params", store["files"]["healthy"])
    finally:
        client.delete_registered_model_alias(broken.name, CHAMPION)
    lines = out.splitlines()
    (error,) = [line for line in lines if line.startswith(broken.name)]
    # refused by the file-hash check of `serving` before anything is unpickled
    assert error.startswith(
        f"{broken.name} v{broken.version}: error — {broken.name} v{broken.version}: the model file "
    )
    assert error.endswith("recorded at registration; refusing to load it")
    assert any(line.startswith(f"{NAME} v{store['version']}: ") and ": error" not in line for line in lines)


def test_the_review_report_shows_the_versions_monitoring_history(store, sent, tmp_path):
    from lstmops.review.version_report import review

    monitor("--params", store["files"]["drifted"], NAME)
    page = review(NAME, store["version"], out_dir=tmp_path).read_text()
    section = page.split("<h2>Monitoring after promotion</h2>", 1)[1]
    assert "<td>decayed</td>" in section and store["data_end"][:4] in section  # the drifted check, its data, run
    experiment = MlflowClient().get_experiment_by_name("lstmops-monitoring")
    (run,) = MlflowClient().search_runs([experiment.experiment_id], order_by=["start_time DESC"], max_results=1)
    assert run.info.run_id in section


def test_on_a_real_prefect_server_a_decay_starts_one_retrain_of_that_model_and_healthy_data_none(store, tmp_path):
    """The whole loop on loopback: prefect.yaml deployed to a temporary Prefect server, `lstmops monitor` run as
    a user runs it (its own process, PREFECT_API_URL set). Healthy data sends nothing and starts nothing; drifted
    data, checked three times inside the cooldown, starts exactly one retrain, of that model's kind and series."""
    api_url, env = loopback_prefect(tmp_path)  # os.environ names the module's MLflow store

    def monitor_process(case: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "lstmops.cli.main", "monitor", "--params", str(store["files"][case]), NAME],
            cwd=os.getcwd(),
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return ok(done)

    processes = Processes(tmp_path, env)
    try:
        start_server(processes, api_url)
        for pool in ("cpu", "gpu"):
            ok(cli(env, "work-pool", "create", pool, "--type", "process"))
        ok(cli(env, "--no-prompt", "deploy", "--all"))

        out = monitor_process("healthy")
        assert ": decayed" not in out and "event sent" not in out, out
        time.sleep(10)  # a retrain, had the healthy check sent an event, would be scheduled by now
        assert json.loads(python(env, RUNS)) == {"retrain-prices": [], "retrain-sensors": []}

        outputs = [monitor_process("drifted") for _ in range(3)]
        assert all(f"{NAME} v{store['version']}: decayed" in out for out in outputs), outputs
        assert all("[event lstmops.model.decayed sent]" in out for out in outputs), outputs
        runs = runs_after(env, 90, lambda runs: runs["retrain-prices"])
        time.sleep(5)  # duplicates, had the cooldown failed, would be starting now
        runs = runs_after(env, 0, lambda runs: True)
        (retrain,) = runs["retrain-prices"]
        assert (retrain["series"], retrain["model_kinds"], retrain["data_kinds"]) == (
            ["DEMOA"],
            ["forecaster"],
            ["prices"],
        )
        assert runs["retrain-sensors"] == []
    finally:
        processes.stop_all()
