"""The HTML page of a check: the figure is embedded, the evidence is listed, and a check without
per-origin losses still gives a page."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd

from lstmops.monitoring.check import CheckResult
from lstmops.monitoring.report import figure_png, render, summary_markdown
from lstmops.monitoring.statistics import decide


def checked(decay: float) -> CheckResult:
    rng = np.random.default_rng(0)
    n_hold, n_new = 120, 90
    baseline = np.abs(rng.standard_normal(n_hold + n_new))
    champion = 0.8 * baseline + 0.1 * np.abs(rng.standard_normal(n_hold + n_new))
    champion[n_hold:] *= decay
    times = pd.bdate_range("2024-01-01", periods=n_hold + n_new)
    losses = pd.DataFrame(
        {"loss": champion, "loss_baseline": baseline, "part": ["hold-out"] * n_hold + ["new"] * n_new}, index=times
    )
    verdict = decide(
        champion[n_hold:], baseline[n_hold:], holdout_ratio=float("nan"), holdout=(champion[:n_hold], baseline[:n_hold])
    )
    verdict.evidence["baseline_name"] = "linear"
    return CheckResult(
        "forecaster-X", verdict.status, "3", verdict.n, verdict.evidence, verdict.describe(), "forecaster", "X",
        losses=losses,
    )  # fmt: skip


def test_a_decayed_check_is_a_page_with_its_figure_and_evidence():
    result = checked(decay=1.6)
    assert result.status == "decayed"
    page = render(result, checked_at="2026-12-04T19:00:00+00:00")
    assert "forecaster-X v3" in page and ">decayed<" in page
    assert "<th>ratio_p</th>" in page and "<th>baseline_name</th><td>linear</td>" in page
    (encoded,) = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert base64.b64decode(encoded).startswith(b"\x89PNG")


def test_a_check_without_losses_still_renders():
    result = CheckResult("forecaster-X", "error", "3", detail="the champion's file is damaged")
    assert figure_png(result) is None
    page = render(result)
    assert "No per-origin losses to draw." in page and "the champion&#x27;s file is damaged" in page


def test_the_flows_markdown_lists_each_verdict_with_its_numbers_and_run():
    decayed = checked(decay=1.6)
    verdicts = [
        {"name": decayed.name, "line": decayed.line(), "run_id": "abc123", "report": "monitor/report.html",
         **decayed.as_json()},
        {"name": "seq2seq-Y", "line": "seq2seq-Y: skipped — no @champion to check", "run_id": None,
         "status": "skipped", "version": None, "n": 0, "evidence": {"reason": "no @champion to check"}},
    ]  # fmt: skip
    markdown = summary_markdown(verdicts)
    table = [line for line in markdown.splitlines() if line.startswith("| forecaster-X")]
    (row,) = table
    assert "| **decayed** |" in row and f"{decayed.evidence['error_ratio']:.3g}" in row
    assert "| seq2seq-Y | - | skipped | 0 | - | - | - | - | - | - |" in markdown
    assert "MLflow run `abc123`" in markdown and "monitor/report.html" in markdown
