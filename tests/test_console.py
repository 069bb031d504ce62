"""What a user sees on the console: fast commands, no library chatter, detail back on request."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from lstmops.common import console

ROOT = Path(__file__).resolve().parents[1]
# what validates, trains, or tests significance (statsmodels: only the registry gate needs it)
HEAVY = {"great_expectations", "tensorflow", "keras", "statsmodels"}


def imported_packages(*args: str, env: dict[str, str]) -> set[str]:
    """Top-level packages `lstmops ARGS` imports, read from `python -X importtime` (bounded: 120 s)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lstmops.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


# (history of a model the empty store lacks: it answers "no such model", after the same imports)
@pytest.mark.parametrize("command", [["--help"], ["registry", "list"], ["registry", "history", "forecaster-DEMOA"]])
def test_help_and_the_registry_commands_load_no_validation_training_or_statistics_library(command, tmp_path):
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
        "PYTHONPATH": str(ROOT / "src"),
        "DO_NOT_TRACK": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    assert not imported_packages(*command, env=env) & HEAVY


def test_a_training_on_jax_from_the_cli_prints_no_tensorflow_or_mlflow_start_up_lines(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TF_CPP_MIN_LOG_LEVEL", "MLFLOW_TRACKING_URI", console.LOG_LEVEL_VARIABLE)
    }  # a user's shell (not make's): data/ and mlruns/ in the working directory
    env |= {"KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT / "src"), "MLFLOW_DISABLE_TELEMETRY": "true"}
    tiny = [
        "--set",
        "train.epochs=1",
        "--set",
        "models.forecaster.units=[8]",
        "--set",
        "models.forecaster.backtest_folds=0",
    ]
    params = ["--params", str(ROOT / "params.yaml")]

    def lstmops(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "lstmops.cli", *args],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=tmp_path,
        )

    ingested = lstmops("ingest", "prices", "--source", "demo", "--ticker", "DEMOA", *params)
    trained = lstmops("train", "forecaster", "--series", "DEMOA", "--no-register", *params, *tiny)

    assert ingested.returncode == 0 and trained.returncode == 0, ingested.stderr + trained.stderr
    console_text = ingested.stdout + ingested.stderr + trained.stdout + trained.stderr
    for line in ("oneDNN custom operations", "absl::InitializeLog", "cpu_feature_guard", "Creating initial MLflow"):
        assert line not in console_text
    assert "forecaster DEMOA: mae" in trained.stdout


def test_library_notices_are_dropped_but_other_warnings_still_show(monkeypatch, caplog):
    monkeypatch.delenv(console.LOG_LEVEL_VARIABLE, raising=False)
    console.quiet_libraries()

    with caplog.at_level(logging.INFO):
        logging.getLogger("mlflow.pyfunc").warning("Passing a Python object as `python_model` causes ...")
        logging.getLogger("tensorflow").warning("5 out of the last 9 calls to <f> triggered tf.function retracing.")
        logging.getLogger("mlflow.pyfunc").warning("the model's signature does not match")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        console.quiet_libraries()  # catch_warnings reset the filters: apply them again
        warnings.warn("Hint: Inferred schema contains integer column(s).", UserWarning, stacklevel=1)
        warnings.warn("something else", UserWarning, stacklevel=1)

    assert [record.getMessage() for record in caplog.records] == ["the model's signature does not match"]
    assert [str(w.message) for w in caught] == ["something else"]


def test_verbose_means_lstmops_log_level_debug(monkeypatch):
    monkeypatch.delenv(console.LOG_LEVEL_VARIABLE, raising=False)
    assert not console.verbose()
    console.set_verbose()
    assert console.verbose() and os.environ[console.LOG_LEVEL_VARIABLE] == "DEBUG"


def test_stderr_silenced_hides_what_a_c_library_writes_to_descriptor_2(capfd):
    with console.stderr_silenced():
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on\n")
    os.write(2, b"after\n")

    assert capfd.readouterr().err == "after\n"
