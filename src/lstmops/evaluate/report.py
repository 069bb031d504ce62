"""What every evaluation returns: metrics with baselines beside them, figures and tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the registry commands read evaluations without plotting anything
    import pandas as pd
    from matplotlib.figure import Figure


@dataclass
class Evaluation:
    metrics: dict[str, float]  # model metrics with the baselines' beside them (mae, mae_persistence, ...)
    primary_metric: str  # what the registry gate compares between versions
    baseline_metric: str  # the strongest simple baseline's value of the same metric, on the same points
    higher_is_better: bool
    figures: dict[str, Figure] = field(default_factory=dict)  # artifact file name -> figure
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # artifact file name -> frame
    # Per-unit results for the registry gate's paired significance test (evaluate.significance),
    # indexed by what pairs two versions' units (a bar's date, a forecast origin, a row's timestamp):
    # forecasts: `loss` and `loss_baseline`, whose mean is the primary metric and the baseline's;
    # anomalies: per-row `tp`, `fp`, `fn` (and `_baseline`) of the events that start at the row.
    units: pd.DataFrame | None = None
    horizon: int = 1  # forecasts: steps ahead (the losses' autocorrelation); anomalies: bootstrap block rows
    baseline_name: str | None = None  # which baseline `baseline_metric` scores, where it is the strongest of several
    # What the numbers rest on, as MLflow run tags (e.g. an anomaly detector's `evaluation.judged_on`:
    # real labels or injected anomalies, and the injection protocol's id)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def baseline_label(self) -> str:
        """`linear` (the strongest of several), else the baseline's metric name (`f1_zscore`)."""
        return self.baseline_name or self.baseline_metric

    @property
    def score(self) -> float:
        return self.metrics[self.primary_metric]

    @property
    def baseline_score(self) -> float:
        return self.metrics[self.baseline_metric]

    def better(self, a: float, b: float, margin: float = 0.0) -> bool:
        """True when score `a` beats `b` by at least `margin` (relative): a < b*(1-margin) for errors."""
        if self.higher_is_better:
            return a > b * (1 + margin) if b > 0 else a > b
        return a < b * (1 - margin)

    def beats_baseline(self) -> bool:
        return self.better(self.score, self.baseline_score)
