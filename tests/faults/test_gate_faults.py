"""Faults in the registry gate and in scoring (issue 15), injected into a real store with tiny forecasters:
a gate that died leaving its version at @challenger, a champion whose model.keras is truncated (its
sha256 then differs from the one recorded at registration, issue 31), and `lstmops score` on that champion. Each asserts the message, the exit code or decision, and what moved.
"""

from __future__ import annotations

import select
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
from typer.testing import CliRunner

from lstmops.cli.main import app
from lstmops.data import ingest, prepare
from lstmops.experiment.runner import gate, run_experiment
from lstmops.registry.audit import aliases_of, history
from lstmops.registry.locks import gate_lock
from lstmops.registry.rule import CHALLENGER, CHAMPION
from lstmops.registry.versions import register_version
from lstmops.tracking.store import ensure_experiment

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def params(tmp_path_factory, tiny_params):
    return tiny_params(
        tmp_path_factory.mktemp("data"),
        "forecaster",
        **{"prices.demo.n_days": 300, "windows.prices.window": 10, "train.epochs": 1, "models.forecaster.units": [4]},
    )


@pytest.fixture(scope="module")
def validated(params) -> Path:
    (result,) = ingest.validate_all(ingest.snapshot_prices(params, source="demo"), params)
    return result.validated_path


@pytest.fixture(scope="module")
def prepared(params, validated):
    return prepare.prepare_series(validated, params)


@pytest.fixture(scope="module")
def outcomes(mlflow_store, params, prepared):
    """Two tiny forecasters trained on the same series (different seeds), each its own logged model."""
    return [
        run_experiment(
            "forecaster", prepared, params.model_copy(update={"train": params.train.model_copy(update={"seed": seed})})
        )
        for seed in (1, 2)
    ]


def as_series(outcome, series: str):
    """The same trained model, registered under `forecaster-<series>`: one model name per test."""
    return replace(outcome, series=series)


def make_champion(outcome, series: str) -> str:
    version = register_version(as_series(outcome, series))
    MlflowClient().set_registered_model_alias(version.name, CHAMPION, version.version)
    return str(version.version)


def left_at_challenger(outcome, series: str) -> str:
    """What a gate killed (kill -9) between registering and deciding leaves: a version at @challenger,
    no `gate.*` decision, no audit entry."""
    version = register_version(as_series(outcome, series))
    MlflowClient().set_registered_model_alias(version.name, CHALLENGER, version.version)
    return str(version.version)


