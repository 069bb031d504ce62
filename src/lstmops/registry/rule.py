"""The promotion rule, pure: does a challenger beat the champion and the strongest simple baseline?

`decide` promotes only if the challenger beats the champion AND the strongest simple baseline (the
evaluation's `baseline_metric`: for forecasts the lowest error of the naive and linear baselines on
these points) by a statistically significant margin at level `alpha` (paired tests on the same
hold-out points: Diebold–Mariano for forecasts, a block bootstrap of the F1 difference for anomaly
detection; see `evaluate.significance`) and beats the champion by at least `margin` (relative: the
smallest effect worth a change). A noisy tie keeps the champion. A first version must win
significantly over the baseline too, else it is kept without @champion and its decision says so.
No store is read or written here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from lstmops.evaluate.report import Evaluation

if TYPE_CHECKING:  # the paired tests load scipy.stats and statsmodels: only the gate needs them, not list/history
    from lstmops.evaluate.significance import Comparison


CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"


Evaluate = Callable[[str], Evaluation]  # model URI -> its evaluation on the gate's hold-out


class RegistryError(RuntimeError):
    """A registry operation that cannot be done as asked (no champion, no @previous, lock timeout)."""


class HoldoutOverlapError(RegistryError):
    """The gate's hold-out starts before a version's training data ends: that comparison would flatter it."""


class HoldoutTooShort(ValueError):
    """Too few hold-out points after the versions' training ends to compare on; the message says how many."""


@dataclass(frozen=True)
class Resplit:
    """The gate's hold-out cut to its rows after the newest training end of the versions compared."""

    evaluate: Evaluate  # model URI -> its evaluation on these rows only
    after: str  # ISO time: the newest `data.train_end` of the versions compared
    start: str  # ISO time of the first row kept
    points: int  # paired points scored there

    def describe(self) -> str:
        return f"the {self.points} newest points from {self.start}, after the training end {self.after}"


# The newest training end (ISO) -> the hold-out's rows after it; raises HoldoutTooShort when too few.
NewestRows = Callable[[str], Resplit]


@dataclass(frozen=True)
class Side:
    """One version as the gate saw it on the hold-out."""

    version: str
    score: float
    baseline: float
    metrics: dict[str, float]
    baseline_name: str | None = None  # which baseline `baseline` scores, where it is the strongest of several


@dataclass(frozen=True)
class Decision:
    name: str
    version: str  # the challenger
    promoted: bool
    reason: str
    metric: str
    challenger: Side
    champion: Side | None  # the champion it was compared with (None for a first version)
    test: Comparison | None = None  # the deciding paired test: vs the champion, else vs the baseline
    baseline_test: Comparison | None = None  # challenger vs the strongest simple baseline on the same points
    significant: bool = False  # `test` found the challenger better at level alpha
    resplit: Resplit | None = None  # the rows compared on, when not the whole hold-out
    warning: str | None = None  # e.g. a champion that could not be loaded

    @property
    def action(self) -> str:
        return "promote" if self.promoted else "reject"

    def summary(self) -> str:
        verdict = "PROMOTED to @champion" if self.promoted else "REJECTED"
        return f"{self.name} v{self.version} {verdict}: {self.reason}"


def _side(version: str, evaluation: Evaluation) -> Side:
    return Side(
        version,
        evaluation.score,
        evaluation.baseline_score,
        {key: float(value) for key, value in evaluation.metrics.items()},
        evaluation.baseline_name,
    )


def _paired_test(challenger: Evaluation, other: Evaluation, alpha: float, baseline: bool) -> Comparison | None:
    if challenger.units is None or other.units is None:
        return None
    from lstmops.evaluate.significance import compare_units

    return compare_units(challenger.units, other.units, horizon=challenger.horizon, alpha=alpha, baseline=baseline)


def _baseline_words(evaluation: Evaluation) -> str:
    """`strongest simple baseline, linear,` where there are several; else `baseline f1_zscore`."""
    if evaluation.baseline_name:
        return f"strongest simple baseline, {evaluation.baseline_name},"
    return f"baseline {evaluation.baseline_metric}"


def _tested(test: Comparison | None) -> str:
    return f" ({test.describe()})" if test else " (no paired test: the evaluation has no per-point results)"


