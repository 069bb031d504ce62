"""The review report a person reads before a version serves: one self-contained HTML file."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

from lstmops.evaluate.markdown import evaluation_markdown  # noqa: E402
from lstmops.evaluate.report import Evaluation  # noqa: E402
from lstmops.registry.gate import register_and_gate
from lstmops.registry.rule import RegistryError  # noqa: E402
from lstmops.review.version_report import metrics_table, review  # noqa: E402
from lstmops.tracking.store import ensure_experiment  # noqa: E402

TOY_MODEL = Path(__file__).parent / "fixtures" / "toy_pyfunc_model.py"


def figure(title: str):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([1, 2, 3], [1, 4, 9])
    ax.set_title(title)
    return fig


def log_run_with_plots(series: str, mae: float) -> tuple[str, str]:
    """A training run as tracking.log_training_run leaves it (lineage tags, metrics, plots/, a model):
    its run id and model URI."""
    tags = {
        "kind": "seq2seq",
        "series": series,
        "data.kind": "sensors",
        "data.source": "demo",
        "data.sha256": "f00d" * 16,
        "data.validation.success": "True",
        "data.validation.expectations_passed": "14",
        "git.commit": "feedbeef" * 5,
        "params.hash": "ab" * 32,
        "evaluation.judged_on": "injected",  # an anomaly detector's: what its numbers rest on
    }
    with mlflow.start_run(experiment_id=ensure_experiment("seq2seq"), tags=tags) as run:
        mlflow.log_metrics({"mae": mae, "mae_seasonal_naive": 0.5, "epoch/loss": 0.1})
        for name in ("forecast.png", "attention.png"):
            mlflow.log_figure(figure(name), f"plots/{name}")
            plt.close("all")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(TOY_MODEL),
            model_config={"slope": 1.0},
            pip_requirements=["mlflow", "pandas"],
        )
    return run.info.run_id, info.model_uri


def crafted(scores: dict[str, float]):
    """An evaluation hook giving each version number a fixed hold-out MAE (baseline 0.5), with
    per-origin losses scattered around it for the gate's paired test."""

    def evaluate(uri: str) -> Evaluation:
        version = uri.rsplit("/", 1)[1]
        scatter = np.random.default_rng(int(version)).normal(0, 0.02, 40)
        scatter -= scatter.mean()
        units = pd.DataFrame({"loss": scores[version] + scatter, "loss_baseline": 0.5 + scatter[::-1]})
        return Evaluation(
            {"mae": scores[version], "mae_seasonal_naive": 0.5},
            "mae",
            "mae_seasonal_naive",
            higher_is_better=False,
            units=units,
        )

    return evaluate


@pytest.fixture(scope="module")
def model(mlflow_store, gate_outcome):
    """seq2seq-demo__pump: v1 champion (MAE 0.3), v2 rejected (0.4 on the same hold-out)."""
    evaluate = crafted({"1": 0.3, "2": 0.4})
    for mae in (0.3, 0.4):
        run_id, model_uri = log_run_with_plots("demo/pump", mae)
        register_and_gate(gate_outcome("seq2seq", "demo/pump", run_id, model_uri), evaluate, actor="reviewer")
    return "seq2seq-demo__pump"


def test_review_of_a_rejected_version_shows_evidence_beside_the_champion(model, mlflow_store, tmp_path):
    path = review(model, version=2, out_dir=tmp_path)
    page = path.read_text()
    assert path == tmp_path / model / "v2" / "review.html"
    assert "<span class='rejected'>rejected</span>" in page and "vs champion v1 0.3 (diff +0.1" in page
    assert "no significant improvement" in page and "Significance: DM-HLN h=1, effect 0.1" in page
    assert "<td>mae</td><td>0.4</td><td>0.3</td><td>0.5</td>" in page  # gate: this, champion, baseline
    # training metrics: this version, its baseline as a column beside it, then the champion's value
    assert "<th>this version</th><th>seasonal_naive</th><th>champion v1</th>" in page
    assert "<td>mae</td><td>0.4</td><td>0.5</td><td>0.3</td>" in page and "<td>mae_seasonal_naive</td>" not in page
    assert "epoch/loss" not in page
    assert "<td>data.validation.success</td><td>True</td>" in page and "f00d" * 16 in page
    assert "<h2>Evaluated on</h2>" in page and "<td>evaluation.judged_on</td><td>injected</td>" in page
    # Self-contained: both plots inlined, nothing fetched from elsewhere.
    assert page.count("src='data:image/png;base64,") == 2 and "plots/attention.png" in page
    assert "src='http" not in page and "src='plots" not in page


