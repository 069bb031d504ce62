"""`dvc repro` in a temporary copy of the project: the pipeline runs offline and a second run is a no-op."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[1]


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


def _dvc(root: Path, *args: str) -> str:
    bin_dir = str(Path(sys.executable).parent)  # where the `lstmops` console script lives
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"], "DO_NOT_TRACK": "1"}
    done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_repro_builds_the_pipeline_reruns_nothing_unchanged_and_only_what_a_param_touches(clone):
    first = _dvc(clone, "repro")
    second = _dvc(clone, "repro")
    status = _dvc(clone, "status")

    assert "Running stage 'features_sensors'" in first
    assert (clone / "data" / "features" / "prices" / "demo" / "DEMOA" / "scaler.json").exists()
    assert "Running stage" not in second
    assert second.count("didn't change, skipping") == 6
    assert "up to date" in status

    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["windows"]["sensors"]["window"] = 32
    (clone / "params.yaml").write_text(yaml.safe_dump(params))
    rerun = _dvc(clone, "repro")

    assert "Running stage 'features_sensors'" in rerun
    assert "Running stage 'ingest_sensors'" not in rerun and "Running stage 'features_prices'" not in rerun
