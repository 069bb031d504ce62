"""Price ingestion: Yahoo CSVs and yfinance downloads, exercised offline with yfinance-shaped frames."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from lstmops.data.prices import IngestError, download_yahoo, normalize_yfinance_frame, read_yahoo_csv

START, END = "2020-01-01", "2020-03-01"
CANONICAL_COLUMNS = ["date", "open", "high", "low", "close", "volume"]
OFFLINE_LOG = [  # what yfinance 1.7 logs on its third offline download in one process
    "Failed to get ticker 'NVDA' reason: Failed to perform, curl: (6) Could not resolve host: "
    "query2.finance.yahoo.com (Domain name not found).",
    "$NVDA: possibly delisted; no timezone found",
    "['NVDA']: possibly delisted; no timezone found",
]


def yahoo_bars(
    start: str = "2020-01-02", end: str = "2020-02-28", *, adj_close: bool = False, tz: str | None = None
) -> pd.DataFrame:
    """A successful single-ticker `yf.download(..., multi_level_index=False)`: business-day bars."""
    dates = pd.bdate_range(start, end, tz=tz, name="Date")
    close = 100.0 + np.arange(len(dates))
    columns = {
        "Close": close,
        "High": close + 2,
        "Low": close - 2,
        "Open": close - 1,
        "Volume": np.full(len(dates), 1_000_000, dtype=np.int64),
    }
    if adj_close:
        columns = {"Adj Close": close * 0.99, **columns}
    return pd.DataFrame(columns, index=dates)


def with_ticker_level(flat: pd.DataFrame, ticker: str, *, ticker_first: bool = False) -> pd.DataFrame:
    """The MultiIndex layout: (Price, Ticker) by default, (Ticker, Price) with group_by='ticker'."""
    keys = [(ticker, price) if ticker_first else (price, ticker) for price in flat.columns]
    names = ["Ticker", "Price"] if ticker_first else ["Price", "Ticker"]
    return flat.set_axis(pd.MultiIndex.from_tuples(keys, names=names), axis=1)


def failed_download_frame(ticker: str) -> pd.DataFrame:
    """What yf.download returns when the download failed: empty, with an 'Adj Close' column."""
    flat = pd.DataFrame(
        columns=["Adj Close", "Close", "High", "Low", "Open", "Volume"],
        index=pd.DatetimeIndex([], name="Date"),
        dtype=float,
    )
    return with_ticker_level(flat, ticker)


class ScriptedDownloader:
    """A fake `downloader(ticker, start, end)` playing one scripted outcome per call."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, ticker: str, start: str, end: str) -> pd.DataFrame:
        self.calls.append((ticker, start, end))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        if callable(outcome):
            return outcome()
        return outcome


def logs_like_yfinance(lines: list[str], frame: pd.DataFrame):
    def failing_download() -> pd.DataFrame:
        for line in lines:
            logging.getLogger("yfinance").error(line)
        return frame

    return failing_download


class DNSError(OSError):
    """Stands in for curl_cffi's DNSError (an OSError)."""


class ReadTimeout(Exception):
    """A client's timeout that is not an OSError: recognised by its name."""


# ----- yfinance frames ------------------------------------------------------------------------


def test_flat_download_becomes_the_canonical_frame():
    bars = normalize_yfinance_frame(yahoo_bars(), "NVDA", START, END)

    assert list(bars.columns) == CANONICAL_COLUMNS
    assert bars["date"].dtype == "datetime64[ns]"
    assert (bars.drop(columns="date").dtypes == "float64").all()
    first = bars.iloc[0]
    assert first["date"] == pd.Timestamp("2020-01-02")
    assert (first["open"], first["high"], first["low"], first["close"]) == (99.0, 102.0, 98.0, 100.0)
    assert first["volume"] == 1_000_000.0


@pytest.mark.parametrize("ticker_first", [False, True], ids=["price-ticker", "ticker-price"])
def test_multiindex_columns_in_either_order_give_the_same_frame(ticker_first):
    flat = normalize_yfinance_frame(yahoo_bars(), "NVDA", START, END)
    multi = with_ticker_level(yahoo_bars(), "NVDA", ticker_first=ticker_first)

    pd.testing.assert_frame_equal(normalize_yfinance_frame(multi, "nvda", START, END), flat)


def test_adj_close_is_kept_when_the_download_has_it():
    bars = normalize_yfinance_frame(yahoo_bars(adj_close=True), "NVDA", START, END)

    assert list(bars.columns) == ["date", "open", "high", "low", "close", "adj_close", "volume"]
    assert bars["adj_close"].iloc[0] == pytest.approx(99.0)


@pytest.mark.faults
def test_tz_aware_dates_keep_their_trading_day_and_lose_the_zone():
    bars = normalize_yfinance_frame(yahoo_bars(tz="America/New_York"), "NVDA", START, END)

    assert bars["date"].dt.tz is None
    assert bars["date"].iloc[0] == pd.Timestamp("2020-01-02")


def test_a_multiindex_download_of_another_ticker_is_refused():
    with pytest.raises(IngestError, match=r"NVDA: download holds tickers \['AMD'\]"):
        normalize_yfinance_frame(with_ticker_level(yahoo_bars(), "AMD"), "NVDA", START, END)


def test_an_empty_download_is_an_error_not_an_empty_dataset():
    expected = "no data for NVDA between 2020-01-01 and 2020-03-01: unknown or delisted"
    with pytest.raises(IngestError, match=expected):
        normalize_yfinance_frame(failed_download_frame("NVDA"), "NVDA", START, END)


def test_bars_without_a_single_price_count_as_empty():
    blank = yahoo_bars()
    blank[["Open", "High", "Low", "Close"]] = np.nan

    with pytest.raises(IngestError, match="no data for NVDA"):
        normalize_yfinance_frame(blank, "NVDA", START, END)


@pytest.mark.parametrize(
    ("first", "last", "gap"),
    [
        ("2020-01-20", "2020-02-28", "first bar 2020-01-20 is 19 days after start"),
        ("2020-01-02", "2020-01-31", "last bar 2020-01-31 is 30 days before end"),
    ],
)
def test_a_download_missing_part_of_the_range_is_refused_unless_allowed(first, last, gap):
    partial = yahoo_bars(first, last)

    with pytest.raises(IngestError, match=f"partial data for NVDA: {gap}"):
        normalize_yfinance_frame(partial, "NVDA", START, END)
    accepted = normalize_yfinance_frame(partial, "NVDA", START, END, allow_partial=True)
    assert len(accepted) == len(partial)


def test_holidays_and_weekends_at_the_ends_of_the_range_are_not_partial():
    # 2020-01-01 is a holiday and 2020-02-29/03-01 a weekend: Yahoo has no bars there.
    bars = normalize_yfinance_frame(yahoo_bars("2020-01-02", "2020-02-28"), "NVDA", START, END)

    assert len(bars) == 42


# ----- download_yahoo -------------------------------------------------------------------------


def test_download_passes_the_range_and_normalizes_the_result():
    downloader = ScriptedDownloader(with_ticker_level(yahoo_bars(), "NVDA"))

    bars = download_yahoo("NVDA", START, END, downloader=downloader)

    assert downloader.calls == [("NVDA", "2020-01-01", "2020-03-01")]
    assert list(bars.columns) == CANONICAL_COLUMNS
    assert len(bars) == 42


def test_network_errors_are_retried_with_doubling_backoff():
    sleeps: list[float] = []
    downloader = ScriptedDownloader(DNSError("Could not resolve host"), ReadTimeout("read timed out"), yahoo_bars())

    bars = download_yahoo(
        "NVDA", START, END, downloader=downloader, retries=3, backoff_seconds=0.5, sleep=sleeps.append
    )

    assert len(downloader.calls) == 3
    assert sleeps == [0.5, 1.0]
    assert len(bars) == 42


def test_network_errors_on_every_attempt_end_in_a_clear_error():
    sleeps: list[float] = []
    downloader = ScriptedDownloader(*[DNSError("Could not resolve host: query2.finance.yahoo.com")] * 4)

    expected = r"network failure downloading NVDA after 4 attempts \(DNSError: Could not resolve host"
    with pytest.raises(IngestError, match=expected):
        download_yahoo("NVDA", START, END, downloader=downloader, retries=4, backoff_seconds=1.0, sleep=sleeps.append)
    assert sleeps == [1.0, 2.0, 4.0]


def test_an_offline_yfinance_download_is_a_network_failure_even_when_it_says_delisted():
    offline = logs_like_yfinance(OFFLINE_LOG, failed_download_frame("NVDA"))
    downloader = ScriptedDownloader(offline, offline)

    expected = r"network failure downloading NVDA after 2 attempts \(.*Could not resolve host"
    with pytest.raises(IngestError, match=expected):
        download_yahoo("NVDA", START, END, downloader=downloader, retries=2, sleep=lambda seconds: None)
    assert len(downloader.calls) == 2


def test_an_unknown_ticker_fails_at_once_with_yfinances_reason():
    sleeps: list[float] = []
    unknown = logs_like_yfinance(["['NOPE']: possibly delisted; no timezone found"], failed_download_frame("NOPE"))
    downloader = ScriptedDownloader(unknown)

    with pytest.raises(IngestError, match=r"no data for NOPE .*\(yfinance: \['NOPE'\]: possibly delisted"):
        download_yahoo("NOPE", START, END, downloader=downloader, sleep=sleeps.append)
    assert len(downloader.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "offline",
    [
        logs_like_yfinance(OFFLINE_LOG, failed_download_frame("NVDA")),  # yf.download: an empty frame and log lines
        DNSError(  # Ticker.history: curl_cffi's exception
            "Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com. "
            "See https://curl.se/libcurl/c/libcurl-errors.html first for more details."
        ),
    ],
)
def test_yahoo_out_of_reach_and_a_ticker_yahoo_lacks_are_told_apart_each_with_the_way_out(offline):
    lacking = logs_like_yfinance(["['XYZQ']: possibly delisted; no timezone found"], failed_download_frame("XYZQ"))

    with pytest.raises(IngestError) as unreachable:
        download_yahoo("NVDA", START, END, downloader=ScriptedDownloader(offline), retries=1)
    with pytest.raises(IngestError) as no_data:
        download_yahoo("XYZQ", START, END, downloader=ScriptedDownloader(lacking), retries=1)

    assert str(unreachable.value).startswith(
        "could not reach Yahoo: network failure downloading NVDA after 1 attempt ("
    )
    assert "Could not resolve host: query2.finance.yahoo.com" in str(unreachable.value)
    assert "curl.se" not in str(unreachable.value)  # curl's pointer to its error list: no help to a user
    assert str(no_data.value).startswith(
        "Yahoo has no data for XYZQ between 2020-01-01 and 2020-03-01: unknown or delisted ticker"
    )
    for message in (str(unreachable.value), str(no_data.value)):
        assert "to work without Yahoo: --source csv --path FILE (a CSV in Yahoo's layout) or --source demo" in message


def test_errors_that_are_not_about_the_network_are_not_retried():
    downloader = ScriptedDownloader(ValueError("bad interval"), yahoo_bars())

    with pytest.raises(ValueError, match="bad interval"):
        download_yahoo("NVDA", START, END, downloader=downloader, sleep=lambda seconds: None)
    assert len(downloader.calls) == 1


def test_without_a_downloader_yfinance_download_is_called(monkeypatch):
    import yfinance

    seen = {}

    def fake_download(tickers, **kwargs):
        seen.update(kwargs, tickers=tickers)
        return with_ticker_level(yahoo_bars(), "NVDA")

    monkeypatch.setattr(yfinance, "download", fake_download)

    bars = download_yahoo("NVDA", START, END)

    assert seen["tickers"] == "NVDA"
    assert (seen["start"], seen["end"]) == ("2020-01-01", "2020-03-01")
    assert seen["auto_adjust"] is True and seen["progress"] is False
    assert len(bars) == 42


# ----- Yahoo CSV ------------------------------------------------------------------------------


def test_yahoo_csv_rows_are_kept_as_found_for_validation_to_judge(tmp_path):
    path = tmp_path / "NVDA.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2020-01-03,5.87,5.94,5.85,5.90,5.87,205384000\n"
        "2020-01-02,5.96,5.99,5.91,5.99,5.97,237536000\n"
        "2020-01-02,5.96,5.99,5.91,5.99,5.97,237536000\n"
        "2020-01-06,5.80,5.93,5.78,,null,262636000\n"
    )

    bars = read_yahoo_csv(path)

    assert list(bars.columns) == ["date", "open", "high", "low", "close", "adj_close", "volume"]
    assert list(bars["date"].dt.strftime("%m-%d")) == ["01-03", "01-02", "01-02", "01-06"]
    assert bars["close"].isna().tolist() == [False, False, False, True]
    assert bars["adj_close"].isna().tolist() == [False, False, False, True]
    assert bars["date"].dtype == "datetime64[ns]" and bars["volume"].dtype == "float64"


def test_adj_close_is_optional_in_a_yahoo_csv(tmp_path):
    path = tmp_path / "DEMO.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,100\n")

    assert list(read_yahoo_csv(path).columns) == CANONICAL_COLUMNS


def test_a_csv_missing_columns_names_the_file_and_the_columns(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1.5\n")

    with pytest.raises(IngestError, match=r"broken\.csv: missing column\(s\) \['Volume'\]"):
        read_yahoo_csv(path)


def test_values_that_are_not_numbers_are_named_by_file_line(tmp_path):
    path = tmp_path / "typo.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,100\n2020-01-03,1,2,O.5,1.5,100\n")

    with pytest.raises(IngestError, match=r"typo\.csv: non-numeric Low on lines 3 \(1 rows\): 'O\.5'"):
        read_yahoo_csv(path)


def test_a_missing_file_is_an_ingest_error(tmp_path):
    with pytest.raises(IngestError, match=r"absent\.csv: cannot read as CSV"):
        read_yahoo_csv(tmp_path / "absent.csv")


@pytest.mark.faults
def test_dates_with_a_utc_offset_keep_their_trading_day(tmp_path):
    from lstmops.data.prices import read_yahoo_csv

    path = tmp_path / "OFFSET.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        "2024-01-02 00:00:00-05:00,10,11,9,10.5,100\n"
        "2024-01-03 00:00:00-05:00,10.5,11.5,10,11,120\n"
    )

    frame = read_yahoo_csv(path)

    assert frame["date"].dt.tz is None
    assert [str(day.date()) for day in frame["date"]] == ["2024-01-02", "2024-01-03"]
