"""The NAB benchmark for a person: one figure per scored series and a one-page HTML index of them.

Each figure shows the aggregated signal the detector saw with the labelled anomaly windows and the
detections (those overlapping a label apart from those that do not), and below it the anomaly score
against the threshold it had to cross. The index lists every group's F1 beside Orion's and every
series' counts with its figures, so a wrong detection or a missed window is one click away.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

FIGURE_SIZE = (14, 6.5)  # inches at 100 dpi: a full-width browser image; the index shows it as a thumbnail
FIGURE_DPI = 100
LABEL_COLOR, HIT_COLOR, FALSE_COLOR = "tab:orange", "tab:green", "tab:red"
HIT_LABEL, FALSE_LABEL = "detection overlapping a label (tp)", "detection overlapping no label (fp)"
LEGEND_ORDER = ("signal", "anomaly score", "threshold", "labelled window", HIT_LABEL, FALSE_LABEL)


@dataclass(frozen=True)
class GroupSummary:
    """What the console table and the HTML index both show of a group beside its F1, so the two agree:
    its series, each seed's pooled counts and Orion's F1 for it (None where Orion has no number)."""

    series: int
    counts: str  # "tp/fp/fn" of each seed, in seed order
    orion_lstm_ae: float | None
    orion_best: tuple[float, str] | None  # F1 and the pipeline's name


def figure_path(out: Path, group: str, name: str, seed: int) -> Path:
    """Where a series' figure goes: a folder named after the result JSON, beside it."""
    return out.with_name(f"{out.stem}_figures") / group / f"{name}_seed{seed}.png"


def index_path(out: Path) -> Path:
    return out.with_suffix(".html")


def series_figure(
    signal: pd.DataFrame,
    score: np.ndarray,
    threshold: np.ndarray,
    *,
    labelled: Sequence[tuple[pd.Timestamp, pd.Timestamp]],
    detections: Sequence[tuple[pd.Timestamp, pd.Timestamp]],
    title: str,
) -> Figure:
    """Signal (top) and anomaly score with its threshold (bottom) on one time axis.

    `signal`: timestamp, value (the aggregated series); `score` and `threshold` one value per row.
    Labelled windows are shaded on both panels; a detection is shaded green where it overlaps a
    labelled window (a true positive) and red where it overlaps none (a false positive), so a
    labelled window with no green in it is a miss.
    """
    figure = Figure(figsize=FIGURE_SIZE, dpi=FIGURE_DPI, layout="constrained")
    signal_axes, score_axes = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    times = signal["timestamp"].to_numpy()
    columns = int(FIGURE_SIZE[0] * FIGURE_DPI)
    _draw_line(signal_axes, times, signal["value"].to_numpy(dtype=float), columns, color="black", label="signal")
    _draw_line(score_axes, times, np.asarray(score, dtype=float), columns, color="tab:blue", label="anomaly score")
    score_axes.plot(times, threshold, color="tab:red", linestyle="--", linewidth=1.0, label="threshold")

    for index, (start, end) in enumerate(labelled):
        for axes in (signal_axes, score_axes):
            axes.axvspan(
                start, end, color=LABEL_COLOR, alpha=0.25, linewidth=0, label=None if index else "labelled window"
            )
    shown: set[bool] = set()
    for start, end in detections:
        hit = any(start <= label_end and label_start <= end for label_start, label_end in labelled)
        label = None if hit in shown else (HIT_LABEL if hit else FALSE_LABEL)
        shown.add(hit)
        for axes in (signal_axes, score_axes):
            # A band along the bottom too, so a detection inside a labelled window stays visible.
            axes.axvspan(start, end, color=HIT_COLOR if hit else FALSE_COLOR, alpha=0.25, linewidth=0, label=label)
            axes.axvspan(start, end, ymax=0.04, color=HIT_COLOR if hit else FALSE_COLOR, linewidth=0)

    figure.suptitle(title)
    signal_axes.set(ylabel="value (bin mean)")
    score_axes.set(xlabel="time", ylabel="score")
    signal_axes.margins(x=0)
    # One legend below both panels, where it hides no data; the panels share the shaded spans' labels.
    legend = {}
    for axes in (signal_axes, score_axes):
        handles, labels = axes.get_legend_handles_labels()
        legend |= dict(zip(labels, handles, strict=True))
    order = [label for label in LEGEND_ORDER if label in legend]
    figure.legend([legend[label] for label in order], order, loc="outside lower center", ncols=len(order))
    return figure


def _draw_line(axes, times: np.ndarray, values: np.ndarray, columns: int, *, color: str, label: str) -> None:
    """A line, or for series longer than the figure is wide, its min-max band per pixel column:
    a spike one point wide stays visible and the file stays small."""
    if len(values) <= 2 * columns:
        axes.plot(times, values, color=color, linewidth=0.7, label=label)
        return
    width = math.ceil(len(values) / columns)
    padded = np.pad(values, (0, -len(values) % width), mode="edge").reshape(-1, width)
    starts = times[::width]
    axes.fill_between(starts, padded.min(axis=1), padded.max(axis=1), color=color, linewidth=0.6, label=label)


