"""The validation gate's engine: Great Expectations suites over a raw frame, its report, and quarantine.

Each data kind owns its rules (`data/kinds/price_rules.py`, `data/kinds/sensor_rules.py`) and runs them
here through `validate_frame`, in two GX suites on an ephemeral context:
1. schema  - enough rows, required columns present, column dtypes;
2. content - the kind's row rules (nulls, order, gaps, sampling, finiteness, ...).
The content suite only runs once the schema passes (its rules and derived columns need the right
columns and dtypes), so a broken file is reported by its first real cause, not by cascades.

Rules GX has no built-in expectation for are evaluated by GX on derived columns the kind computes.

Offending rows are reported by their line in the source CSV: the frame's rows are assumed to be the
file's data rows in file order (as raw snapshots are read back), so row i (0-based) is line i + 2.
GX reports them itself: the frame is validated with an index named `line` holding those numbers.
"""

from __future__ import annotations

import html
import json
import logging
import math
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import great_expectations as gx
import great_expectations.expectations as gxe
import numpy as np
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

# Each ephemeral context announces the temporary folder of a docs site we never build (INFO, once per
# validation); keep GX's own warnings and errors.
logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)

QUARANTINE_DIR = "quarantine"
LINE = "line"
FIRST_DATA_LINE = 2  # line 1 is the CSV header
MAX_EXAMPLES = 5
MIN_ROWS = 2  # a series needs at least one interval


class MinRows(NamedTuple):
    """The fewest rows a batch may have, and why (the windows and split the configured models need)."""

    rows: int
    reason: str


DATETIME_TYPES = [f"datetime64[{unit}]" for unit in ("s", "ms", "us", "ns")]  # tz-naive only
NUMBER_TYPES = ["float64", "int64"]

TIME_COLUMNS = ("date", "timestamp")
LARGEST_FLOAT = float(np.finfo(np.float64).max)


@dataclass
class RuleFailure:
    rule: str
    description: str
    unexpected_count: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        if not self.examples:
            return f"{self.rule}: {self.description}"
        shown = "; ".join(_describe_example(example) for example in self.examples)
        return f"{self.rule}: {self.unexpected_count} row(s) break '{self.description}', e.g. {shown}"


