"""An evaluation as a markdown table: each metric of the model with its baselines beside it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lstmops.evaluate.report import Evaluation


STEP = re.compile(r"^(?P<metric>.+)_step_(?P<step>\d+)$")  # per-horizon-step metrics of a multi-step model


def _is_baseline(suffix: str) -> bool:
    """`persistence`, `seasonal_288`, `linear` are baselines; `step_3` (a horizon step) and `vs_linear`
    (the model's metric over a baseline's) are not."""
    return not re.fullmatch(r"step_\d+|vs_\w+", suffix)


def _baseline_columns(metrics: dict[str, float]) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Split `mae`, `mae_persistence`, `mae_drift`, `mase` into rows (mae, mase) and baseline columns."""

    def baseline_of(name: str) -> tuple[str, str] | None:
        for other in metrics:
            if other != name and name.startswith(f"{other}_") and _is_baseline(name[len(other) + 1 :]):
                return other, name[len(other) + 1 :]
        return None

    rows = [name for name in metrics if baseline_of(name) is None]
    baselines: dict[str, dict[str, float]] = {}
    for name, value in metrics.items():
        found = baseline_of(name)
        if found is not None:
            baselines.setdefault(found[1], {})[found[0]] = value
    return rows, baselines


def _compact_steps(rows: list[str]) -> tuple[list[str], str]:
    """Of per-step rows (`mae_step_1` ... `mae_step_24`) keep the first, middle and last step; say so."""
    steps: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        match = STEP.match(row)
        if match:
            steps.setdefault(match["metric"], []).append((int(match["step"]), row))
    hidden, notes = set(), []
    for metric, found in steps.items():
        found.sort()
        if len(found) <= 3:
            continue
        shown = {found[0][1], found[len(found) // 2][1], found[-1][1]}
        hidden |= {row for _, row in found} - shown
        notes.append(
            f"`{metric}` per step: steps {found[0][0]}, {found[len(found) // 2][0]} and {found[-1][0]} of "
            f"{len(found)} shown; every step in the MLflow run (metrics `{metric}_step_*`, plots)."
        )
    return [row for row in rows if row not in hidden], " ".join(notes)


def _baseline_words(evaluation: Evaluation) -> str:
    """`mae_best_baseline: the strongest, linear`, or just the metric where there is one baseline."""
    if evaluation.baseline_name:
        return f"{evaluation.baseline_metric}: the strongest, {evaluation.baseline_name}"
    return evaluation.baseline_metric


def evaluation_markdown(title: str, evaluation: Evaluation, footer: str) -> str:
    """A metrics table with each baseline in a column beside the model, under a one-line verdict."""
    rows, baselines = _baseline_columns(evaluation.metrics)
    rows, steps_note = _compact_steps(rows)
    header = ["metric", "model", *baselines]
    verdict = "beats" if evaluation.beats_baseline() else "does not beat"
    lines = [
        f"# {title}",
        "",
        f"Primary metric **{evaluation.primary_metric}** "
        f"({'higher' if evaluation.higher_is_better else 'lower'} is better): model {evaluation.score:.4g}, "
        f"baseline ({_baseline_words(evaluation)}) {evaluation.baseline_score:.4g} → **{verdict} the baseline**.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in rows:
        cells = [row, f"{evaluation.metrics[row]:.4g}"]
        cells += [f"{baselines[b][row]:.4g}" if row in baselines[b] else "" for b in baselines]
        lines.append("| " + " | ".join(cells) + " |")
    if steps_note:
        lines += ["", steps_note]
    return "\n".join([*lines, "", footer]) + "\n"
