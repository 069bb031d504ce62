"""The validation gate: Great Expectations suites for raw price and sensor frames, and quarantine.

Each batch is checked in two GX suites run on an ephemeral context:
1. schema  - enough rows, required columns present, column dtypes;
2. content - nulls, OHLC order, uniqueness, order, gaps, sampling regularity, finiteness.
The content suite only runs once the schema passes (its rules and derived columns need the right
columns and dtypes), so a broken file is reported by its first real cause, not by cascades.

Rules GX has no built-in expectation for (business-day gaps, interval regularity) are evaluated by GX
on derived columns computed here (`gap_business_days`, `interval_ratio`, `interval_offgrid`).

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

PRICE_COLUMNS = {
    "date": DATETIME_TYPES,
    "open": NUMBER_TYPES,
    "high": NUMBER_TYPES,
    "low": NUMBER_TYPES,
    "close": NUMBER_TYPES,
    "volume": NUMBER_TYPES,
}
PRICE_OPTIONAL_COLUMNS = {"adj_close": NUMBER_TYPES}
SENSOR_COLUMNS = {"timestamp": DATETIME_TYPES, "value": NUMBER_TYPES}
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


def validate_prices(
    frame: pd.DataFrame,
    *,
    source_file: str | Path,
    max_gap_business_days: int = 5,
    min_rows: MinRows | None = None,
) -> ValidationReport:
    """Validate a canonical price frame (date, open, high, low, close, volume[, adj_close]).

    `min_rows`: the length the configured models need (see `MinRows`); default: two rows.
    """
    batches = _batch_definition()
    rows = _numbered(frame)
    schema_rules = _schema_rules(rows, PRICE_COLUMNS, PRICE_OPTIONAL_COLUMNS, min_rows)
    schema = _evaluate(batches, rows, "prices-schema", schema_rules)
    if schema.failures:
        return _report("prices", source_file, rows, schema, None)
    rows = _with_business_day_gaps(rows)
    content = _evaluate(batches, rows, "prices-content", _price_rules(max_gap_business_days))
    return _report("prices", source_file, rows, schema, content)


def validate_sensors(
    frame: pd.DataFrame,
    *,
    source_file: str | Path,
    interval_tolerance: float = 0.1,
    max_null_fraction: float = 0.01,
    max_gap_intervals: int | None = None,
    min_rows: MinRows | None = None,
) -> ValidationReport:
    """Validate a canonical sensor frame (timestamp, value).

    Sampling is regular when every interval is a whole multiple k >= 1 of the median interval, within
    `interval_tolerance` of that median: a missing sample makes one interval of 2x, which is a gap,
    not irregular sampling (real NAB series have such gaps). `max_gap_intervals`, when given, caps k.
    """
    batches = _batch_definition()
    rows = _numbered(frame)
    schema = _evaluate(batches, rows, "sensors-schema", _schema_rules(rows, SENSOR_COLUMNS, {}, min_rows))
    if schema.failures:
        return _report("sensors", source_file, rows, schema, None)
    rows, median_interval = _with_interval_ratios(rows)
    rules = _sensor_rules(median_interval, interval_tolerance, max_null_fraction, max_gap_intervals)
    content = _evaluate(batches, rows, "sensors-content", rules)
    return _report("sensors", source_file, rows, schema, content)


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


# --------------------------------------------------------------------------- suites, one per kind


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


def _price_rules(max_gap_business_days: int) -> list[Rule]:
    rules = [
        # The time axis must be complete, unique and strictly ordered.
        Rule("date_not_null", "date is not null", gxe.ExpectColumnValuesToNotBeNull(column="date")),
        Rule("date_unique", "dates are unique", gxe.ExpectColumnValuesToBeUnique(column="date")),
        Rule(
            "date_increasing",
            "dates strictly increase",
            gxe.ExpectColumnValuesToBeIncreasing(column="date", strictly=True),
        ),
        # Missing bars beyond a long weekend plus holidays mean a broken download, not a market pause.
        Rule(
            "date_gap",
            f"at most {max_gap_business_days} business days missing between consecutive dates",
            gxe.ExpectColumnValuesToBeBetween(column="gap_business_days", min_value=0, max_value=max_gap_business_days),
            shows=("gap_business_days",),
        ),
    ]
    # Every bar has all four prices.
    for column in ("open", "high", "low", "close"):
        rules.append(
            Rule(
                f"{column}_not_null",
                f"{column} is not null",
                gxe.ExpectColumnValuesToNotBeNull(column=column),
                shows=(column,),
            )
        )
    # A price is a positive, finite number (zero, negative and inf break every log return).
    for column in ("open", "high", "low", "close"):
        rules.append(
            Rule(
                f"{column}_positive_finite",
                f"{column} is positive and finite",
                gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, strict_min=True, max_value=LARGEST_FLOAT),
                shows=(column,),
            )
        )
    # low <= open, close <= high; a missing price is the not-null rule's business, not this one's.
    ohlc_order = (("high", "low"), ("high", "open"), ("high", "close"), ("open", "low"), ("close", "low"))
    for upper, lower in ohlc_order:
        rules.append(
            Rule(
                f"{upper}_ge_{lower}",
                f"{upper} >= {lower}",
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=upper,
                    column_B=lower,
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                ),
                shows=(upper, lower),
            )
        )
    # Volume is a count of shares.
    rules.append(
        Rule(
            "volume_non_negative",
            "volume >= 0",
            gxe.ExpectColumnValuesToBeBetween(column="volume", min_value=0),
            shows=("volume",),
        )
    )
    return rules


def _sensor_rules(
    median_interval: pd.Timedelta | None,
    interval_tolerance: float,
    max_null_fraction: float,
    max_gap_intervals: int | None,
) -> list[Rule]:
    rules = [
        # The time axis must be complete, unique and strictly ordered.
        Rule(
            "timestamp_not_null",
            "timestamp is not null",
            gxe.ExpectColumnValuesToNotBeNull(column="timestamp"),
        ),
        Rule(
            "timestamp_unique",
            "timestamps are unique",
            gxe.ExpectColumnValuesToBeUnique(column="timestamp"),
        ),
        Rule(
            "timestamp_increasing",
            "timestamps strictly increase",
            gxe.ExpectColumnValuesToBeIncreasing(column="timestamp", strictly=True),
        ),
        # Each interval is k >= 1 median intervals, +- tolerance: gaps allowed, jitter and shifts not.
        Rule(
            "interval_regular",
            f"each interval is a whole multiple of the median interval {median_interval}"
            f" within +-{interval_tolerance:g} of it",
            gxe.ExpectColumnValuesToBeBetween(column="interval_offgrid", min_value=0, max_value=interval_tolerance),
            shows=("interval_ratio",),
        ),
        # inf breaks scaling and losses; NaN is counted by the null-fraction rule instead.
        Rule(
            "value_finite",
            "value is finite",
            gxe.ExpectColumnValuesToBeBetween(column="value", min_value=-LARGEST_FLOAT, max_value=LARGEST_FLOAT),
            shows=("value",),
        ),
        # A few missing readings can be imputed; many mean a broken sensor or export.
        Rule(
            "value_null_fraction",
            f"at most {max_null_fraction:.2%} of values are null",
            gxe.ExpectColumnValuesToNotBeNull(column="value", mostly=1.0 - max_null_fraction),
            shows=("value",),
        ),
    ]
    if max_gap_intervals is not None:
        # Optional cap on holes: a window spanning a week-long outage is not a real sequence.
        rules.append(
            Rule(
                "interval_gap",
                f"no interval longer than {max_gap_intervals} median intervals",
                gxe.ExpectColumnValuesToBeBetween(
                    column="interval_ratio", max_value=max_gap_intervals + interval_tolerance
                ),
                shows=("interval_ratio",),
            )
        )
    return rules


# --------------------------------------------------------------------------- derived columns


def _numbered(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy indexed by source line number, so GX names offending rows by line."""
    numbered = frame.reset_index(drop=True)
    numbered.index = pd.RangeIndex(FIRST_DATA_LINE, FIRST_DATA_LINE + len(frame), name=LINE)
    return numbered