@dataclass
class ValidationReport:
    kind: str
    source_file: str
    success: bool
    rows: int
    failures: list[RuleFailure]
    gx_result: dict[str, Any]  # {"schema": GX suite result, "content": GX suite result or None}

    def to_dict(self) -> dict[str, Any]:
        return _json_safe(asdict(self))

    def message(self) -> str:
        if self.success:
            return f"{self.source_file} passed validation ({self.rows} rows)."
        lines = [f"{self.source_file} failed validation ({self.kind}, {self.rows} rows):"]
        lines += [f"  - {failure.summary()}" for failure in self.failures]
        if self.gx_result.get("content") is None:
            lines.append("  (row-level rules are checked once the columns and types are right)")
        return "\n".join(lines)

    def write_json(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")
        return path


class ValidationFailed(RuntimeError):
    """A batch failed validation; it was copied to `quarantine_dir` with its report."""

    def __init__(self, report: ValidationReport, quarantine_dir: Path) -> None:
        self.report = report
        self.quarantine_dir = quarantine_dir
        super().__init__(f"{report.message()}\nQuarantined with its report in {quarantine_dir}")


@dataclass
class Rule:
    """One named rule: the GX expectation that decides it and the columns shown for offending rows."""

    id: str
    description: str
    expectation: gxe.Expectation
    shows: tuple[str, ...] = ()


# --------------------------------------------------------------------------- public entry points


def validate_frame(
    kind: str,
    frame: pd.DataFrame,
    *,
    source_file: str | Path,
    columns: dict[str, list[str]],
    optional_columns: dict[str, list[str]] | None = None,
    min_rows: MinRows | None = None,
    content: Callable[[pd.DataFrame], tuple[pd.DataFrame, list[Rule]]],
) -> ValidationReport:
    """Validate `frame` as a `kind` batch: the schema suite (`columns` with their dtypes, `min_rows`),
    then, once it passes, the kind's content rules. `content` gets the frame indexed by source line and
    returns it with any derived columns its rules read, and the rules.
    """
    batches = _batch_definition()
    rows = _numbered(frame)
    schema_rules = _schema_rules(rows, columns, optional_columns or {}, min_rows)
    schema = _evaluate(batches, rows, f"{kind}-schema", schema_rules)
    if schema.failures:
        return _report(kind, source_file, rows, schema, None)
    rows, rules = content(rows)
    return _report(kind, source_file, rows, schema, _evaluate(batches, rows, f"{kind}-content", rules))


def quarantine(raw_file: Path, report: ValidationReport, data_root: Path) -> Path:
    """Copy (never move) the raw file, its .meta.json sidecar and the report into quarantine/."""
    raw_file = Path(raw_file)
    folder = Path(data_root) / QUARANTINE_DIR / report.kind / raw_file.stem
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(raw_file, folder / raw_file.name)
    sidecar = raw_file.with_suffix(".meta.json")
    if sidecar.exists():
        shutil.copy2(sidecar, folder / sidecar.name)
    report.write_json(folder / "validation.json")
    (folder / "validation.html").write_text(_render_html(report))
    return folder


def gate(report: ValidationReport, raw_file: Path, data_root: Path) -> None:
    """Let a passing batch through; quarantine a failing one and raise ValidationFailed."""
    if not report.success:
        raise ValidationFailed(report, quarantine(raw_file, report, data_root))


# --------------------------------------------------------------------------- the schema suite


def _schema_rules(
    frame: pd.DataFrame,
    required: dict[str, list[str]],
    optional: dict[str, list[str]],
    min_rows: MinRows | None = None,
) -> list[Rule]:
    # An empty or one-row batch would pass every row rule vacuously; a short one trains nothing.
    min_rows = min_rows or MinRows(MIN_ROWS, "a series needs at least one interval")
    rules = [
        Rule(
            "enough_rows",
            f"at least {min_rows.rows} rows ({min_rows.reason}), got {len(frame)}",
            gxe.ExpectTableRowCountToBeBetween(min_value=min_rows.rows),
        ),
        # Extra columns are tolerated; missing ones are reported once here, not per rule.
        Rule(
            "required_columns",
            f"columns {', '.join(required)} are present",
            gxe.ExpectTableColumnsToMatchSet(column_set=list(required), exact_match=False),
        ),
    ]
    # Dtypes of the columns that exist (tz-aware or text dates and text numbers fail here).
    for column, types in {**required, **optional}.items():
        if column in frame.columns:
            rules.append(
                Rule(
                    f"{column}_type",
                    f"{column} dtype ({frame[column].dtype}) is one of {types}",
                    gxe.ExpectColumnValuesToBeInTypeList(column=column, type_list=types),
                    shows=(column,),
                )
            )
    return rules


# --------------------------------------------------------------------------- rows by source line


def _numbered(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy indexed by source line number, so GX names offending rows by line."""
    numbered = frame.reset_index(drop=True)
    numbered.index = pd.RangeIndex(FIRST_DATA_LINE, FIRST_DATA_LINE + len(frame), name=LINE)
    return numbered


# --------------------------------------------------------------------------- running GX


@dataclass
class _SuiteOutcome:
    gx_result: dict[str, Any]
    failures: list[RuleFailure]


def _batch_definition() -> Any:
    """A fresh in-memory GX context with one whole-dataframe batch definition (~0.1 s).

    Fresh per validation so concurrent flows share no GX state; both suites of a call reuse it.
    """
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return (
        context.data_sources.add_pandas("frames")
        .add_dataframe_asset("frame")
        .add_batch_definition_whole_dataframe("whole frame")
    )


def _evaluate(batches: Any, frame: pd.DataFrame, suite_name: str, rules: list[Rule]) -> _SuiteOutcome:
    batch = batches.get_batch(batch_parameters={"dataframe": frame})
    suite = gx.ExpectationSuite(name=suite_name)
    by_id = {rule.id: rule for rule in rules}
    for rule in rules:
        rule.expectation.meta = {"rule": rule.id}
        rule.expectation.description = rule.description
        suite.add_expectation(rule.expectation)
    result = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES})
    failures = [
        _failure(by_id[outcome.expectation_config.meta["rule"]], outcome, frame)
        for outcome in result.results
        if not outcome.success
    ]
    order = list(by_id)  # GX runs table-level expectations first; report in suite order
    failures.sort(key=lambda failure: order.index(failure.rule))
    return _SuiteOutcome(result.to_json_dict(), failures)


def _failure(rule: Rule, outcome: Any, frame: pd.DataFrame) -> RuleFailure:
    details = outcome.result or {}
    description = rule.description
    if outcome.exception_info and outcome.exception_info.get("raised_exception"):
        description += f" (could not be evaluated: {outcome.exception_info['exception_message']})"
    elif "observed_value" in details:
        description += f" (observed: {_observed(details)})"
    lines = [entry[LINE] for entry in details.get("partial_unexpected_index_list") or []]
    return RuleFailure(
        rule=rule.id,
        description=description,
        unexpected_count=int(details.get("unexpected_count", 0)),
        examples=[_example(frame, line, rule.shows) for line in lines[:MAX_EXAMPLES]],
    )


def _observed(details: dict[str, Any]) -> str:
    missing = details.get("details", {}).get("mismatched", {}).get("missing")
    return f"missing {', '.join(missing)}" if missing else str(details["observed_value"])


def _example(frame: pd.DataFrame, line: int, shows: tuple[str, ...]) -> dict[str, Any]:
    row = frame.loc[line]
    example: dict[str, Any] = {LINE: int(line)}
    for column in TIME_COLUMNS:
        if column in frame.columns:
            example[column] = _format_time(row[column])
    for column in shows:
        if column not in TIME_COLUMNS:
            value = row[column]
            example[column] = value.item() if isinstance(value, np.generic) else value
    return example


def _format_time(value: Any) -> str:
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    return str(value)


def _report(
    kind: str,
    source_file: str | Path,
    frame: pd.DataFrame,
    schema: _SuiteOutcome,
    content: _SuiteOutcome | None,
) -> ValidationReport:
    failures = schema.failures + (content.failures if content else [])
    return ValidationReport(
        kind=kind,
        source_file=str(source_file),
        success=not failures,
        rows=len(frame),
        failures=failures,
        gx_result={"schema": schema.gx_result, "content": content.gx_result if content else None},
    )


# --------------------------------------------------------------------------- rendering


def _describe_example(example: dict[str, Any]) -> str:
    """'line 14 (2020-01-21): high=1.0, low=2.0'."""
    text = f"line {example[LINE]}"
    times = [example[column] for column in TIME_COLUMNS if column in example]
    if times:
        text += f" ({times[0]})"
    values = [f"{name}={value}" for name, value in example.items() if name not in (LINE, *TIME_COLUMNS)]
    return text + (f": {', '.join(values)}" if values else "")


def _json_safe(value: Any) -> Any:
    """Strict JSON: NaN/inf become strings, numpy scalars and timestamps plain values."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _render_html(report: ValidationReport) -> str:
    rows = "\n".join(
        f"<tr><td>{html.escape(failure.rule)}</td><td>{html.escape(failure.description)}</td>"
        f"<td>{failure.unexpected_count}</td>"
        f"<td>{html.escape('; '.join(map(_describe_example, failure.examples)))}</td></tr>"
        for failure in report.failures
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Validation: "
        f"{html.escape(report.source_file)}</title></head><body>\n"
        f"<h1>{html.escape(report.source_file)}</h1>\n"
        f"<p>{report.kind}, {report.rows} rows: {'passed' if report.success else 'FAILED'}</p>\n"
        "<table border='1'><tr><th>rule</th><th>expectation</th><th>rows</th><th>examples</th></tr>\n"
        f"{rows}\n</table></body></html>\n"
    )
