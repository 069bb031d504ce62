"""The model registry as the retrain flow and a reviewer use it: gate decisions, rollback, audit, scoring.

Models are tiny pyfuncs (tests/fixtures/toy_pyfunc_model.py) predicting `forecast = slope * x`; the
hold-out has `y = true_slope * x` (plus noise where a test asks for it), the naive baseline predicts
`y = x`, so a model's error on the hold-out is |slope - true_slope| * mean(x) and crafted slopes give
crafted, honestly computed metrics and per-point losses for the gate's paired test.
"""

import threading
import traceback
from datetime import datetime
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from lstmops.cli.registry import registry_app
from lstmops.evaluate.report import Evaluation
from lstmops.registry.aliases import rollback
from lstmops.registry.audit import aliases_of, history
from lstmops.registry.gate import register_and_gate
from lstmops.registry.report import format_history
from lstmops.registry.rule import HoldoutOverlapError, RegistryError, decide
from lstmops.registry.versions import register_version, registered_model_name
from lstmops.serving.scoring import anomaly_segments, score
from lstmops.tracking.store import ensure_experiment

TOY_MODEL = Path(__file__).parent / "fixtures" / "toy_pyfunc_model.py"
HOLDOUT_X = np.linspace(1.0, 3.0, 21)


@pytest.fixture(scope="module")
def log_toy_run(mlflow_store, gate_outcome):
    """`log_toy_run(config, series, kind, metrics)`: a training run as tracking.log_training_run leaves it
    (lineage tags, metrics, a pyfunc model) in the module's store, which each test shares under its own
    model name."""

    def log(
        config: dict, series: str, kind: str = "forecaster", metrics: dict | None = None, train_end: str | None = None
    ):
        tags = {
            "kind": kind,
            "series": series,
            "data.kind": "prices",
            "data.source": "demo",
            "data.sha256": "ab" * 32,
            "data.raw_snapshot": "data/raw/prices/demo/x.csv",
            "data.validation.success": "True",
            "git.commit": "0123456789abcdef",
            "params.hash": "cd" * 32,
            **({"data.train_end": train_end} if train_end else {}),
        }
        with mlflow.start_run(experiment_id=ensure_experiment(kind), tags=tags) as run:
            mlflow.log_metrics(metrics or {"mae": 0.1, "mae_persistence": 0.5})
            info = mlflow.pyfunc.log_model(
                name="model", python_model=str(TOY_MODEL), model_config=config, pip_requirements=["mlflow", "pandas"]
            )
        return gate_outcome(kind, series, run.info.run_id, info.model_uri)

    return log


class Holdout:
    """The gate's evaluation hook: load the version, predict the hold-out, MAE beside the naive baseline's."""

    def __init__(self, true_slope: float, noise: float = 0.0, linear_slope: float | None = None):
        self.true_slope = true_slope
        self.y = true_slope * HOLDOUT_X + np.random.default_rng(0).normal(0, noise, len(HOLDOUT_X))
        self.linear_slope = linear_slope  # a second baseline, `linear`, predicting linear_slope * x
        self.evaluated: list[str] = []

    def __call__(self, model_uri: str) -> Evaluation:
        self.evaluated.append(model_uri)
        forecast = mlflow.pyfunc.load_model(model_uri).predict(pd.DataFrame({"x": HOLDOUT_X}))["forecast"]
        if self.linear_slope is None:
            units = pd.DataFrame({"loss": np.abs(forecast - self.y), "loss_baseline": np.abs(HOLDOUT_X - self.y)})
            metrics = {"mae": float(units["loss"].mean()), "mae_persistence": float(units["loss_baseline"].mean())}
            return Evaluation(metrics, "mae", "mae_persistence", higher_is_better=False, units=units)
        # As the forecasting evaluations do: every baseline reported, the gate's the strongest of them.
        losses = {"persistence": np.abs(HOLDOUT_X - self.y), "linear": np.abs(self.linear_slope * HOLDOUT_X - self.y)}
        best = min(losses, key=lambda name: losses[name].mean())
        units = pd.DataFrame({"loss": np.abs(forecast - self.y), "loss_baseline": losses[best]})
        metrics = {"mae": float(units["loss"].mean()), **{f"mae_{n}": float(v.mean()) for n, v in losses.items()}}
        metrics["mae_best_baseline"] = metrics[f"mae_{best}"]
        return Evaluation(metrics, "mae", "mae_best_baseline", False, units=units, baseline_name=best)