def _with_business_day_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """Add `gap_business_days`: Mon-Fri days with no row since the previous row (null on row 1).

    Backward steps count as 0 here: ordering is the `date_increasing` rule's business.
    """
    days = frame["date"].dt.floor("D")
    previous = days.shift()
    both = days.notna() & previous.notna()
    steps = np.busday_count(
        previous[both].to_numpy().astype("datetime64[D]"), days[both].to_numpy().astype("datetime64[D]")
    )
    gaps = pd.Series(np.nan, index=frame.index)
    gaps[both] = np.clip(steps - 1, 0, None)
    return frame.assign(gap_business_days=gaps)


def _with_interval_ratios(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Timedelta | None]:
    """Add `interval_ratio` (interval / median interval) and `interval_offgrid` (distance to k >= 1).

    Only forward steps get a ratio: duplicates and backward steps are the ordering rules' business.
    """
    intervals = frame["timestamp"].diff()
    forward = intervals.where(intervals > pd.Timedelta(0))
    median = forward.median()
    if pd.isna(median):
        return frame.assign(interval_ratio=np.nan, interval_offgrid=np.nan), None
    ratio = forward / median
    offgrid = (ratio - np.maximum(ratio.round(), 1)).abs()
    return frame.assign(interval_ratio=ratio, interval_offgrid=offgrid), median


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
