"""Data sources, validation and windows. Depends only on `lstmops.config`.

Canonical frames every module agrees on:
- prices:  one ticker per frame, columns `date` (datetime64, tz-naive, daily), `open`, `high`,
           `low`, `close`, `volume` (float64); `adj_close` kept when the source has it.
- sensors: columns `timestamp` (datetime64, tz-naive), `value` (float64); labelled anomaly windows
           travel beside the frame as a list of (start, end) timestamps (NAB's combined_windows).
"""
