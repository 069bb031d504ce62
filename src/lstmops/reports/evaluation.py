"""An evaluation as a markdown table: each metric of the model with its baselines beside it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lstmops.evaluate.report import Evaluation


def _baseline_columns(metrics: dict[str, float]) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Split `mae`, `mae_persistence`, `mae_drift`, `mase` into rows (mae, mase) and baseline columns."""
    rows = [name for name in metrics if not any(name.startswith(f"{other}_") for other in metrics if other != name)]
    baselines: dict[str, dict[str, float]] = {}
    for row in rows:
        for name, value in metrics.items():
            if name.startswith(f"{row}_"):
                baselines.setdefault(name[len(row) + 1 :], {})[row] = value
    return rows, baselines


def evaluation_markdown(title: str, evaluation: Evaluation, footer: str) -> str:
    """A metrics table with each baseline in a column beside the model, under a one-line verdict."""
    rows, baselines = _baseline_columns(evaluation.metrics)
    header = ["metric", "model", *baselines]
    verdict = "beats" if evaluation.beats_baseline() else "does not beat"
    lines = [
        f"# {title}",
        "",
        f"Primary metric **{evaluation.primary_metric}** "
        f"({'higher' if evaluation.higher_is_better else 'lower'} is better): model {evaluation.score:.4g}, "
        f"baseline ({evaluation.baseline_metric}) {evaluation.baseline_score:.4g} → **{verdict} the baseline**.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in rows:
        cells = [row, f"{evaluation.metrics[row]:.4g}"]
        cells += [f"{baselines[b][row]:.4g}" if row in baselines[b] else "" for b in baselines]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", footer]) + "\n"
