"""How the registry reads to a person: a version's model card (its description in the MLflow UI)
and the table of a model's alias moves (`lstmops registry history`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion

    from lstmops.registry.rule import Decision


def model_card(name: str, version: ModelVersion, run: Run, decision: Decision | None = None) -> str:
    """A version's description: a short model card in Markdown (the MLflow UI renders it)."""
    tags = run.data.tags
    registered = datetime.fromtimestamp(version.creation_timestamp / 1000, UTC)
    validation = ", ".join(
        f"{key.removeprefix('data.validation.')} {value}"
        for key, value in sorted(tags.items())
        if key.startswith("data.validation.")
    )
    lines = [
        f"**{tags.get('kind', name)}** for series **{tags.get('series', '?')}** — version {version.version}, "
        f"registered {registered:%Y-%m-%d %H:%M} UTC from run `{run.info.run_id}`.",
        "",
        f"- Data: {tags.get('data.kind', '?')} from {tags.get('data.source', '?')}, sha256 "
        f"`{tags.get('data.sha256', '?')[:16]}`, snapshot `{tags.get('data.raw_snapshot', '?')}`",
        f"- Validation: {validation or 'not recorded'}",
        f"- Code: git `{tags.get('git.commit', '?')[:12]}` (dirty: {tags.get('git.dirty', '?')}), "
        f"params hash `{tags.get('params.hash', '?')[:12]}`",
    ]
    if decision is not None:
        c = decision.challenger
        versus = f"; champion v{decision.champion.version} {decision.champion.score:.4g}" if decision.champion else ""
        baseline = f"strongest simple baseline ({c.baseline_name})" if c.baseline_name else "baseline"
        lines += [
            f"- Gate (same newest hold-out): {decision.metric} {c.score:.4g} vs {baseline} {c.baseline:.4g}{versus}",
            f"- Decision: **{decision.action}** — {decision.reason}",
        ]
        if decision.test is not None:
            t = decision.test
            against = f"champion v{decision.champion.version}" if decision.champion else f"the {baseline}"
            lines.append(
                f"- Test vs {against}: {t.test}, effect {t.effect:+.4g} ({1 - t.alpha:.0%} CI [{t.ci_low:.4g}, "
                f"{t.ci_high:.4g}]), p = {t.p_value:.3g}, n = {t.n}: "
                f"{'significant' if decision.significant else 'not significant'} at alpha {t.alpha:g}"
            )
    return "\n".join(lines)


def format_history(entries: list[dict[str, Any]]) -> str:
    """A table: one line per alias move, with both sides' scores on the gate's metric."""
    header = ("time (UTC)", "action", "version", "champion", "metric", "score", "vs", "baseline", "actor", "reason")
    rows = [header]
    for entry in entries:
        move = _move(entry, arrow="->")
        rows.append(
            (
                *move[:6],
                move[6] or "-",
                _number((entry.get("candidate") or {}).get("baseline")),
                entry["actor"],
                entry["reason"],
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) + "  " + str(row[-1]) for row in rows
    )


def history_markdown(entries: list[dict[str, Any]]) -> str:
    """The alias moves as a Markdown table, newest first (the registered model's description)."""
    lines = [
        "| time (UTC) | action | version | @champion | metric | score | vs | p | actor | reason |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in reversed(entries):
        move = _move(entry, arrow="→")
        cells = (
            *move[:6],
            move[6] or "baseline",
            _number((entry.get("test") or {}).get("p_value"), ".2g"),
            entry["actor"],
            entry["reason"].replace("|", "/"),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _move(entry: dict[str, Any], *, arrow: str) -> tuple[str, ...]:
    """What both history tables show of one audit entry: time, action, version, @champion before and
    after, metric, the candidate's score, and the incumbent's version and score ('' when none)."""
    from lstmops.registry.rule import CHAMPION  # imports this module for model cards: imported on use

    mine, theirs = entry.get("candidate") or {}, entry.get("incumbent") or {}
    before, after = (_labelled(entry[side].get(CHAMPION)) for side in ("aliases_before", "aliases_after"))
    return (
        entry["time"][:19].replace("T", " "),
        entry["action"],
        f"v{entry['version']}",
        f"{before} {arrow} {after}" if before != after else f"{after} (kept)",
        entry.get("metric") or "-",
        _number(mine.get("score")),
        f"v{theirs['version']} {_number(theirs.get('score'))}" if theirs else "",
    )


def _labelled(version: str | None) -> str:
    return f"v{version}" if version else "none"


def _number(value: float | None, spec: str = ".4g") -> str:
    return "-" if value is None else format(value, spec)


def no_such_model(name: str) -> str:
    """The one wording every command uses for a registered model that does not exist."""
    return f"no registered model {name!r} (see `lstmops registry list`)"