@contextmanager
def truncated_model_file(name: str, version: str) -> Iterator[Path]:
    """Cut the version's model.keras in half for the duration (every version of that run shares it)."""
    [path] = Path(download_artifacts(f"models:/{name}/{version}")).rglob("model.keras")
    intact = path.read_bytes()
    path.write_bytes(intact[: len(intact) // 2])
    try:
        yield path
    finally:
        path.write_bytes(intact)


def test_score_with_a_corrupt_champion_says_so_in_one_line(outcomes, validated, tmp_path):
    name = "forecaster-score-corrupt"
    make_champion(outcomes[0], "score-corrupt")
    before = aliases_of(name)
    with truncated_model_file(name, "1") as damaged:
        done = CliRunner().invoke(app, ["score", name, "--input", str(validated), "--out-dir", str(tmp_path)])

    assert done.exit_code == 1 and isinstance(done.exception, SystemExit)  # a message, not a crash
    [line] = done.output.strip().splitlines()
    # Its sha256 no longer matches the one recorded at registration: refused before MLflow opens it.
    assert line.startswith(f"ERROR: {name} v1: the model file {damaged} has sha256 ")
    assert line.endswith(f"; roll back (`lstmops registry rollback {name}`) or retrain")
    assert "Traceback" not in done.output
    assert aliases_of(name) == before and not list(tmp_path.iterdir())  # nothing written
    scoring = MlflowClient().search_runs([ensure_experiment("scoring")], f"tags.`model.name` = '{name}'")
    assert scoring == []  # and no scoring run logged


def test_a_champion_that_cannot_be_loaded_leaves_the_challenger_judged_by_the_baseline(outcomes, prepared, params):
    name = "forecaster-broken-champion"
    make_champion(outcomes[0], "broken-champion")
    champion_tags = MlflowClient().get_model_version(name, "1").tags
    with truncated_model_file(name, "1"):
        decision = gate(as_series(outcomes[1], "broken-champion"), prepared, params, actor="tester")

    assert decision.champion is None and decision.warning.startswith("champion v1 cannot be loaded")
    assert "model.keras has sha256 " in decision.warning and decision.reason.startswith(decision.warning)
    assert decision.test == decision.baseline_test  # the deciding test is the one against the baseline
    [entry] = history(name)
    assert entry["warning"] == decision.warning and entry["version"] == "2" and entry["incumbent"] is None
    # Promoted or not, the broken version never becomes a rollback target, and it is otherwise untouched.
    assert aliases_of(name) == ({CHAMPION: "2"} if decision.promoted else {CHAMPION: "1"})
    assert MlflowClient().get_model_version(name, "1").tags == champion_tags


DYING_GATE = """
import sys, time
from types import SimpleNamespace
from lstmops.registry.gate import register_and_gate

def hang(model_uri):
    print("evaluating", model_uri, flush=True)
    time.sleep(600)  # killed here, between registering the version and deciding it

run_id, model_uri, series = sys.argv[1:]
register_and_gate(SimpleNamespace(kind="forecaster", series=series, run_id=run_id, model_uri=model_uri), hang)
"""


def kill_gate_while_evaluating(outcome, series: str, folder: Path) -> None:
    """Run a gate in a child process and kill -9 it while it evaluates its challenger."""
    script = folder / "dying_gate.py"
    script.write_text(DYING_GATE)
    child = subprocess.Popen(
        [sys.executable, str(script), outcome.run_id, outcome.model_uri, series], stdout=subprocess.PIPE, text=True
    )
    try:
        ready, _, _ = select.select([child.stdout], [], [], 120)
        assert ready and child.stdout.readline().startswith("evaluating"), "the child gate never reached evaluation"
    finally:
        child.kill()  # SIGKILL: no finally, no atexit in the child
        child.wait(timeout=30)


def test_the_next_gate_decides_a_challenger_left_by_a_gate_killed_mid_decision(outcomes, prepared, params, tmp_path):
    name = "forecaster-orphan"
    make_champion(outcomes[0], "orphan")
    kill_gate_while_evaluating(outcomes[1], "orphan", tmp_path)
    assert aliases_of(name) == {CHAMPION: "1", CHALLENGER: "2"} and history(name) == []  # the fault

    decision = gate(as_series(outcomes[1], "orphan"), prepared, params, actor="tester")

    entries = history(name)
    assert [entry["version"] for entry in entries] == ["2", decision.version] == ["2", "3"]
    settled = entries[0]
    assert settled["action"] in ("promote", "reject") and settled["actor"] == "tester"
    assert settled["reason"].startswith("left undecided at @challenger by a gate that did not finish; decided")
    assert settled["aliases_before"][CHALLENGER] == "2"  # decided before anything moved its alias
    assert MlflowClient().get_model_version(name, "2").tags["gate.decision"] in ("promoted", "rejected")
    assert CHALLENGER not in aliases_of(name)


def test_an_undecided_challenger_that_cannot_be_evaluated_is_abandoned_with_an_audit_entry(outcomes, prepared, params):
    name = "forecaster-orphan-corrupt"
    make_champion(outcomes[1], "orphan-corrupt")
    orphan = left_at_challenger(outcomes[0], "orphan-corrupt")
    with truncated_model_file(name, orphan):
        decision = gate(as_series(outcomes[1], "orphan-corrupt"), prepared, params, actor="tester")

    abandoned, decided = history(name)
    assert (abandoned["action"], abandoned["version"], abandoned["actor"]) == ("abandon", orphan, "tester")
    assert abandoned["reason"].startswith("left undecided at @challenger by a gate that did not finish; abandoned")
    assert "model.keras has sha256 " in abandoned["reason"]
    assert abandoned["aliases_before"] == {CHAMPION: "1", CHALLENGER: orphan}
    assert abandoned["aliases_after"] == {CHAMPION: "1"}
    assert MlflowClient().get_model_version(name, orphan).tags["gate.decision"] == "abandoned"
    assert decided["version"] == decision.version == "3"


def test_a_challenger_whose_gate_is_still_running_is_left_to_that_gate(outcomes, prepared, params):
    name = "forecaster-in-flight"
    make_champion(outcomes[0], "in-flight")
    running = left_at_challenger(outcomes[1], "in-flight")
    still_deciding = gate_lock(name, running)
    still_deciding.acquire()  # as the gate that registered it holds it until it decides
    try:
        decision = gate(as_series(outcomes[1], "in-flight"), prepared, params, actor="tester")
    finally:
        still_deciding.release()

    assert [entry["version"] for entry in history(name)] == [decision.version] == ["3"]
    assert "gate.decision" not in MlflowClient().get_model_version(name, running).tags


def test_score_with_a_champion_whose_artifacts_are_gone_names_the_rollback(outcomes, validated, tmp_path):
    import shutil

    name = "forecaster-score-missing"
    make_champion(outcomes[0], "score-missing")
    before = aliases_of(name)
    folder = Path(download_artifacts(f"models:/{name}/1"))
    moved = tmp_path / "kept"
    shutil.move(folder, moved)  # the artifact folder deleted (kept aside to put back for the other tests)
    try:
        out = tmp_path / "out"
        done = CliRunner().invoke(app, ["score", name, "--input", str(validated), "--out-dir", str(out)])
    finally:
        shutil.move(moved, folder)

    assert done.exit_code == 1 and isinstance(done.exception, SystemExit), (done.output, done.exception)
    [line] = done.output.strip().splitlines()
    assert line.startswith(f"ERROR: {name} v1: its model files are gone from the artifact store (")
    assert "Traceback" not in done.output
    assert line.endswith(f"; roll back (`lstmops registry rollback {name}`) or retrain"), line
    assert aliases_of(name) == before and not out.exists()
