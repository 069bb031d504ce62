"""A registered version's review report: one self-contained HTML file, logged on the version's run.

What a reviewer needs before a version serves: the gate's decision (its score, the champion's and
the naive baseline's on the same hold-out), the training run's metrics beside the champion's, data
lineage and validation result, the audit entries about it, its monitoring checks after promotion
(`lstmops monitor`), and every plot of its run (forecast,
reconstruction error, attention map, ...) inlined as base64 so the file opens anywhere.
"""

from __future__ import annotations

import base64
import html
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from lstmops.registry.audit import aliases_of, history
from lstmops.registry.report import no_such_model
from lstmops.registry.rule import CHAMPION, RegistryError
from lstmops.registry.versions import GATE_TAG_PREFIX, METRIC_TAG_PREFIX
from lstmops.tracking.store import filter_literal

REVIEW_ROOT = Path("mlruns") / "reviews"  # next to the embedded store, git-ignored with it
REVIEW_ARTIFACT_DIR = "review"
REVIEW_TAG = "review"
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; font-size: 0.92em; }
th { background: #f3f3f3; }
.promoted { color: #0a7a2f; font-weight: bold; } .rejected { color: #b00020; font-weight: bold; }
figure { margin: 1em 0; } img { max-width: 100%; border: 1px solid #ddd; }
"""


def review(name: str, version: str | int | None = None, out_dir: Path = REVIEW_ROOT) -> Path:
    """Write the report of `name` version `version` (default: @champion, else the newest version),
    log it as `review/review.html` on that version's run, and return the local file."""
    client = MlflowClient()
    model_version = resolve_version(client, name, version)
    number = str(model_version.version)  # an int in MLflow 3.17
    run = client.get_run(model_version.run_id)
    aliases = aliases_of(name)
    champion = aliases.get(CHAMPION)
    champion_metrics = None
    if champion and champion != number:
        champion_metrics = _run_metrics(client.get_run(client.get_model_version(name, champion).run_id).data.metrics)
    with tempfile.TemporaryDirectory(prefix="lstmops-review-") as scratch:
        images = run_images(client, run.info.run_id, Path(scratch))
    entries = [
        entry for entry in history(name) if number in (entry["version"], (entry.get("incumbent") or {}).get("version"))
    ]

    page = render(
        name,
        model_version,
        [alias for alias, v in aliases.items() if v == number],
        _run_metrics(run.data.metrics),
        champion,
        champion_metrics,
        images,
        entries,
        run.data.tags,
        monitoring_checks(name, number),
    )
    path = Path(out_dir) / name / f"v{number}" / "review.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    client.log_artifact(run.info.run_id, str(path), REVIEW_ARTIFACT_DIR)
    client.set_model_version_tag(name, number, REVIEW_TAG, f"runs:/{run.info.run_id}/{REVIEW_ARTIFACT_DIR}/{path.name}")
    return path


def monitoring_checks(name: str, version: str) -> tuple[list[str], list[list[str]]]:
    """The version's checks in `lstmops-monitoring`, as a table's headings and rows (a store without them: none)."""
    from lstmops.monitoring.history import checks, table

    return table(checks(name, version))


def resolve_version(client: MlflowClient, name: str, version: str | int | None) -> ModelVersion:
    try:
        versions = client.search_model_versions(f"name = {filter_literal(name)}")
    except MlflowException as err:
        raise RegistryError(f"cannot read registered model {name!r}: {err.message}") from err
    if not versions:
        raise RegistryError(no_such_model(name))
    if version is None:
        wanted = aliases_of(name).get(CHAMPION) or max(int(v.version) for v in versions)
    else:
        wanted = version
    found = [v for v in versions if int(v.version) == int(wanted)]
    if not found:
        raise RegistryError(f"{name} has no version {wanted}; versions: {sorted(int(v.version) for v in versions)}")
    return client.get_model_version(name, str(found[0].version))  # with its aliases and tags filled in


def run_images(client: MlflowClient, run_id: str, scratch: Path) -> list[tuple[str, str]]:
    """(artifact path, data URI) of every image the run logged (plots/...), in path order."""
    images = []
    pending = [artifact for artifact in client.list_artifacts(run_id) if artifact.path != REVIEW_ARTIFACT_DIR]
    while pending:
        artifact = pending.pop()
        if artifact.is_dir:
            pending.extend(client.list_artifacts(run_id, artifact.path))
        elif Path(artifact.path).suffix.lower() in IMAGE_TYPES:
            local = Path(client.download_artifacts(run_id, artifact.path, str(scratch)))
            encoded = base64.b64encode(local.read_bytes()).decode("ascii")
            images.append((artifact.path, f"data:{IMAGE_TYPES[local.suffix.lower()]};base64,{encoded}"))
    return sorted(images)


def _run_metrics(metrics: dict[str, float]) -> dict[str, float]:
    return {key: value for key, value in metrics.items() if not key.startswith("epoch/")}


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


# Metric-name suffixes that mean "the same metric for a simple baseline" (`mae_persistence`, `f1_zscore`,
# `mae_seasonal_288`: the seasonal naive of period 288, `mae_linear`: the ridge on lags); longest first,
# so `mae_seasonal_naive` is the `seasonal_naive` baseline of `mae`, not `naive` of `mae_seasonal`.
BASELINE_SUFFIX = re.compile(
    r"_(seasonal_naive|threshold_max|best_baseline|persistence|seasonal_\d+|seasonal|zscore|linear|drift|naive)$"
)
BASELINE_COLUMNS = (
    "best_baseline",
    "linear",
    "persistence",
    "drift",
    "seasonal",
    "seasonal_naive",
    "naive",
    "zscore",
    "threshold_max",
)


def _baseline_heading(name: str) -> str:
    """`strongest simple baseline (linear)`; `baseline` for versions gated before the name was kept."""
    return "baseline" if name == "none" else f"strongest simple baseline ({name})"


def natural_key(name: str) -> list:
    """`mae_step_2` before `mae_step_10`: digits compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def split_baselines(metrics: dict[str, float]) -> tuple[list[str], list[str]]:
    """The model's metrics (natural order) and the baselines found beside them (`mae_persistence` -> persistence),
    the named ones in BASELINE_COLUMNS order, then the seasonal naives by period."""
    baselines, own = set(), []
    for name in metrics:
        match = BASELINE_SUFFIX.search(name)
        if match and name[: match.start()] in metrics:
            baselines.add(match.group(1))
        else:
            own.append(name)
    named = [s for s in BASELINE_COLUMNS if s in baselines]
    return sorted(own, key=natural_key), named + sorted(baselines - set(named), key=natural_key)


def metrics_table(
    metrics: dict[str, float], champion_metrics: dict[str, float] | None, champion: str | None
) -> tuple[list[str], list[list[str]]]:
    """Header and rows: metric | this version | each baseline | the champion's value (when there is one)."""
    every = {**(champion_metrics or {}), **metrics}
    names, baselines = split_baselines(every)
    header = ["metric (training run's hold-out)", "this version", *baselines]
    header += [f"champion v{champion}"] if champion_metrics is not None else []
    rows = []
    for name in names:
        row = [name, _fmt(metrics.get(name)), *(_fmt(every.get(f"{name}_{b}")) for b in baselines)]
        rows.append(row + ([_fmt(champion_metrics.get(name))] if champion_metrics is not None else []))
    return header, rows


def render(
    name: str,
    version: ModelVersion,
    aliases: list[str],
    metrics: dict[str, float],
    champion: str | None,
    champion_metrics: dict[str, float] | None,
    images: list[tuple[str, str]],
    entries: list[dict],
    run_tags: dict[str, str] | None = None,  # validation results live on the run (versions keep identifying tags)
    checks: tuple[list[str], list[list[str]]] | None = None,  # its monitoring history (`monitoring.history.table`)
) -> str:
    tags, number = version.tags, str(version.version)
    gate = {key.removeprefix(GATE_TAG_PREFIX): value for key, value in tags.items() if key.startswith(GATE_TAG_PREFIX)}
    created = datetime.fromtimestamp(version.creation_timestamp / 1000, UTC)
    decision = gate.get("decision", "not gated")
    parts = [
        f"<h1>{html.escape(name)} — version {number}</h1>",
        f"<p>Aliases: <b>{html.escape(', '.join('@' + a for a in aliases) or 'none')}</b> "
        f"(champion: {html.escape('v' + champion if champion else 'none')}). Registered {created:%Y-%m-%d %H:%M} UTC "
        f"from run <code>{html.escape(version.run_id or '?')}</code>.</p>",
        f"<h2>Gate decision: <span class='{html.escape(decision)}'>{html.escape(decision)}</span></h2>",
        f"<p>{html.escape(gate.get('reason', 'This version has not been through the promotion gate.'))}</p>",
    ]
    if gate:
        champion_then = gate.get("champion_version", "none")
        parts.append(
            _table(
                [
                    "metric (same newest hold-out)",
                    "this version",
                    f"champion v{champion_then}" if champion_then != "none" else "champion (none: first version)",
                    _baseline_heading(gate.get("baseline_name", "none")),
                ],
                [
                    [
                        gate.get("metric", "?"),
                        gate.get("score", "-"),
                        gate.get("champion_score", "-"),
                        gate.get("baseline", "-"),
                    ]
                ],
            )
        )
        if gate.get("test", "none") != "none":
            parts.append(
                "<p>Significance: "
                + html.escape(
                    f"{gate['test']}, effect {gate.get('effect')} ({1 - float(gate.get('alpha', 0.05)):.0%} CI "
                    f"[{gate.get('ci_low')}, {gate.get('ci_high')}]), p = {gate.get('p_value')}, n = {gate.get('n')}, "
                    f"significant: {gate.get('significant', '?')}"
                )
                + "</p>"
            )
        parts.append(
            f"<p>Hold-out data sha256 <code>{html.escape(gate.get('holdout.sha256', '?'))}</code>; "
            f"decided {html.escape(gate.get('time', '?'))} by {html.escape(gate.get('actor', '?'))}.</p>"
        )

    header, rows = metrics_table(metrics, champion_metrics, champion)
    parts += ["<h2>Metrics</h2>", _table(header, rows)]
    # What an anomaly detector's numbers rest on: real labels (and their file) or injected anomalies
    judged = [[key, value] for key, value in sorted((run_tags or {}).items()) if key.startswith("evaluation.")]
    if judged:
        parts += ["<h2>Evaluated on</h2>", _table(["tag", "value"], judged)]

    validation = [
        [key, value]
        for key, value in sorted({**(run_tags or {}), **tags}.items())
        if key.startswith("data.validation.")
    ]
    parts += [
        "<h2>Validation</h2>",
        _table(["check", "result"], validation)
        if validation
        else "<p>No validation result recorded on this version.</p>",
    ]
    lineage = [
        [key, value]
        for key, value in sorted(tags.items())
        if not key.startswith((METRIC_TAG_PREFIX, GATE_TAG_PREFIX, "data.validation.")) and key != REVIEW_TAG
    ]
    parts += ["<h2>Data lineage</h2>", _table(["tag", "value"], lineage)]

    parts.append("<h2>Plots</h2>")
    parts += [
        f"<figure><img src='{uri}' alt='{html.escape(path)}'><figcaption>{html.escape(path)}</figcaption></figure>"
        for path, uri in images
    ] or ["<p>The run logged no plots.</p>"]

    audit = [
        [entry["time"][:19], entry["action"], f"v{entry['version']}", entry["actor"], entry["reason"]]
        for entry in entries
    ]
    parts += [
        "<h2>Audit trail</h2>",
        _table(["time (UTC)", "action", "version", "actor", "reason"], audit)
        if audit
        else "<p>No alias moves recorded for this version.</p>",
    ]
    parts += [
        "<h2>Monitoring after promotion</h2>",
        _table(*checks)
        if checks and checks[1]
        else "<p>No monitoring checks recorded for this version (<code>lstmops monitor</code>).</p>",
    ]
    body = "\n".join(parts)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Review {html.escape(name)} "
        f"v{number}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )
