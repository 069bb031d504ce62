"""Validated data checked before use (issue 31): a validated Parquet edited after validation (one close
×50, which breaks `high_ge_close`) is refused by `features`, `train` and `score` in one line naming the
file and the way out; validating again restores it."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from lstmops.cli.main import app

pytestmark = pytest.mark.faults
runner = CliRunner()


def test_a_validated_file_edited_after_validation_is_refused_until_validated_again(place, instant_task):
    params_file = place.root / "params.yaml"
    params_file.write_text(yaml.safe_dump(place.params.model_dump(mode="json")))
    validated = place.series.validated
    frame = pd.read_parquet(validated)
    frame.loc[len(frame) // 2, "close"] *= 50
    frame.to_parquet(validated, index=False)

    refused = {
        command: runner.invoke(app, [*args, "--params", str(params_file)])
        for command, args in {
            "features": ["features", "prices"],
            "train": ["train", "forecaster"],
            "score": ["score", "forecaster-DEMOA", "--input", str(validated)],
        }.items()
    }

    for command, done in refused.items():
        assert done.exit_code == 1 and isinstance(done.exception, SystemExit), (command, done.output)
        [line] = [text for text in done.output.splitlines() if text.startswith("ERROR")]
        assert line.startswith(f"ERROR: {validated}: changed since validation wrote it (sha256 recorded "), command
        assert line.endswith("validate again with `lstmops validate prices` (or `lstmops ingest prices` for new data)")
        assert "Traceback" not in done.output
    assert mlflow.search_runs(search_all_experiments=True, output_format="list") == []  # nothing trained

    assert runner.invoke(app, ["validate", "prices", "--params", str(params_file)]).exit_code == 0
    assert pd.read_parquet(validated)["close"].max() < frame["close"].max()  # the edit is gone
    trained = runner.invoke(app, ["train", "forecaster", "--params", str(params_file)])
    assert trained.exit_code == 0, trained.output


def test_validate_after_a_quarantine_names_it_and_the_way_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LSTMOPS_DEBUG", raising=False)
    (tmp_path / "params.yaml").write_text("prices:\n  tickers: [DEMOA]\n  demo:\n    n_days: 300\n")
    assert runner.invoke(app, ["ingest", "prices", "--source", "demo"]).exit_code == 0
    [raw] = Path("data/raw/prices/demo").glob("DEMOA-*.csv")  # relative, as params.yaml's data.root
    raw.write_text(raw.read_text()[:-40])  # truncated: its sha256 no longer matches

    first = runner.invoke(app, ["validate", "prices"])  # finds the damage and sets the snapshot aside
    second = runner.invoke(app, ["validate", "prices"])  # the pointer still names the moved file

    assert first.exit_code == 1 and "the snapshot changed since it was ingested" in first.output
    assert second.exit_code == 1 and isinstance(second.exception, SystemExit), second.output
    [line] = second.output.strip().splitlines()
    quarantined = Path("data/quarantine/corrupted/prices/demo") / raw.name
    assert line == (
        f"ERROR: {raw}: the newest snapshot of DEMOA was set aside in {quarantined} (its bytes no longer matched "
        "the sha256 recorded at ingest), so there is nothing to validate; ingest it again with "
        "`lstmops ingest prices --source demo`"
    )
    assert runner.invoke(app, ["ingest", "prices", "--source", "demo"]).exit_code == 0  # the way out works
    assert runner.invoke(app, ["validate", "prices"]).exit_code == 0