def decide(
    name: str,
    version: str,
    challenger: Evaluation,
    champion: tuple[str, Evaluation] | None,
    margin: float = 0.0,
    alpha: float = 0.05,
    unloadable_champion: str | None = None,
) -> Decision:
    """Promote only if the challenger beats the champion by a significant margin (paired test at
    `alpha`, and at least `margin` relative) and the strongest simple baseline significantly; a first
    version, or a challenger whose champion cannot be loaded (`unloadable_champion`: the warning, which
    leads the reason), must beat that baseline significantly (a first version that does not is kept
    without @champion)."""
    metric = challenger.primary_metric
    mine = _side(version, challenger)
    theirs = _side(champion[0], champion[1]) if champion else None
    if champion and champion[1].primary_metric != metric:
        raise RegistryError(
            f"{name}: champion v{champion[0]} is scored by {champion[1].primary_metric!r}, "
            f"challenger v{version} by {metric!r}; they cannot be compared"
        )
    better = challenger.higher_is_better
    vs_baseline = _paired_test(challenger, challenger, alpha, baseline=True)
    baseline_wins = vs_baseline is not None and vs_baseline.significant(better)
    here = f"{metric} {mine.score:.4g}"
    versus_baseline = f"{_baseline_words(challenger)} {mine.baseline:.4g}{_tested(vs_baseline)}"

    warned = f"{unloadable_champion}: " if unloadable_champion and theirs is None else ""

    def decision(promoted: bool, reason: str, test: Comparison | None, significant: bool) -> Decision:
        return Decision(name, version, promoted, warned + reason, metric, mine, theirs, test, vs_baseline, significant)

    if theirs is None:  # a first version (or a broken champion): only the baseline to beat, significantly
        first = "" if warned else "first version: "
        kept = "" if warned else "first version kept without @champion: "
        if not challenger.beats_baseline():
            return decision(False, f"{kept}{here} does not beat the {versus_baseline}", vs_baseline, baseline_wins)
        if not baseline_wins:
            return decision(
                False, f"{kept}{here} vs the {versus_baseline}: not significant at alpha {alpha:g}", vs_baseline, False
            )
        return decision(
            True, f"{first}{here} beats the {versus_baseline}: significant at alpha {alpha:g}", vs_baseline, True
        )
    if not challenger.beats_baseline():
        return decision(False, f"{here} does not beat the {versus_baseline}", vs_baseline, baseline_wins)
    vs_champion = _paired_test(challenger, champion[1], alpha, baseline=False)
    champion_wins = vs_champion is not None and vs_champion.significant(better)
    versus = f"{here} vs champion v{theirs.version} {theirs.score:.4g}{_tested(vs_champion)}"
    if not champion_wins:
        return decision(False, f"{versus}: no significant improvement", vs_champion, False)
    if not challenger.better(mine.score, theirs.score, margin):
        return decision(False, f"{versus}: significant, but below the margin {margin:.1%}", vs_champion, True)
    if not baseline_wins:
        return decision(
            False, f"{versus}: significant, but not significantly better than the {versus_baseline}", vs_champion, True
        )
    return decision(True, f"{versus}: significant improvement; beats the {versus_baseline}", vs_champion, True)


def overlapping(holdout_start: str | None, train_ends: dict[str, str | None]) -> dict[str, str]:
    """The versions (label -> `data.train_end`) that trained on data at or after the hold-out's start.

    `train_ends` maps a label ('challenger v3') to its `data.train_end` (None: not recorded, by
    versions registered before the tag existed; they cannot be checked and pass).
    """
    if holdout_start is None:
        return {}
    start = datetime.fromisoformat(holdout_start)
    return {who: end for who, end in train_ends.items() if end and datetime.fromisoformat(end) >= start}


def comparison_tags(test: Comparison | None) -> dict[str, str]:
    """`gate.test`, `gate.p_value`, `gate.effect`, `gate.ci_low`, `gate.ci_high`, `gate.n`, `gate.alpha`."""
    if test is None:
        return {"test": "none"}
    return {
        "test": test.test,
        "p_value": f"{test.p_value:.4g}",
        "effect": f"{test.effect:.6g}",
        "ci_low": f"{test.ci_low:.6g}",
        "ci_high": f"{test.ci_high:.6g}",
        "n": str(test.n),
        "alpha": f"{test.alpha:g}",
    }