def write_series_figure(path: Path, *args: Any, **kwargs: Any) -> Path:
    """`series_figure(*args, **kwargs)` saved as a PNG at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    series_figure(*args, **kwargs).savefig(path)
    return path


def write_index(
    out: Path,
    result: Mapping[str, Any],
    *,
    summaries: Mapping[str, GroupSummary],
) -> Path:
    """The HTML page beside `out` (the result JSON): a table of groups (F1 mean/min/max over seeds
    and, from each group's `summaries` entry, Orion's LSTM-AE and Orion's best for the group), then
    per group every series with each seed's tp/fp/fn and a thumbnail linking to its figure."""
    seeds = result["seeds"]
    protocol = result["protocol"]["name"]
    scored = len(result["series"])
    state = "complete" if result["complete"] else f"interrupted: {scored} trainings scored"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>NAB benchmark — {_text(out.stem)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>NAB benchmark: protocol {_text(protocol)}, seeds {_text(seeds)}</h1>",
        f"<p>{_text(out.name)} ({state}). Figures: the aggregated signal with the labelled windows "
        f'(<span class="key label">orange</span>), detections overlapping a label '
        f'(<span class="key hit">green, tp</span>) and detections overlapping none '
        f'(<span class="key miss">red, fp</span>); below, the anomaly score and its threshold. '
        "A labelled window with no green is a false negative.</p>",
        _group_table(result, summaries),
    ]
    for group in result["groups"]:
        parts.append(_series_table(out, group, result))
    unscored = result.get("unscored") or {}
    if unscored:
        left_out = "; ".join(f"{group}: {', '.join(names)}" for group, names in unscored.items())
        parts.append(f"<p>Left out by the protocol: {_text(left_out)}.</p>")
    parts.append("</body></html>")
    path = index_path(out)
    path.write_text("\n".join(parts) + "\n")
    return path


_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; vertical-align: top; }
th { background: #f2f2f2; text-align: center; }
td.name, th.name { text-align: left; }
td.seed { text-align: center; }
table.series { width: 100%; }
td.seed img { display: block; margin: 0.3em auto 0; width: 100%; min-width: 300px; max-width: 640px; height: auto; }
.key { padding: 0 0.3em; }
.label { background: rgba(255, 127, 14, 0.3); }
.hit { background: rgba(44, 160, 44, 0.3); }
.miss { background: rgba(214, 39, 40, 0.3); }
""".strip()


def _text(value: Any) -> str:
    return html.escape(str(value))


def _group_table(result: Mapping[str, Any], summaries: Mapping[str, GroupSummary]) -> str:
    rows = [
        "<table><tr><th class='name'>group</th><th>series</th><th>F1 mean</th><th>min</th><th>max</th>"
        "<th>tp/fp/fn per seed</th><th>Orion LSTM-AE</th><th>Orion best</th></tr>"
    ]
    for group, scores in result["groups"].items():
        summary = summaries[group]
        lstm_ae = "–" if summary.orion_lstm_ae is None else f"{summary.orion_lstm_ae:.3f}"
        best = "–" if summary.orion_best is None else f"{summary.orion_best[0]:.3f} ({summary.orion_best[1]})"
        f1 = scores["f1"]
        rows.append(
            f"<tr><td class='name'><a href='#{quote(group)}'>{_text(group)}</a></td><td>{summary.series}</td>"
            f"<td>{f1['mean']:.3f}</td><td>{f1['min']:.3f}</td><td>{f1['max']:.3f}</td><td>{summary.counts}</td>"
            f"<td>{lstm_ae}</td><td>{_text(best)}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def _series_table(out: Path, group: str, result: Mapping[str, Any]) -> str:
    rows = [row for row in result["series"] if row["group"] == group]
    seeds = list(dict.fromkeys(row["seed"] for row in rows))
    f1 = result["groups"][group]["f1"]
    parts = [
        f"<h2 id='{quote(group)}'>{_text(group)}: F1 {f1['mean']:.3f} (min {f1['min']:.3f}, max {f1['max']:.3f})</h2>",
        "<table class='series'><tr><th class='name'>series</th>"
        + "".join(f"<th>seed {seed}</th>" for seed in seeds)
        + "</tr>",
    ]
    for name in dict.fromkeys(row["name"] for row in rows):
        cells = []
        for seed in seeds:
            row = next((row for row in rows if row["name"] == name and row["seed"] == seed), None)
            if row is None:  # an interrupted run: this seed did not reach the series
                cells.append("<td class='seed'>–</td>")
                continue
            link = quote(figure_path(out, group, name, seed).relative_to(out.parent).as_posix())
            cells.append(
                f"<td class='seed'>tp {row['tp']} fp {row['fp']} fn {row['fn']}, F1 {row['f1']:.2f}, "
                f"{row['seconds']:.0f} s<a href='{link}'><img src='{link}' "
                f"loading='lazy' alt='{_text(name)} seed {seed}'></a></td>"
            )
        parts.append(f"<tr><td class='name'>{_text(name)}</td>{''.join(cells)}</tr>")
    parts.append("</table>")
    return "\n".join(parts)