@pytest.fixture(scope="module")
def gate(log_toy_run):
    """`gate(slope, series, holdout)`: log a toy model predicting slope * x and put it through the registry gate."""

    def register(slope: float, series: str, holdout: Holdout, **options):
        return register_and_gate(log_toy_run({"slope": slope}, series), holdout, actor="tester", **options)

    return register


def errors(
    mae: float,
    baseline: float,
    *,
    seed: int = 0,
    spread: float = 0.02,
    points: int = 100,
    strongest: str | None = None,
) -> Evaluation:
    """Absolute errors at `points` hold-out points averaging exactly `mae` (and `baseline`), scattered by `spread`.

    `strongest`: the baseline is the strongest of several, named so (`mae_best_baseline`, as the
    forecasting evaluations report it); else the one naive baseline `mae_persistence`.
    """
    noise = np.random.default_rng(seed).normal(0, spread, (2, points))
    noise -= noise.mean(axis=1, keepdims=True)
    units = pd.DataFrame({"loss": mae + noise[0], "loss_baseline": baseline + noise[1]})
    name = "mae_best_baseline" if strongest else "mae_persistence"
    return Evaluation(
        {"mae": mae, name: baseline}, "mae", name, higher_is_better=False, units=units, baseline_name=strongest
    )


# ---------------------------------------------------------------- names and pure decisions


def test_model_names_are_kind_and_series_with_safe_separators():
    assert registered_model_name("forecaster", "DEMOA") == "forecaster-DEMOA"
    assert registered_model_name("autoencoder", "demo/machine_a") == "autoencoder-demo__machine_a"
    with pytest.raises(ValueError, match="unknown model kind 'lstm'"):
        registered_model_name("lstm", "DEMOA")


def test_decisions_on_crafted_metrics():
    assert decide("m", "1", errors(0.4, 0.5), None).promoted  # first version beating the baseline
    assert not decide("m", "1", errors(0.6, 0.5), None).promoted  # first version worse than the baseline
    assert decide("m", "2", errors(0.3, 0.5), ("1", errors(0.4, 0.5, seed=1))).promoted  # better than the champion
    worse = decide("m", "2", errors(0.45, 0.5), ("1", errors(0.4, 0.5, seed=1)))
    assert not worse.promoted and "champion v1" in worse.reason
    # Beating the champion is not enough when both lose to the naive baseline on the new hold-out.
    below_baseline = decide("m", "2", errors(0.55, 0.5), ("1", errors(0.7, 0.5, seed=1)))
    assert not below_baseline.promoted and "baseline" in below_baseline.reason


def test_a_noisy_tie_keeps_the_champion_and_says_why():
    # 0.2 % lower error, but the per-point errors scatter by 0.05: the paired test cannot tell them apart.
    champion = ("1", errors(0.401, 0.5, seed=1, spread=0.05))
    decision = decide("m", "2", errors(0.400, 0.5, spread=0.05), champion, alpha=0.05)
    assert not decision.promoted and not decision.significant
    assert decision.reason.startswith("mae 0.4 vs champion v1 0.401 (diff -0.001")
    assert decision.reason.endswith("no significant improvement")
    assert decision.test.test == "DM-HLN h=1" and decision.test.p_value > 0.05 and decision.test.n == 100
    assert decision.test.ci_low < 0 < decision.test.ci_high


def test_a_significant_win_over_the_champion_still_needs_a_significant_win_over_the_baseline():
    champion = ("1", errors(0.52, 0.5, seed=1))
    decision = decide("m", "2", errors(0.499, 0.5, spread=0.05), champion)
    assert decision.test.p_value < 0.05 and decision.significant  # clearly better than the champion ...
    assert not decision.promoted  # ... but a tie with the naive baseline
    assert "not significantly better than the baseline mae_persistence 0.5" in decision.reason


def test_a_first_version_earns_champion_only_with_a_significant_win_over_the_strongest_baseline():
    # A lower error than the linear baseline, but errors that scatter by 0.3 per point: noise.
    lucky = decide("m", "1", errors(0.52, 0.55, spread=0.3, strongest="linear"), None)
    assert not lucky.promoted and not lucky.significant
    assert lucky.test.p_value > 0.05 and lucky.test.ci_low < 0 < lucky.test.ci_high
    assert lucky.reason.startswith(
        "first version kept without @champion: mae 0.52 vs the strongest simple baseline, linear, 0.55 (diff -0.03"
    )
    assert lucky.reason.endswith("not significant at alpha 0.05")
    assert lucky.challenger.baseline_name == "linear"

    clear = decide("m", "1", errors(0.3, 0.5, strongest="linear"), None)
    assert clear.promoted and clear.significant and clear.test.ci_high < 0
    assert clear.reason.startswith("first version: mae 0.3 beats the strongest simple baseline, linear, 0.5 (")
    assert clear.reason.endswith(": significant at alpha 0.05")


