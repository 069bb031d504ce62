"""Daily price bars from Yahoo: a CSV in Yahoo's layout, or a live `yfinance.download`.

Both paths end in the canonical price frame (see `lstmops.data`): columns date, open, high, low,
close, [adj_close], volume. Rows are kept as the source gives them (no sorting, no de-duplication,
NaN values kept) so that validation sees every problem; input that cannot be read at all, an empty
download, a download that misses part of the requested range and a network failure raise
`IngestError` with a message naming the ticker or file; a failed download's also says how to work
without Yahoo (`WITHOUT_YAHOO`).

yfinance 1.7 does not raise when a download fails: it logs the failure on the "yfinance" logger and
returns an empty frame. `download_yahoo` listens to that logger during the call to tell a network
failure (retried with exponential backoff) from an unknown or delisted ticker (not retried). Only
Yahoo knows which tickers exist: offline, a made-up ticker fails as a network failure too.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

DATE_DTYPE = "datetime64[ns]"
PRICE_COLUMNS = ("date", "open", "high", "low", "close", "volume")
YAHOO_COLUMNS = {
    "Date": "date",
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
}
REQUIRED_YAHOO_COLUMNS = ("Date", "Open", "High", "Low", "Close", "Volume")
OHLC_COLUMNS = ("open", "high", "low", "close")
# Weekends plus the longest exchange holidays fit in a week; a bigger gap at either end of a
# download means Yahoo does not have the whole requested range.
COVERAGE_TOLERANCE = pd.Timedelta(days=7)
_SHOWN_BAD_ROWS = 5

# The way out of a failed download, for the CLI (its options) and params.yaml (prices.source) alike.
WITHOUT_YAHOO = (
    "to work without Yahoo: --source csv --path FILE (a CSV in Yahoo's layout) or --source demo "
    "(in params.yaml: prices.source)"
)

DateLike = str | dt.date | pd.Timestamp
Downloader = Callable[[str, str, str], pd.DataFrame]
"""`downloader(ticker, start, end)` -> a frame shaped like `yfinance.download`'s result;
start and end are "YYYY-MM-DD" strings, end exclusive (as in yfinance)."""


class IngestError(RuntimeError):
    """Input could not be ingested; the message names the ticker, series or file and the reason."""


class NoPriceDataError(IngestError):
    """A download came back without a single bar."""


class NetworkIngestError(IngestError):
    """Yahoo could not be reached after every attempt: worth retrying later, unlike a bad ticker."""


class _NetworkError(Exception):
    """A download attempt failed for a reason that may go away on retry."""


# ---------------------------------------------------------------------------------------------
# CSV in Yahoo's layout
# ---------------------------------------------------------------------------------------------


def read_yahoo_csv(path: Path | str) -> pd.DataFrame:
    """Read `Date,Open,High,Low,Close[,Adj Close],Volume` into the canonical price frame.

    Empty cells (and Yahoo's literal "null") become NaN; values that are present but not numbers,
    and dates that are missing or unparseable, raise `IngestError` naming the file lines.
    """
    path = Path(path)
    try:
        # Blank lines kept as rows so that reported line numbers match the file.
        raw = pd.read_csv(path, dtype=str, skip_blank_lines=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise IngestError(f"{path}: cannot read as CSV: {err}") from err
    missing = [column for column in REQUIRED_YAHOO_COLUMNS if column not in raw.columns]
    if missing:
        raise IngestError(
            f"{path}: missing column(s) {missing}; Yahoo's layout is "
            f"{list(YAHOO_COLUMNS)} ('Adj Close' optional); found {list(raw.columns)}"
        )
    raw = _drop_trailing_blank_rows(raw)
    if raw.empty:
        raise IngestError(f"{path}: no data rows")

    # Dates with an offset: the wall time at the exchange keeps the trading day. The offset is dropped
    # before parsing, row by row, because a file spanning a DST change mixes two (-05:00, -04:00),
    # which pandas refuses to parse into one column.
    wall_times = raw["Date"].str.strip().str.replace(_UTC_OFFSET, r"\1", regex=True)
    dates = pd.to_datetime(wall_times, errors="coerce", format="ISO8601")
    bad_dates = dates.isna()
    if bad_dates.any():
        raise IngestError(f"{path}: missing or unparseable Date on {_describe_rows(raw, bad_dates, 'Date')}")
    frame = pd.DataFrame({"date": dates})
    for yahoo_name, name in YAHOO_COLUMNS.items():
        if yahoo_name == "Date" or yahoo_name not in raw.columns:
            continue
        values = pd.to_numeric(raw[yahoo_name], errors="coerce")
        not_numbers = values.isna() & raw[yahoo_name].notna()
        if not_numbers.any():
            raise IngestError(f"{path}: non-numeric {yahoo_name} on {_describe_rows(raw, not_numbers, yahoo_name)}")
        frame[name] = values
    return _canonical(frame)


_UTC_OFFSET = r"^(.*\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}:?\d{2})$"  # a time, then its offset


def _drop_trailing_blank_rows(raw: pd.DataFrame) -> pd.DataFrame:
    """Editors often leave empty lines at the end of a file; those are not data."""
    filled = np.flatnonzero(raw.notna().any(axis=1).to_numpy())
    return raw.iloc[: filled[-1] + 1] if len(filled) else raw.iloc[:0]


def _describe_rows(raw: pd.DataFrame, bad: pd.Series, column: str) -> str:
    """'lines 3, 7 (2 rows): 'x', 'y'' with file line numbers (line 1 is the header)."""
    rows = raw.index[bad.to_numpy()]
    shown = rows[:_SHOWN_BAD_ROWS]
    lines = ", ".join(str(row + 2) for row in shown)
    values = ", ".join(repr(raw.at[row, column]) for row in shown)
    more = ", ..." if len(rows) > len(shown) else ""
    return f"lines {lines}{more} ({len(rows)} rows): {values}{more}"


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Column order and dtypes of the canonical price frame; adj_close only when present."""
    columns = [*PRICE_COLUMNS[:5], *(["adj_close"] if "adj_close" in frame.columns else []), "volume"]
    out = frame[columns].astype({name: "float64" for name in columns if name != "date"})
    out["date"] = out["date"].astype(DATE_DTYPE)
    return out.reset_index(drop=True).rename_axis(columns=None)


# ---------------------------------------------------------------------------------------------
# yfinance
# ---------------------------------------------------------------------------------------------


def normalize_yfinance_frame(
    frame: pd.DataFrame,
    ticker: str,
    start: DateLike,
    end: DateLike,
    *,
    allow_partial: bool = False,
) -> pd.DataFrame:
    """Turn what `yfinance.download(ticker, start, end)` returned into the canonical price frame.

    Accepts MultiIndex columns in either order ((Price, Ticker) by default, (Ticker, Price) with
    group_by="ticker") or flat columns (multi_level_index=False); with or without 'Adj Close';
    a tz-aware or tz-naive date index (tz-aware dates keep their exchange-local calendar day).
    Raises `IngestError` when there are no bars, and when the bars start more than a week after
    `start` or end more than a week before `end` (or today), unless `allow_partial`.
    """
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    flat = _single_ticker_columns(frame, ticker)
    if flat.empty or flat.reindex(columns=["Open", "High", "Low", "Close"]).isna().all(axis=None):
        raise _no_data_error(ticker, start_ts, end_ts)
    missing = [column for column in REQUIRED_YAHOO_COLUMNS[1:] if column not in flat.columns]
    if missing:
        raise IngestError(f"{ticker}: download lacks column(s) {missing}; got {list(flat.columns)}")

    # The dates are the index as downloaded, or a 'Date' column once someone reset the index.
    dates = pd.DatetimeIndex(flat["Date"] if "Date" in flat.columns else flat.index)
    if dates.tz is not None:
        dates = dates.tz_localize(None)  # wall time at the exchange: the trading day stays the same
    renamed = flat.rename(columns=YAHOO_COLUMNS).reset_index(drop=True)
    canonical = _canonical(renamed.assign(date=dates))
    if not allow_partial:
        _check_coverage(canonical["date"], ticker, start_ts, end_ts)
    return canonical


def _single_ticker_columns(frame: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """Flat Yahoo-named columns (Open, High, ...) of one ticker, whatever the column layout."""
    if not isinstance(frame.columns, pd.MultiIndex):
        return frame
    price_names = set(YAHOO_COLUMNS)
    price_levels = [
        level for level in range(frame.columns.nlevels) if price_names & set(frame.columns.get_level_values(level))
    ]
    if len(price_levels) != 1 or frame.columns.nlevels != 2:
        raise IngestError(f"{ticker}: unexpected download column layout {list(frame.columns)[:8]}")
    ticker_level = 1 - price_levels[0]
    tickers = list(dict.fromkeys(frame.columns.get_level_values(ticker_level)))
    matches = [name for name in tickers if str(name).upper() == ticker.upper()]
    if not matches:
        raise IngestError(f"{ticker}: download holds tickers {tickers}, not {ticker!r}")
    return frame.xs(matches[0], axis=1, level=ticker_level)


def _no_data_error(ticker: str, start: pd.Timestamp, end: pd.Timestamp, detail: str = "") -> NoPriceDataError:
    reason = f" (yfinance: {detail})" if detail else ""
    return NoPriceDataError(
        f"Yahoo has no data for {ticker} between {start.date()} and {end.date()}: "
        f"unknown or delisted ticker, or no trading days{reason}; check the ticker; {WITHOUT_YAHOO}"
    )


def _check_coverage(dates: pd.Series, ticker: str, start: pd.Timestamp, end: pd.Timestamp) -> None:
    # A range reaching into the future can only be covered up to today.
    covered_until = min(end, pd.Timestamp.today().normalize())
    first, last = dates.min(), dates.max()
    gaps = []
    if first - start > COVERAGE_TOLERANCE:
        gaps.append(f"first bar {first.date()} is {(first - start).days} days after start {start.date()}")
    if covered_until - last > COVERAGE_TOLERANCE:
        gaps.append(f"last bar {last.date()} is {(covered_until - last).days} days before end {end.date()}")
    if gaps:
        raise IngestError(
            f"partial data for {ticker}: {'; '.join(gaps)} (listed later, delisted, or a Yahoo gap); "
            "pass allow_partial=True to accept it"
        )


def download_yahoo(
    ticker: str,
    start: DateLike,
    end: DateLike,
    *,
    downloader: Downloader | None = None,
    retries: int = 3,
    backoff_seconds: float = 2.0,
    allow_partial: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.DataFrame:
    """Download daily bars of `ticker` for [start, end) and return the canonical price frame.

    `downloader(ticker, start, end)` defaults to `yfinance.download` (auto-adjusted prices, so no
    adj_close); tests inject one returning yfinance-shaped frames. Network failures - an exception
    such as curl_cffi's DNSError, or an empty frame for which yfinance logged one - are retried up to
    `retries` attempts in all, sleeping backoff_seconds, then twice that, and so on between them; after
    the last one `IngestError("network failure downloading ...")`. An empty result without a network
    failure is an unknown or delisted ticker and raises at once. See `normalize_yfinance_frame`.
    """
    if retries < 1:
        raise ValueError(f"retries must be at least 1, got {retries}")
    download = downloader or _yfinance_download
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    failure = ""
    for attempt in range(1, retries + 1):
        try:
            return _attempt(download, ticker, start_ts, end_ts, allow_partial)
        except _NetworkError as err:
            failure = str(err)
        if attempt < retries:
            sleep(backoff_seconds * 2 ** (attempt - 1))
    attempts = f"{retries} attempt{'s' if retries > 1 else ''}"
    raise NetworkIngestError(
        f"could not reach Yahoo: network failure downloading {ticker} after {attempts} "
        f"({_CURL_DOCS_LINK.sub('', failure)}); {WITHOUT_YAHOO}"
    )


def _attempt(
    download: Downloader, ticker: str, start: pd.Timestamp, end: pd.Timestamp, allow_partial: bool
) -> pd.DataFrame:
    with _yfinance_errors() as logged:
        try:
            frame = download(ticker, start.strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d"))
        except Exception as err:
            if _is_network_exception(err):
                raise _NetworkError(f"{type(err).__name__}: {err}") from err
            raise
    try:
        return normalize_yfinance_frame(frame, ticker, start, end, allow_partial=allow_partial)
    except NoPriceDataError as err:
        if not logged:
            raise
        # yfinance reports an offline download as an empty frame plus log lines; after a few
        # offline calls in one process its last line even reads "possibly delisted", so any
        # network line among them decides.
        network = [line for line in logged if _NETWORK_HINT.search(line)]
        if network:
            raise _NetworkError(network[-1]) from err
        raise _no_data_error(ticker, start, end, detail=logged[-1]) from err


_CURL_DOCS_LINK = re.compile(r"\s*See https://curl\.se/\S+ first for more details\.")  # curl's errors end with it
_NETWORK_EXCEPTION_NAME = re.compile(r"DNS|Connection|Timeout|RateLimit", re.IGNORECASE)
_NETWORK_HINT = re.compile(
    r"curl|resolve host|DNS|connection|time[d ]?out|Too Many Requests|rate.?limit", re.IGNORECASE
)


def _is_network_exception(err: BaseException) -> bool:
    """OSError covers curl_cffi's and requests' errors; the names catch wrappers from other clients."""
    if isinstance(err, OSError):
        return True
    return any(_NETWORK_EXCEPTION_NAME.search(cls.__name__) for cls in type(err).__mro__)


@contextmanager
def _yfinance_errors() -> Iterator[list[str]]:
    """Collect the ERROR lines yfinance logs while the block runs (its only failure report)."""
    lines: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage().strip()
            if message and not message.endswith("Failed download:"):
                lines.append(message)

    handler = _Collect(level=logging.ERROR)
    logger = logging.getLogger("yfinance")
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def _yfinance_download(ticker: str, start: str, end: str) -> pd.DataFrame:
    import yfinance  # deferred: only the yahoo source needs it

    with warnings.catch_warnings():
        # yfinance 1.7 calls pandas with inplace=..., which pandas 3 flags; not ours to fix.
        warnings.filterwarnings("ignore", module="yfinance")
        return yfinance.download(
            ticker,
            start=start,
            end=end,
            auto_adjust=True,
            progress=False,
            threads=False,
            multi_level_index=False,
        )