def test_review_is_logged_on_the_versions_run_and_tagged(model, mlflow_store, tmp_path):
    review(model, version=2, out_dir=tmp_path)
    client = MlflowClient()
    version = client.get_model_version(model, "2")
    assert [a.path for a in client.list_artifacts(version.run_id, "review")] == ["review/review.html"]
    assert version.tags["review"] == f"runs:/{version.run_id}/review/review.html"


def test_review_defaults_to_the_champion(model, mlflow_store, tmp_path):
    page = review(model, out_dir=tmp_path).read_text()
    assert "version 1</h1>" in page and "<b>@champion</b>" in page
    assert "<span class='promoted'>promoted</span>" in page


def test_review_of_a_missing_version_names_the_versions_there_are(model, mlflow_store, tmp_path):
    with pytest.raises(RegistryError, match=r"seq2seq-demo__pump has no version 9; versions: \[1, 2\]"):
        review(model, version=9, out_dir=tmp_path)
    with pytest.raises(RegistryError, match="no registered model 'seq2seq-nothing'"):
        review("seq2seq-nothing", out_dir=tmp_path)


def test_the_metrics_table_reads_in_natural_order_with_baselines_as_columns():
    metrics = {"mae_step_10": 3.0, "mae_step_2": 2.0, "mae": 1.0, "mae_persistence": 1.5, "mae_seasonal": 1.2}
    metrics |= {"f1": 0.8, "f1_point": 0.7, "f1_zscore": 0.6, "rmse": 2.0, "rmse_persistence": 2.5}

    header, rows = metrics_table(metrics, None, None)

    assert header == ["metric (training run's hold-out)", "this version", "persistence", "seasonal", "zscore"]
    assert [row[0] for row in rows] == ["f1", "f1_point", "mae", "mae_step_2", "mae_step_10", "rmse"]
    assert rows[2] == ["mae", "1", "1.5", "1.2", "-"] and rows[0] == ["f1", "0.8", "-", "-", "0.6"]


def test_the_linear_baseline_is_a_column_beside_the_naive_ones_and_the_ratio_to_it_a_row():
    metrics = {"mae": 1.0, "mae_persistence": 1.5, "mae_linear": 1.1, "mae_best_baseline": 1.1, "mae_vs_linear": 0.91}

    header, rows = metrics_table(metrics, None, None)

    assert header[1:] == ["this version", "best_baseline", "linear", "persistence"]
    assert rows == [["mae", "1", "1.1", "1.1", "1.5"], ["mae_vs_linear", "0.91", "-", "-", "-"]]


def test_the_evaluation_report_names_the_strongest_baseline_and_keeps_the_ratio_to_linear_a_row():
    metrics = {"mae": 1.0, "mae_persistence": 1.5, "mae_linear": 1.1, "mae_best_baseline": 1.1, "mae_vs_linear": 0.91}
    evaluation = Evaluation(metrics, "mae", "mae_best_baseline", False, baseline_name="linear")

    markdown = evaluation_markdown("forecaster", evaluation, "footer")

    assert "baseline (mae_best_baseline: the strongest, linear) 1.1 → **beats the baseline**" in markdown
    assert "| mae | 1 | 1.5 | 1.1 | 1.1 |" in markdown and "| mae_vs_linear | 0.91 |  |  |  |" in markdown