def test_a_first_version_without_per_point_results_cannot_show_a_significant_win():
    evaluation = errors(0.3, 0.5)
    evaluation.units = None
    decision = decide("m", "1", evaluation, None)
    assert not decision.promoted and decision.test is None
    assert "no paired test" in decision.reason and decision.reason.endswith("not significant at alpha 0.05")


def test_a_challenger_whose_champion_cannot_be_loaded_must_win_significantly_too():
    warning = "champion v1 cannot be loaded (bad file), so compared with the baseline only"
    noisy = decide("m", "2", errors(0.52, 0.55, spread=0.3), None, unloadable_champion=warning)
    assert not noisy.promoted and noisy.reason.startswith(warning + ": mae 0.52 vs the baseline mae_persistence")
    assert decide("m", "2", errors(0.3, 0.5), None, unloadable_champion=warning).promoted


def test_margin_is_relative_and_direction_aware():
    champion = ("1", errors(0.40, 1.0))
    assert not decide("m", "2", errors(0.37, 1.0), champion, margin=0.10).promoted  # 7.5 % better: not enough
    assert decide("m", "2", errors(0.35, 1.0), champion, margin=0.10).promoted  # 12.5 % better
    f1 = Evaluation({"f1": 0.9, "f1_zscore": 0.5}, "f1", "f1_zscore", higher_is_better=True)
    assert f1.better(0.9, 0.8, margin=0.10) and not f1.better(0.85, 0.8, margin=0.10)


# ---------------------------------------------------------------- the gate on a real registry


def test_first_version_beating_the_baseline_becomes_champion_with_tags_and_card(gate):
    decision = gate(1.8, "first", Holdout(2.0))
    name = decision.name
    assert (name, decision.version, decision.promoted) == ("forecaster-first", "1", True)
    assert aliases_of(name) == {"champion": "1"}  # @challenger is gone once decided
    version = MlflowClient().get_model_version(name, "1")
    assert version.tags["data.sha256"] == "ab" * 32 and version.tags["git.commit"] == "0123456789abcdef"
    assert version.tags["gate.decision"] == "promoted" and version.tags["gate.test"] == "DM-HLN h=1"
    assert float(version.tags["gate.p_value"]) < 0.05 and version.tags["gate.n"] == str(len(HOLDOUT_X))
    assert (
        float(version.tags["gate.ci_low"]) <= float(version.tags["gate.effect"]) <= float(version.tags["gate.ci_high"])
    )
    assert not any(key.startswith("metric.") for key in version.tags)  # metrics stay on the run
    assert "sha256 `abababab" in version.description and "promote" in version.description
    model = MlflowClient().get_registered_model(name)
    assert model.tags["series"] == "first"
    # The model page's description ends with the audit trail as a Markdown table, newest move first.
    assert "| time (UTC) | action |" in model.description and "| promote | v1 | none → v1 |" in model.description


def test_registering_versions_prints_nothing_and_links_each_to_its_run_and_logged_model(log_toy_run, capfd):
    runs = [log_toy_run({"slope": slope}, "quiet") for slope in (1.8, 1.9)]
    capfd.readouterr()

    versions = [register_version(run) for run in runs]  # the first one also creates the registered model

    assert capfd.readouterr() == ("", "")  # the gate's decision line is what the console shows
    assert [str(version.version) for version in versions] == ["1", "2"]
    assert [(version.source, version.run_id) for version in versions] == [(run.model_uri, run.run_id) for run in runs]


def test_first_version_worse_than_the_baseline_is_rejected_and_recorded(gate):
    decision = gate(0.5, "no-skill", Holdout(2.0))
    assert not decision.promoted and decision.reason.startswith(
        "first version kept without @champion: mae 3 does not beat the baseline mae_persistence 2 (diff +1"
    )
    assert aliases_of(decision.name) == {}
    assert MlflowClient().get_model_version(decision.name, "1").tags["gate.decision"] == "rejected"
    [entry] = history(decision.name)
    assert entry["action"] == "reject" and entry["reason"] == decision.reason


def test_a_first_version_beating_persistence_but_not_the_linear_baseline_gets_no_champion(gate):
    # slope 1.8 on y = 2x: error 0.2x, far below persistence's x, but above the linear baseline's 0.1x.
    decision = gate(1.8, "linear-wins", Holdout(2.0, linear_slope=1.9))
    assert not decision.promoted and aliases_of(decision.name) == {}
    assert decision.challenger.metrics["mae"] < decision.challenger.metrics["mae_persistence"]
    assert decision.reason.startswith(
        "first version kept without @champion: mae 0.4 does not beat the strongest simple baseline, linear, 0.2"
    )
    version = MlflowClient().get_model_version(decision.name, "1")
    assert version.tags["gate.baseline_name"] == "linear" and version.tags["gate.baseline"] == "0.2"


def test_better_challenger_is_promoted_and_the_old_champion_becomes_previous(gate):
    holdout = Holdout(2.0)
    gate(1.5, "better", holdout)
    decision = gate(1.9, "better", holdout)
    assert decision.promoted and decision.champion.version == "1"
    assert aliases_of(decision.name) == {"champion": "2", "previous": "1"}


def test_worse_challenger_is_rejected_and_the_champion_stays(gate):
    holdout = Holdout(2.0)
    gate(1.9, "worse", holdout)
    decision = gate(1.5, "worse", holdout)
    assert not decision.promoted and "champion v1" in decision.reason
    assert aliases_of(decision.name) == {"champion": "1"}


def test_a_tie_on_a_noisy_holdout_keeps_the_champion(gate):
    holdout = Holdout(2.0, noise=1.0)  # both slopes near the truth; the noise is 1.0 per point
    gate(2.0, "noisy", holdout)
    decision = gate(1.98, "noisy", holdout)
    assert decision.challenger.score < decision.champion.score  # the better number ...
    assert not decision.promoted and "no significant improvement" in decision.reason  # ... is noise
    version = MlflowClient().get_model_version(decision.name, decision.version)
    assert version.tags["gate.significant"] == "false" and float(version.tags["gate.p_value"]) > 0.05
    assert history(decision.name)[-1]["test"]["p_value"] == pytest.approx(float(version.tags["gate.p_value"]), 1e-3)


def test_the_gate_refuses_a_holdout_that_a_version_trained_on(gate, log_toy_run):
    series = "overlap"
    champion = log_toy_run({"slope": 1.5}, series, train_end="2024-06-30T00:00:00")
    register_and_gate(champion, Holdout(2.0), holdout_start="2024-07-01T00:00:00", actor="tester")
    challenger = log_toy_run({"slope": 1.9}, series, train_end="2024-05-31T00:00:00")
    with pytest.raises(HoldoutOverlapError, match=r"champion v1 trained on data up to 2024-06-30T00:00:00"):
        register_and_gate(challenger, Holdout(2.0), holdout_start="2024-06-01T00:00:00", actor="tester")
    name = registered_model_name("forecaster", series)
    assert len(MlflowClient().search_model_versions(f"name = '{name}'")) == 1  # nothing registered
    own = log_toy_run({"slope": 1.9}, series, train_end="2024-07-15T00:00:00")
    with pytest.raises(HoldoutOverlapError, match="the challenger trained on data up to 2024-07-15"):
        register_and_gate(own, Holdout(2.0), holdout_start="2024-07-01T00:00:00", actor="tester")
    assert aliases_of(name) == {"champion": "1"}


def test_champion_is_re_evaluated_on_the_newest_holdout_not_its_stale_metrics(gate):
    gate(2.0, "drift", Holdout(2.0))  # perfect on the old data: MAE 0
    drifted = Holdout(3.0)
    decision = gate(2.9, "drift", drifted)
    assert "models:/forecaster-drift/1" in drifted.evaluated
    assert decision.champion.score == pytest.approx(2.0)  # |2 - 3| * mean(x), on the new hold-out
    assert decision.promoted and aliases_of(decision.name)["champion"] == "2"


def test_rollback_swaps_champion_and_previous_and_is_recorded(gate):
    holdout = Holdout(2.0)
    gate(1.5, "rollback", holdout)
    name = gate(1.9, "rollback", holdout).name
    entry = rollback(name, actor="oncall", reason="v2 misbehaves in production")
    assert aliases_of(name) == {"champion": "1", "previous": "2"}
    assert (entry["action"], entry["version"], entry["actor"]) == ("rollback", "1", "oncall")
    assert entry["candidate"]["score"] == pytest.approx(1.0) and entry["incumbent"]["version"] == "2"
    rollback(name, actor="oncall", reason="false alarm")  # a second rollback undoes the first
    assert aliases_of(name) == {"champion": "2", "previous": "1"}


