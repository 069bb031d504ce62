"""The prices data kind: daily OHLCV bars per ticker, from Yahoo, a Yahoo-layout CSV or the demo generator."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lstmops.data.kinds.base import DataKind, FeatureTable, Fetched

if TYPE_CHECKING:
    import pandas as pd

    from lstmops.config import Params
    from lstmops.data.scaling import StandardScaler
    from lstmops.data.validation import ValidationReport


@dataclass(frozen=True)
class Prices(DataKind):
    def network_retries(self, params: Params) -> tuple[int, float] | None:
        yahoo = params.prices.yahoo
        return (yahoo.retries, yahoo.backoff_seconds) if params.prices.source == "yahoo" else None

    def one_attempt(self, params: Params) -> Params:
        yahoo = params.prices.yahoo.model_copy(update={"retries": 1})
        return params.model_copy(update={"prices": params.prices.model_copy(update={"yahoo": yahoo})})

    def fetch(
        self,
        params: Params,
        *,
        source: str,
        series: Sequence[str] = (),
        csv_paths: Sequence[Path] = (),
        nab_root: Path | None = None,
        downloader: Any = None,
    ) -> Iterator[Fetched]:
        """One snapshot's worth per ticker (yahoo, demo) or per file (csv; the file stem names the series)."""
        from lstmops.data import demo_prices, prices

        p = params.prices
        if source == "csv":
            if not csv_paths:
                raise ValueError("--source csv needs at least one --path FILE")
            for path in map(Path, csv_paths):
                yield Fetched(path.stem, prices.read_yahoo_csv(path), {"origin": str(path)})
        elif source == "yahoo":
            for ticker in series or p.tickers:
                frame = prices.download_yahoo(
                    ticker,
                    p.start,
                    p.end,
                    downloader=downloader,
                    retries=p.yahoo.retries,
                    backoff_seconds=p.yahoo.backoff_seconds,
                )
                yield Fetched(ticker, frame, {"origin": "yfinance", "start": p.start, "end": p.end})
        elif source == "demo":
            for ticker in series or p.tickers:
                frame = demo_prices.demo_prices(
                    ticker,
                    n_days=p.demo.n_days,
                    start=p.start,
                    seed=p.demo.seed,
                    momentum=p.demo.momentum,
                    swing=p.demo.swing,
                    threshold=p.demo.threshold,
                    change_after=p.demo.change_after,
                    change_momentum=p.demo.change_momentum,
                    change_noise=p.demo.change_noise,
                )
                yield Fetched(ticker, frame, {"origin": "demo", **p.demo.model_dump()})
        else:
            raise ValueError(f"unknown price source {source!r}: use yahoo, csv or demo")

    def validate(self, frame: pd.DataFrame, source_file: str, params: Params) -> ValidationReport:
        from lstmops.data.kinds import price_rules

        return price_rules.validate_prices(
            frame,
            source_file=source_file,
            max_gap_business_days=params.prices.validation.max_gap_business_days,
            min_rows=self.min_rows(params),
        )

    def longest_window(self, params: Params) -> tuple[int, str]:
        window = params.windows.prices.window
        return window + 1, f"windows.prices.window {window} + 1 bar ahead"

    def features(self, frame: pd.DataFrame, params: Params) -> FeatureTable:
        """The configured price features; the table also carries `close`: forecasts are scored in price space."""
        from lstmops.data.features import price_features

        windows = params.windows.prices
        columns, target = list(windows.features), windows.target
        table = price_features(frame, list(dict.fromkeys([*columns, target, "close"])))
        return FeatureTable(table, columns, target, windows.window)

    def scaler(self) -> StandardScaler:
        from lstmops.data.scaling import StandardScaler

        return StandardScaler()


PRICES = Prices(
    name="prices",
    columns=("date", "open", "high", "low", "close", "volume"),
    time_format="%Y-%m-%d",
    series_key="prices.tickers",
)
