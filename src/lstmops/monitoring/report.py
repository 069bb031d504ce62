"""A check as a page a reviewer reads: one self-contained HTML file (figures embedded as PNG).

- the rolling error of the champion and of the baseline it is judged against, hold-out and new data;
- their rolling error ratio, with the hold-out's ratio r0 and a band: the 5th to 95th percentile of
  the same rolling ratio over the hold-out (how far it wandered while the champion was "normal");
- the CUSUM on the new data's standardised differences (c - r0 b), with its alarm level;
- the input that moved most (`monitoring.drift`), training rows against new rows, as histograms;
- the verdict's evidence as a table.

An anomaly detector's check draws instead its scores over time with its threshold and alerts, the
share of rows alerted over time against the reference's, the score histograms of the reference and the
new rows, and the CUSUM of the new scores (`monitoring.alerts`).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np
import pandas as pd

from lstmops.monitoring.alerts import TAIL_QUANTILE, score_cusum
from lstmops.monitoring.check import CheckResult
from lstmops.monitoring.statistics import standardised_differences, upper_cusum

STATUS_COLOURS = {"healthy": "#1a7f37", "warning": "#9a6700", "decayed": "#cf222e", "insufficient_data": "#57606a"}


def rolling_window(horizon: int, points: int) -> int:
    """Origins per rolling mean: a few stretches of h (h-step losses overlap), at least 10, at most a third of the data."""
    return int(max(2, min(max(10, 5 * horizon), points // 3 or 2)))


def figure_png(result: CheckResult) -> bytes | None:
    """The three panels (see the module docstring) as PNG bytes; None without per-origin losses or scores."""
    if result.scores is not None:
        return detector_figure_png(result)
    losses = result.losses
    if losses is None or losses.empty:
        return None
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, nothing global to close

    evidence = result.evidence
    horizon = int(evidence.get("horizon") or 1)
    r0 = evidence.get("holdout_ratio")
    times = pd.to_datetime(losses.index)
    window = rolling_window(horizon, len(losses))
    champion = losses["loss"].rolling(window, min_periods=window).mean()
    baseline = losses["loss_baseline"].rolling(window, min_periods=window).mean()
    ratio = champion / baseline.where(baseline > 0)
    new = (losses["part"] == "new").to_numpy()
    held = ~new
    boundary = times[np.argmax(new)] if new.any() and held.any() else None
    baseline_label = f"baseline ({evidence.get('baseline_name') or 'strongest'})"

    sample = result.drift_sample
    fig = Figure(figsize=(10, 11.5 if sample else 8.5), layout="constrained")
    grid = fig.add_gridspec(4 if sample else 3, 1, height_ratios=[1, 1, 1, 1.1] if sample else [1, 1, 1])
    top = fig.add_subplot(grid[0])
    middle, bottom = fig.add_subplot(grid[1], sharex=top), fig.add_subplot(grid[2], sharex=top)
    axes = (top, middle, bottom)
    top.plot(times, champion, label="champion", color="#0969da")
    top.plot(times, baseline, label=baseline_label, color="#8250df", alpha=0.8)
    top.set_ylabel(f"error, rolling mean of {window}")
    top.set_title(f"{result.name} v{result.version}: {result.status}")
    top.legend(loc="upper left")

    middle.plot(times, ratio, color="#0969da", label="champion / baseline")
    if r0 is not None:
        middle.axhline(r0, color="black", linewidth=1, label=f"hold-out ratio {r0:.3g}")
    if held.any() and ratio[held].notna().any():
        low, high = np.nanpercentile(ratio[held].to_numpy(dtype=float), [5, 95])
        middle.axhspan(low, high, color="#afb8c1", alpha=0.4, label="hold-out band (5-95%)")
    middle.axhline(1.0, color="#8250df", linestyle=":", linewidth=1, label="parity with the baseline")
    middle.set_ylabel("error ratio")
    middle.legend(loc="upper left", fontsize="small")

    new_losses = losses[new]
    if len(new_losses) and r0 is not None:
        reference = losses[held] if held.any() else None
        holdout = None if reference is None else (reference["loss"].to_numpy(), reference["loss_baseline"].to_numpy())
        z = standardised_differences(
            new_losses["loss"].to_numpy(), new_losses["loss_baseline"].to_numpy(), r0, holdout, horizon
        )
        path = upper_cusum(z, float(evidence.get("cusum_k", 0.5)))
        bottom.plot(times[new], path, color="#9a6700", label="CUSUM of (c - r0 b), standardised")
        bottom.axhline(evidence.get("cusum_threshold", 8.0), color="#cf222e", linestyle="--", label="warning level")
        bottom.legend(loc="upper left", fontsize="small")
    bottom.set_ylabel("CUSUM (new data)")
    for axis in axes:
        if boundary is not None:
            axis.axvline(boundary, color="#57606a", linestyle="--", linewidth=1)
        axis.grid(alpha=0.3)
    if boundary is not None:
        # Inside the panel, under the title, so the two never overlap.
        top.annotate("hold-out | new", (boundary, 0.98), xycoords=("data", "axes fraction"), fontsize="small",
                     ha="center", va="top", backgroundcolor="white")  # fmt: skip
    if sample:
        name, reference, fresh = sample
        drifted = fig.add_subplot(grid[3])
        bins = np.histogram_bin_edges(np.concatenate([reference, fresh]), bins=40)
        drifted.hist(reference, bins=bins, density=True, alpha=0.5, color="#57606a", label="training rows")
        drifted.hist(fresh, bins=bins, density=True, alpha=0.5, color="#0969da", label="new rows")
        p = evidence.get("input_drift_p")
        drifted.set_title(f"what the model sees: {name}" + (f" (block-bootstrap p={p:.2g})" if p is not None else ""))
        drifted.set_ylabel("density")
        drifted.legend(loc="upper left", fontsize="small")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def detector_figure_png(result: CheckResult) -> bytes | None:
    """An anomaly detector's four panels (see the module docstring) as PNG bytes; None without scores."""
    table = result.scores
    if table is None or table.empty:
        return None
    from matplotlib.figure import Figure

    evidence = result.evidence
    threshold = evidence.get("threshold")
    gap = int(evidence.get("gap") or 1)
    times = pd.to_datetime(table.index)
    new = (table["part"] == "new").to_numpy()
    reference = ~new
    scores, alerted = table["score"].to_numpy(dtype=float), table["alert"].to_numpy(dtype=bool)
    boundary = times[np.argmax(new)] if new.any() and reference.any() else None

    fig = Figure(figsize=(10, 12), layout="constrained")
    grid = fig.add_gridspec(4, 1, height_ratios=[1.2, 0.8, 1, 0.8])
    top = fig.add_subplot(grid[0])
    rate = fig.add_subplot(grid[1], sharex=top)
    histogram = fig.add_subplot(grid[2])
    cusum = fig.add_subplot(grid[3], sharex=top)
    for part, colour, label in ((reference, "#57606a", "reference"), (new, "#0969da", "new rows")):
        top.plot(times[part], scores[part], color=colour, linewidth=0.8, label=label)
    top.scatter(times[alerted], scores[alerted], color="#cf222e", s=8, zorder=3, label="alert (above threshold)")
    if threshold is not None:
        top.axhline(threshold, color="#cf222e", linestyle="--", linewidth=1, label=f"threshold {threshold:.3g}")
    top.set_ylabel("anomaly score")
    top.set_title(f"{result.name} v{result.version}: {result.status}")
    top.legend(loc="upper left", fontsize="small")

    # Alerts over time: the share of alerted rows over a trailing stretch of ten windows (the test's minimum).
    span = max(2, min(10 * gap, len(table) // 3 or 2))
    rolling = pd.Series(alerted.astype(float), index=times).rolling(span, min_periods=span).mean()
    rate.plot(times, rolling, color="#0969da", label=f"share of rows alerted, last {span} rows")
    reference_rate = evidence.get("alert_rate_reference")
    if reference_rate is not None:
        rate.axhline(reference_rate, color="black", linewidth=1, label=f"reference rate {reference_rate:.3g}")
    rate.set_ylabel("alert rate")
    rate.legend(loc="upper left", fontsize="small")

    bins = np.histogram_bin_edges(scores, bins=50)
    histogram.hist(scores[reference], bins=bins, density=True, alpha=0.5, color="#57606a", label="reference")
    histogram.hist(scores[new], bins=bins, density=True, alpha=0.5, color="#0969da", label="new rows")
    if threshold is not None:
        histogram.axvline(threshold, color="#cf222e", linestyle="--", linewidth=1, label="threshold")
    p = evidence.get("tail_share_p")
    histogram.set_title(
        "anomaly scores"
        + (
            f" (above the reference's {100 * evidence['tail_quantile']:.0f}th percentile: {evidence['tail_share']:.3g}"
            f" vs {evidence['tail_share_reference']:.3g}, block-bootstrap p={p:.2g})"
            if p is not None
            else ""
        )
    )
    histogram.set_ylabel("density")
    histogram.legend(loc="upper right", fontsize="small")

    if new.any() and reference.any():
        span = int(evidence.get("span") or gap)
        path = score_cusum(scores[reference], scores[new], span, float(evidence.get("cusum_k", 0.5)))
        cusum.plot(times[new], path, color="#9a6700", label="CUSUM of the new scores (reference quantiles)")
        cusum.axhline(evidence.get("cusum_threshold", 8.0), color="#cf222e", linestyle="--", label="warning level")
        cusum.legend(loc="upper left", fontsize="small")
    cusum.set_ylabel("CUSUM (new rows)")
    for axis in (top, rate, cusum):
        if boundary is not None:
            axis.axvline(boundary, color="#57606a", linestyle="--", linewidth=1)
        axis.grid(alpha=0.3)
    histogram.grid(alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape("-" if value is None else str(value))


def render(result: CheckResult, *, checked_at: str = "", extra: dict[str, Any] | None = None) -> str:
    """The check as one HTML page (figures embedded)."""
    colour = STATUS_COLOURS.get(result.status, "#57606a")
    png = figure_png(result)
    detector = result.scores is not None
    alt = (
        "anomaly scores, alerts over time, score histograms and CUSUM"
        if detector
        else "rolling errors, error ratio and CUSUM"
    )
    figure = (
        f'<img alt="{alt}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        if png
        else "<p>No per-origin losses to draw.</p>"
    )
    counted = "new rows with final scores" if detector else "new forecast origins with arrived targets"
    meaning = DETECTOR_MEANING if detector else FORECAST_MEANING
    rows = "\n".join(
        f"<tr><th>{html.escape(str(key))}</th><td>{_cell(value)}</td></tr>"
        for key, value in {**result.evidence, **(extra or {})}.items()
    )
    title = f"{result.name} v{result.version or '-'}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Monitoring: {html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2328; max-width: 64rem; }}
.status {{ color: white; background: {colour}; padding: 0.1rem 0.5rem; border-radius: 0.3rem; }}
table {{ border-collapse: collapse; }} th, td {{ text-align: left; padding: 0.15rem 0.8rem; border-bottom: 1px solid #d0d7de; }}
img {{ max-width: 100%; }} .muted {{ color: #57606a; }}
</style></head><body>
<h1>{html.escape(title)} <span class="status">{html.escape(result.status)}</span></h1>
<p>{html.escape(result.detail)}</p>
<p class="muted">{html.escape(result.kind)} on {html.escape(result.series)}; checked {html.escape(checked_at)};
validated data sha256 {html.escape(result.data_sha256[:16])}…; {result.n} {counted}.</p>
{figure}
<h2>Evidence</h2>
<table>
{rows}
</table>
<p class="muted">{meaning}</p>
</body></html>
"""


FORECAST_MEANING = """decayed: the champion is significantly worse than the baseline it beat on its hold-out
(Diebold–Mariano, HLN), or its error ratio is significantly above its hold-out ratio (alpha split over
the two, horizon-aware variance). warning: the CUSUM crossed its level without a significant test."""
DETECTOR_MEANING = f"""decayed: the new rows hold a significantly larger share of rows above the threshold than
the reference, or a significantly larger share of scores above the reference's {TAIL_QUANTILE * 100:.0f}th percentile (both
block-bootstrap p-values, so a run of alerts weighs as one stretch); alpha split over the two.
warning: the CUSUM of the new scores crossed its level without a significant test."""


def summary_markdown(verdicts: list[dict[str, Any]]) -> str:
    """A monitoring pass as markdown (the flow's Prefect artifact): a table of the verdicts, each
    check's evidence line, and where its MLflow run and report are."""

    def number(value: Any) -> str:
        return f"{value:.3g}" if isinstance(value, int | float) else "-"

    header = "| model | version | status | new targets or rows | error ratio | hold-out ratio | DM p | ratio p | alert rate (reference) | upper-tail p |\n"
    header += "|---|---|---|---|---|---|---|---|---|---|\n"
    rows = []
    for v in verdicts:
        e = v.get("evidence", {})
        status = f"**{v['status']}**" if v["status"] in ("decayed", "error") else v["status"]
        rows.append(
            f"| {v['name']} | {v.get('version') or '-'} | {status} | {v.get('n', 0)} | {number(e.get('error_ratio'))} "
            f"| {number(e.get('holdout_ratio'))} | {number(e.get('dm_p'))} | {number(e.get('ratio_p'))} "
            f"| {_rates(e)} | {number(e.get('tail_share_p'))} |"
        )
    lines = [header + "\n".join(rows), ""]
    for v in verdicts:
        lines.append(f"- {v['line']}")
        if v.get("run_id"):
            run = v.get("run_link") or f"`{v['run_id']}`"
            lines.append(f"  MLflow run {run} in experiment `lstmops-monitoring`, report: artifact `{v['report']}`")
    return "\n".join(lines) + "\n"


def _rates(evidence: dict[str, Any]) -> str:
    rate, reference = evidence.get("alert_rate"), evidence.get("alert_rate_reference")
    return "-" if rate is None or reference is None else f"{rate:.3g} ({reference:.3g})"