def test_rollback_without_previous_fails_clearly(gate):
    name = gate(1.9, "lonely", Holdout(2.0)).name
    with pytest.raises(RegistryError, match="forecaster-lonely has no @previous version"):
        rollback(name)
    assert aliases_of(name) == {"champion": "1"}


def test_history_holds_every_move_with_time_actor_reason_and_both_sides_metrics(gate):
    holdout = Holdout(2.0)
    gate(1.5, "audit", holdout)
    gate(1.9, "audit", holdout)
    name = gate(1.2, "audit", holdout).name
    rollback(name, actor="oncall", reason="bad deploy")
    entries = history(name)
    assert [(e["action"], e["version"]) for e in entries] == [
        ("promote", "1"),
        ("promote", "2"),
        ("reject", "3"),
        ("rollback", "1"),
    ]
    assert all(datetime.fromisoformat(e["time"]).utcoffset().total_seconds() == 0 for e in entries)
    assert entries[0]["holdout_rows"] == {"start": None, "after": None, "points": len(HOLDOUT_X)}  # all of it
    rejected = entries[2]
    assert rejected["actor"] == "tester" and rejected["incumbent"]["version"] == "2"
    assert rejected["candidate"]["score"] == pytest.approx(1.6) and rejected["incumbent"]["score"] == pytest.approx(0.2)
    assert rejected["candidate"]["metrics"]["mae_persistence"] == pytest.approx(2.0)
    table = format_history(entries).splitlines()
    assert len(table) == 5 and "reject" in table[3] and "v2 (kept)" in table[3] and "bad deploy" in table[4]


def test_cli_history_and_rollback(gate):
    holdout = Holdout(2.0)
    gate(1.5, "cli", holdout)
    gate(1.9, "cli", holdout)
    runner = CliRunner()
    rolled = runner.invoke(registry_app, ["rollback", "forecaster-cli", "--reason", "drill", "--actor", "me"])
    assert rolled.exit_code == 0, rolled.output
    assert "@champion -> v1" in rolled.output
    shown = runner.invoke(registry_app, ["history", "forecaster-cli"])
    assert shown.exit_code == 0 and "rollback" in shown.output and "drill" in shown.output
    unknown = runner.invoke(registry_app, ["rollback", "forecaster-nothing"])
    assert unknown.exit_code == 1 and "forecaster-nothing" in unknown.output


