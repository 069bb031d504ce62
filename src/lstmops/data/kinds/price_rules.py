"""The prices kind's validation rules: the columns of a daily OHLCV bar and what makes a bar valid."""

from __future__ import annotations

from pathlib import Path

import great_expectations.expectations as gxe
import numpy as np
import pandas as pd

from lstmops.data.prices import PRICE_COLUMNS
from lstmops.data.validation import (
    DATETIME_TYPES,
    LARGEST_FLOAT,
    NUMBER_TYPES,
    MinRows,
    Rule,
    ValidationReport,
    validate_frame,
)

COLUMN_TYPES = {column: DATETIME_TYPES if column == "date" else NUMBER_TYPES for column in PRICE_COLUMNS}
OPTIONAL_COLUMN_TYPES = {"adj_close": NUMBER_TYPES}


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
    return validate_frame(
        "prices",
        frame,
        source_file=source_file,
        columns=COLUMN_TYPES,
        optional_columns=OPTIONAL_COLUMN_TYPES,
        min_rows=min_rows,
        content=lambda rows: (with_business_day_gaps(rows), content_rules(max_gap_business_days)),
    )


def content_rules(max_gap_business_days: int) -> list[Rule]:
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


def with_business_day_gaps(frame: pd.DataFrame) -> pd.DataFrame:
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
