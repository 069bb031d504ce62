"""`lstmops benchmark monitor` at tiny size: the simulated changes start where they should, checks before
a change see the same rows in every scenario, and the command writes its table and JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmops.benchmarks import monitor as bench
from lstmops.cli.main import app


@pytest.mark.parametrize("model", list(bench.CHANGES))
def test_a_replicate_shares_the_training_rows_and_changes_only_after_its_change_row(model):
    simulation = bench.Simulation(model, seed=3, prefix=300, rows=500)
    value = "close" if model == "forecaster" else "value"
    first, second = simulation.frame(1), simulation.frame(2)
    assert first[value].iloc[:300].equals(second[value].iloc[:300])  # the champion's training rows
    assert not np.allclose(first[value].iloc[300:], second[value].iloc[300:])  # a fresh continuation
    for change in bench.CHANGES[model][1:]:
        changed = simulation.frame(1, change, 400)
        assert changed[value].iloc[:400].equals(first[value].iloc[:400]), change
        assert not np.allclose(changed[value].iloc[400:], first[value].iloc[400:]), change


def test_the_level_change_shifts_the_models_input_by_one_standard_deviation():
    simulation = bench.Simulation("forecaster", seed=3, prefix=100, rows=20_000)
    returns = {
        change: np.diff(np.log(simulation.frame(1, change, 100)["close"].to_numpy()))[100:]
        for change in ("none", "level")
    }
    shift = float(np.mean(returns["level"] - returns["none"]))
    assert shift == pytest.approx(float(np.std(returns["none"])), rel=0.05)


def test_the_command_writes_every_scenario_and_the_checks_before_a_change_agree(tmp_path):
    out = tmp_path / "calibration.json"
    result = CliRunner().invoke(
        app,
        [
            "benchmark", "monitor", "--out", str(out), "--replicates", "3", "--change-replicates", "3",
            "--checks", "3", "--epochs", "1", "--params", str(tmp_path / "absent.yaml"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "false decayed" in result.output and "median delay" in result.output
    written = json.loads(out.read_text())
    for model, changes in bench.CHANGES.items():
        rows = {row["change"]: row for row in written["models"][model]["scenarios"]}
        assert set(rows) == set(changes)
        assert rows["none"]["checks"] == 9 and rows["none"]["insufficient"] == 0
        assert 0 <= rows["none"]["false_decayed_rate"] <= 1
        # One pre-change window: its check sees unchanged rows, the same in every change scenario.
        before = {row["false_decayed_before_change"] for change, row in rows.items() if change != "none"}
        assert len(before) == 1
        drift = model != "autoencoder"  # an anomaly detector is judged by its alerts and scores, no input drift
        assert not drift or 0 <= rows["none"]["input_drift_rate"] <= 1
        for change in changes[1:]:
            assert 0 <= rows[change]["power"] <= 1 and (not drift or 0 <= rows[change]["input_drift_power"] <= 1)
            assert rows[change]["post_change_windows"] == 2
    assert written["models"]["autoencoder"]["scenarios"][0]["decayed_by"].keys() == {"alert_rate", "upper_tail"}