def test_cli_score_reads_the_newest_validated_data_of_the_models_series(gate, mlflow_store, tmp_path):
    import typer

    from lstmops.cli.registry import score as score_command

    gate(1.9, "cli-score", Holdout(2.0))
    validated = (
        mlflow_store.root / "data" / "validated" / "prices" / "demo" / "cli-score.parquet"
    )  # tags: data.kind, data.source
    validated.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(validated)
    app = typer.Typer()
    app.command()(score_command)
    done = CliRunner().invoke(app, ["forecaster-cli-score", "--out-dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "v1 (@champion) scored 2 rows" in done.output
    assert pd.read_parquet(tmp_path / "forecaster-cli-score.parquet")["forecast"].tolist() == pytest.approx([1.9, 3.8])
    missing = CliRunner().invoke(app, ["forecaster-cli-score", "--input", str(tmp_path / "absent.csv")])
    assert missing.exit_code == 1 and "absent.csv: no such input file" in missing.output


def test_cli_score_of_a_model_without_champion_says_why_there_is_none_and_where_to_look(gate, tmp_path):
    import typer

    from lstmops.cli.registry import score as score_command

    decision = gate(0.0, "no-champion", Holdout(2.0))  # far off the truth: the first version wins nothing
    rows = tmp_path / "rows.csv"
    pd.DataFrame({"x": [1.0, 2.0]}).to_csv(rows, index=False)
    app = typer.Typer()
    app.command()(score_command)
    done = CliRunner().invoke(app, ["forecaster-no-champion", "--input", str(rows), "--out-dir", str(tmp_path)])

    assert decision.name == "forecaster-no-champion" and done.exit_code == 1
    assert "forecaster-no-champion has no @champion to score with: no version has won the registry gate" in done.output
    assert "lstmops registry history forecaster-no-champion" in done.output


def test_concurrent_promotions_leave_the_better_champion(gate, log_toy_run):
    """Two gates evaluate against v1 at the same moment; the lock and the champion re-check decide."""
    series = "race"
    gate(1.5, series, Holdout(2.0))
    outcomes = [log_toy_run({"slope": slope}, series) for slope in (1.7, 1.9)]
    both_evaluated_v1 = threading.Barrier(2, timeout=60)

    class RacingHoldout(Holdout):
        def __call__(self, model_uri):
            evaluation = super().__call__(model_uri)
            if model_uri.endswith("/1"):
                both_evaluated_v1.wait()  # neither promoter moves an alias before both have judged v1
            return evaluation

    decisions, failures = [], []

    def promote(outcome):
        try:
            decisions.append(register_and_gate(outcome, RacingHoldout(2.0), actor="racer"))
        except Exception:  # surfaced below: a thread's exception would otherwise vanish
            failures.append(traceback.format_exc())
            both_evaluated_v1.abort()  # do not leave the other promoter waiting

    threads = [threading.Thread(target=promote, args=(outcome,)) for outcome in outcomes]
    [thread.start() for thread in threads]
    [thread.join(timeout=120) for thread in threads]
    assert not failures, "\n".join(failures)
    assert len(decisions) == 2
    name = registered_model_name("forecaster", series)
    best = next(d.version for d in decisions if d.challenger.score == pytest.approx(0.2))  # slope 1.9
    assert aliases_of(name)["champion"] == best
    entries = history(name)
    assert len(entries) == 3 and {e["version"] for e in entries[1:]} == {"2", "3"}
    # The later decision was taken against the champion serving at that moment, not the stale v1.
    assert entries[2]["incumbent"]["version"] == entries[2]["aliases_before"]["champion"]


# ---------------------------------------------------------------- batch scoring with the champion


def test_score_uses_the_champion_and_logs_a_scoring_run(gate, tmp_path):
    holdout = Holdout(2.0)
    gate(1.5, "scored", holdout)
    gate(1.9, "scored", holdout)
    result = score(
        "forecaster-scored", pd.DataFrame({"x": [1.0, 2.0, 4.0]}), tmp_path / "predictions", source="unit test"
    )
    predictions = pd.read_parquet(tmp_path / "predictions" / "forecaster-scored.parquet")
    assert predictions["forecast"].tolist() == pytest.approx([1.9, 3.8, 7.6])  # v2's slope, not v1's
    assert set(predictions["model_version"]) == {2} and result.version == "2"
    assert set(predictions["model_run_id"]) == {MlflowClient().get_model_version("forecaster-scored", "2").run_id}
    run = MlflowClient().get_run(result.scoring_run_id)
    assert mlflow.get_experiment(run.info.experiment_id).name == "lstmops-scoring"
    assert run.data.metrics["predictions"] == 3 and run.data.tags["model.version"] == "2"
    assert [a.path for a in MlflowClient().list_artifacts(result.scoring_run_id, "predictions")] == [
        "predictions/forecaster-scored.parquet"
    ]


def test_score_of_an_anomaly_model_writes_segments_with_scores(log_toy_run, tmp_path):
    outcome = log_toy_run({"threshold": 3.0}, "sensor", kind="autoencoder")
    register_version(outcome)  # made champion by hand: this test is about scoring, not the gate
    MlflowClient().set_registered_model_alias("autoencoder-sensor", "champion", "1")
    values = [0.1, 5.0, 6.0, 0.2, 0.1, 4.0, 0.3]
    frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=7, freq="5min"), "value": values})
    result = score("autoencoder-sensor", frame, tmp_path)
    segments = pd.read_parquet(result.segments)
    assert segments[["points", "max_score"]].values.tolist() == [[2, 6.0], [1, 4.0]]
    assert segments["start"].tolist() == [frame.timestamp[1], frame.timestamp[5]]
    assert MlflowClient().get_run(result.scoring_run_id).data.metrics["anomaly_segments"] == 2


def test_anomaly_segments_need_scores_and_flags():
    with pytest.raises(ValueError, match=r"lack column\(s\) \['is_anomaly'\]"):
        anomaly_segments(pd.DataFrame({"timestamp": [], "score": []}))


def test_scoring_without_a_champion_fails_clearly(gate, tmp_path):
    gate(0.5, "unserved", Holdout(2.0))  # rejected: nothing serves
    with pytest.raises(RegistryError, match="forecaster-unserved has no @champion"):
        score("forecaster-unserved", pd.DataFrame({"x": [1.0]}), tmp_path)
