"""dvc.yaml against the code, and `dvc repro` / `dvc exp run` in a temporary copy of the project: the
pipeline runs offline, a second run is a no-op, each training stage declares what its task reads."""

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lstmops.config import Params
from lstmops.tasks import get_task, params_read, task_names

PROJECT = Path(__file__).resolve().parents[1]
SOURCE = PROJECT / "src" / "lstmops"
NOT_PARAMS = ("data.root",)  # where the data lives: the stages name those paths as deps and outs


def _project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [name for name in listed if (PROJECT / name).is_file()]


@pytest.fixture
def clone(tmp_path):
    """The project's tracked and new files (what a fresh clone would hold) in a new git repo."""
    root = tmp_path / "clone"
    for name in _project_files():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT / name, root / name)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["prices"]["tickers"] = ["DEMOA"]
    params["prices"]["demo"]["n_days"] = 200
    params["sensors"]["demo"]["n_points"] = 500
    params["models"]["seq2seq"]["seasons"] = [48]  # a week of history does not fit in 500 rows
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    (root / "dvc.lock").unlink(missing_ok=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def _commit(root: Path) -> None:
    """`dvc exp run` records experiments against a commit."""
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    who = ["-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", *who, "commit", "-qm", "baseline"], cwd=root, check=True)


def _run_dvc(root: Path, *args: str) -> subprocess.CompletedProcess:
    bin_dir = str(Path(sys.executable).parent)  # where the `lstmops` console script lives
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"], "DO_NOT_TRACK": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)  # the stages' runs go to the copy's own store
    env.pop("MLFLOW_REGISTRY_URI", None)
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, env=env, capture_output=True, text=True)


def _dvc(root: Path, *args: str) -> str:
    done = _run_dvc(root, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _stages() -> dict:
    """dvc.yaml's stages as DVC resolves them (foreach expanded: train@forecaster, ...)."""
    from dvc.repo import Repo

    with Repo(str(PROJECT)) as repo:
        return {stage.addressing: stage for stage in repo.index.stages}


def _declared_params(stage) -> set[str]:
    from dvc.dependency import ParamsDependency

    return {key for dep in stage.deps if isinstance(dep, ParamsDependency) for key in dep.params}


def _params_chains(path: Path, function: str | None = None) -> set[str]:
    """The params.yaml keys code reads as `params.<section>...` (in one function only, if named): each
    attribute chain on a name `params`, cut where it leaves the Params sections (`.model_copy`, ...)."""
    tree = ast.parse(path.read_text())
    if function:
        tree = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == function)
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    chains = set()
    for node in ast.walk(tree):
        if id(node) in inner:  # part of a longer chain, read whole below
            continue
        parts = []
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        if not (isinstance(node, ast.Name) and node.id == "params" and parts):
            continue
        model, keys = Params, []
        for part in parts:
            field = model.model_fields.get(part) if model else None
            if field is None:
                break
            keys.append(part)
            model = field.annotation if isinstance(field.annotation, type) else None
        if keys:
            chains.add(".".join(keys))
    return chains


@pytest.mark.parametrize("name", task_names())
def test_each_train_stage_declares_exactly_the_params_its_task_reads(name):
    task = get_task(name)
    stage = _stages()[f"train@{name}"]
    declared = _declared_params(stage)
    # What the task's own code reads, what preparing its data reads, and its data kind's features.
    read = set().union(
        *(_params_chains(path) for path in (SOURCE / "tasks" / name).glob("*.py")),
        _params_chains(SOURCE / "data" / "prepare.py"),
        _params_chains(SOURCE / "data" / "kinds" / f"{task.data_kind}.py", function="features"),
    )
    uncovered = {
        key for key in read - set(NOT_PARAMS) if not any(key == d or key.startswith(d + ".") for d in declared)
    }

    assert declared == set(params_read(name)), f"train@{name} params {sorted(declared)} != {params_read(name)}"
    assert not uncovered, f"{name} reads {sorted(uncovered)}, which train@{name} does not declare in dvc.yaml"
    deps = {Path(dep.def_path).as_posix() for dep in stage.deps if not dep.def_path.endswith("params.yaml")}
    assert {f"data/features/{task.data_kind}/demo", f"src/lstmops/tasks/{name}"} <= deps


def test_every_model_folder_is_a_dvc_artifact_and_every_plot_a_training_output():
    pipeline = yaml.safe_load((PROJECT / "dvc.yaml").read_text())
    outs = {Path(out.def_path).as_posix() for stage in _stages().values() for out in stage.outs}

    artifacts = pipeline["artifacts"]
    assert {name: artifacts[name]["path"] for name in artifacts} == {name: f"models/{name}" for name in task_names()}
    assert {artifact["type"] for artifact in artifacts.values()} == {"model"}
    assert set(artifacts[name]["path"] for name in artifacts) <= outs
    plotted = [key for entry in pipeline["plots"] for key in entry]
    assert all(str(Path(folder).parent) in outs for folder in plotted), plotted


TINY_TRAINING = {  # one epoch of the smallest networks: the stages, not the models, are under test
    ("train", "epochs"): 1,
    ("train", "verbose"): 0,
    ("models", "forecaster", "units"): [4],
    ("models", "forecaster", "backtest_folds"): 0,
    ("models", "autoencoder", "units"): 4,
    ("models", "seq2seq", "units"): 4,
    ("models", "seq2seq", "normalise"): "series",
}


