"""The README's registry examples, run as written against a registry in the state the README describes.

The README section "The registry after `make run`" lists commands that work once `make run` left
champions, and a rollback that works once a second version of a model won the gate. Here the store
holds that state built from tiny pyfuncs (tests/fixtures/toy_pyfunc_model.py) instead of trained
networks, and each `lstmops registry ...` / `lstmops score ...` line of the section runs through the CLI.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from lstmops.cli import app
from lstmops.config import load_params
from lstmops.tracking import ensure_experiment

ROOT = Path(__file__).resolve().parents[1]
TOY_MODEL = Path(__file__).parent / "fixtures" / "toy_pyfunc_model.py"
SECTION = "### The registry after `make run`"


def readme_registry_commands() -> list[list[str]]:
    """Each `lstmops registry|score ...` line of the README section's code blocks, as argv (comments cut)."""
    text = (ROOT / "README.md").read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL):
        for line in block.splitlines():
            argv = shlex.split(line, comments=True)
            if argv[:2] in (["lstmops", "registry"], ["lstmops", "score"]):
                commands.append(argv[1:])
    return commands


def readme_second_champion_route() -> list[str]:
    """The lines of the section's code block that leads to a second champion (the one editing params.yaml)."""
    section = (ROOT / "README.md").read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    [block] = [block for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL) if "sed " in block]
    return block.splitlines()


def model_named(argv: list[str]) -> str | None:
    """The model a command is about (`registry history NAME`, `score NAME`); None for `registry list`."""
    positional = [arg for arg in argv if not arg.startswith("-")]
    if positional[0] == "score":
        return positional[1]
    return positional[2] if len(positional) > 2 else None


def model_kind_and_series(name: str) -> tuple[str, str]:
    kind, _, series = name.partition("-")
    return kind, series.replace("__", "/")


def log_toy_version(name: str, config: dict) -> str:
    """A run the way a training leaves it (lineage tags naming its data, a pyfunc) registered as a version of `name`."""
    kind, series = model_kind_and_series(name)
    data_kind = "prices" if kind == "forecaster" else "sensors"
    tags = {"kind": kind, "series": series, "data.kind": data_kind, "data.source": "demo"}
    with mlflow.start_run(experiment_id=ensure_experiment(kind), tags=tags):
        mlflow.log_metrics({"mae": 0.1, "mae_persistence": 0.5})
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(TOY_MODEL), model_config=config, pip_requirements=["mlflow", "pandas"]
        )
    client = MlflowClient()
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name, tags={"kind": kind, "series": series, **tags})
    return client.create_model_version(name, info.model_uri, run_id=info.run_id).version


@pytest.fixture
def registry_after_make_run(mlflow_store):
    """Champions for the README's models; the model the README rolls back also has @previous."""
    commands = readme_registry_commands()
    client = MlflowClient()
    names = {model_named(argv) for argv in commands} - {None}
    rolled_back = {argv[2] for argv in commands if argv[:2] == ["registry", "rollback"]}
    for name in names:
        kind, series = model_kind_and_series(name)
        config = {"slope": 1.0} if kind != "autoencoder" else {"threshold": 2.0}
        if client.search_registered_models(filter_string=f"name = '{name}'"):
            continue
        first = log_toy_version(name, config)
        client.set_registered_model_alias(name, "champion", first)
        if name in rolled_back:  # a second version that won the gate: the first is @previous
            client.set_registered_model_alias(name, "previous", first)
            client.set_registered_model_alias(name, "champion", log_toy_version(name, config))
        validated = mlflow_store.root / "data" / "validated"
        if kind == "forecaster":
            frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
            path = validated / "prices" / "demo" / f"{series}.parquet"
        else:
            frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=4, freq="h"), "x": 1.0})
            frame = frame.assign(value=[0.5, 3.0, 0.1, 0.2])
            path = validated / "sensors" / "demo" / f"{series.replace('/', '__')}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path)
    return commands


def test_the_readme_shows_registry_examples_and_a_rollback():
    commands = readme_registry_commands()

    assert ["registry", "list"] in commands
    assert any(argv[:2] == ["registry", "rollback"] for argv in commands)
    assert any(argv[0] == "score" for argv in commands)


def test_every_registry_example_of_the_readme_runs_as_written(registry_after_make_run):
    runner = CliRunner()
    for argv in registry_after_make_run:
        result = runner.invoke(app, argv)

        assert result.exit_code == 0, f"lstmops {shlex.join(argv)}:\n{result.output}"
    rolled_back = [argv[2] for argv in registry_after_make_run if argv[:2] == ["registry", "rollback"]]
    assert all(str(MlflowClient().get_registered_model(name).aliases["champion"]) == "1" for name in rolled_back)


def test_the_readmes_newer_data_step_changes_params_and_ingests_the_extra_days(tmp_path, monkeypatch):
    """The route's first two lines, run as written: if the edit stopped matching params.yaml, the retrain
    would see unchanged data and, by design, promote nothing (its training and gate are too slow to run here)."""
    route = readme_second_champion_route()
    [edit] = [line for line in route if line.startswith("sed ")]
    [ingest] = [shlex.split(line, comments=True) for line in route if line.startswith("lstmops ingest")]
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)

    subprocess.run(["bash", "-c", edit], check=True, timeout=30, cwd=tmp_path)
    result = CliRunner().invoke(app, ingest[1:])

    newer = tmp_path / ingest[ingest.index("--params") + 1]
    days_before, days_after = (load_params(path).prices.demo.n_days for path in (tmp_path / "params.yaml", newer))
    assert days_after > days_before
    assert result.exit_code == 0, result.output
    assert result.output.count(f" {days_after} rows ") == len(load_params(newer).prices.tickers)