def _train_tiny(root: Path) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    for (*sections, key), value in TINY_TRAINING.items():
        node = params
        for section in sections:
            node = node[section]
        node[key] = value
    (root / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.mark.integration
def test_repro_twice_is_a_no_op_and_a_param_reruns_only_the_stages_that_read_it(clone):
    # Both data pipelines and one (tiny) training, so a training that rewrote its own deps would show;
    # every training: the slow test below.
    _train_tiny(clone)
    targets = ["features_prices", "features_sensors", "train@forecaster"]
    first = _dvc(clone, "repro", *targets)
    second = _dvc(clone, "repro", *targets)

    assert "Running stage 'features_sensors'" in first and "Running stage 'train@forecaster'" in first
    assert (clone / "data" / "features" / "prices" / "demo" / "DEMOA" / "scaler.json").exists()
    assert "Running stage" not in second
    assert second.count("didn't change, skipping") == 7

    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["windows"]["sensors"]["window"] = 32
    (clone / "params.yaml").write_text(yaml.safe_dump(params))
    rerun = _dvc(clone, "repro", *targets)

    assert "Running stage 'features_sensors'" in rerun
    assert [line for line in rerun.splitlines() if line.startswith("Running stage")] == [
        "Running stage 'features_sensors':"
    ]


@pytest.mark.integration
def test_an_unknown_or_invalid_exp_run_value_stops_before_any_stage_trains(clone):
    _commit(clone)
    typo = _run_dvc(clone, "exp", "run", "-S", "train.epoch=2")  # DVC itself refuses a key params.yaml lacks
    appended = _run_dvc(clone, "exp", "run", "-S", "+train.epoch=2")  # `+` gets past DVC: check_params stops it
    invalid = _run_dvc(clone, "exp", "run", "-S", "train.epochs=0")

    assert typo.returncode != 0 and "train.epoch" in typo.stderr
    for done in (appended, invalid):
        assert done.returncode != 0
        assert "Running stage 'check_params'" in done.stdout
        assert done.stdout.count("Running stage") == 1, done.stdout
    assert "unknown key train.epoch in params.yaml (did you mean train.epochs?)" in appended.stdout + appended.stderr
    assert "train.epochs: Input should be greater than or equal to 1 (got 0)" in invalid.stdout + invalid.stderr


@pytest.mark.slow
@pytest.mark.integration
def test_repro_trains_every_task_once_and_exp_run_retrains_only_what_a_param_touches(clone):
    _train_tiny(clone)
    _commit(clone)

    first = _dvc(clone, "repro")
    second = _dvc(clone, "repro")
    _commit(clone)  # the trained pipeline is the experiments' baseline
    exp = _dvc(clone, "exp", "run", "-S", "models.forecaster.units=[2]")
    shown = json.loads(_dvc(clone, "exp", "show", "--json"))

    for name in task_names():
        assert f"Running stage 'train@{name}'" in first
        metrics = json.loads((clone / "eval" / name / "metrics.json").read_text())
        series = next(iter(metrics.values()))
        evaluation_keys = {"forecaster": ("mae", "mae_persistence"), "autoencoder": ("f1", "f1_zscore")}
        for key in (*evaluation_keys.get(name, ("mae", "mae_best_baseline")), "mlflow_run_id"):
            assert key in series, (name, sorted(series))
        assert any((clone / "models" / name).iterdir())
    assert list((clone / "eval" / "forecaster" / "plots" / "predictions").glob("*.csv"))
    assert "Running stage" not in second
    assert second.count("didn't change, skipping") == len(_stages())
    # Only the stage that reads models.forecaster retrains (check_params reads the whole file).
    assert "Running stage 'train@forecaster'" in exp
    assert [line for line in exp.splitlines() if line.startswith("Running stage")] == [
        "Running stage 'check_params':",
        "Running stage 'train@forecaster':",
    ]
    experiments = [e for rev in shown for e in (rev.get("experiments") or [])]
    assert len(experiments) == 1, shown
    name, ran = experiments[0]["name"], experiments[0]["revs"][0]["data"]
    recorded = ran["metrics"]["eval/forecaster/metrics.json"]["data"]["DEMOA"]
    assert {"mae", "mae_persistence"} <= set(recorded)
    assert ran["params"]["params.yaml"]["data"]["models"]["forecaster"]["units"] == [2]
    # The experiment's MLflow run names the experiment and the commit it started from.
    import mlflow

    run = mlflow.MlflowClient(f"sqlite:///{clone / 'mlruns' / 'mlflow.db'}").get_run(recorded["mlflow_run_id"])
    baseline = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    assert run.data.tags["dvc.experiment"] == name
    assert (run.data.tags["dvc.stage"], run.data.tags["dvc.git_rev"]) == ("train@forecaster", baseline)


def test_dvc_tags_name_the_stage_experiment_and_revision_only_inside_dvc():
    from lstmops.tracking.lineage import dvc_tags

    exp = {
        "DVC_STAGE": "train@seq2seq",
        "DVC_EXP_NAME": "sulky-jeer",
        "DVC_EXP_BASELINE_REV": "abc123",
        "DVC_ROOT": ".",
    }

    assert dvc_tags({}) == {}
    assert dvc_tags(exp) == {"dvc.stage": "train@seq2seq", "dvc.experiment": "sulky-jeer", "dvc.git_rev": "abc123"}
    repro = dvc_tags({"DVC_STAGE": "train@seq2seq", "DVC_ROOT": str(PROJECT)})  # `dvc repro`: the checkout's commit
    assert "dvc.experiment" not in repro and len(repro["dvc.git_rev"]) == 40
