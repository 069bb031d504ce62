"""Calibration of `lstmops monitor`'s decay verdict on simulated series with tiny trained champions.

Per model kind one tiny champion is trained once on a simulated series (forecaster: daily bars whose
log-returns are a Gaussian AR(1); seq2seq: an hourly sensor, a daily sine plus AR(1) noise), then
checked many times: each replicate draws a fresh continuation of the same process after the training
rows (the champion's hold-out, then new rows), scores it once with the task's gate evaluator, and
replays the monitor's checks as the new rows arrive. A check window is the monitor's minimum for the
model's horizon (`statistics.decide`'s `needed` new origins); check j judges the first (j+1) windows
of new origins, with the hold-out as reference and the strongest baseline chosen on hold-out plus new
rows, exactly as `monitoring.check` does (targets count only once they have arrived).

Beside the verdict, each check's input-drift evidence (`monitoring.drift`: what the model sees on the
new rows against its training rows, block-bootstrap p) is replayed too: its rate without change and
its power and delay with one (it can only ever make a warning).

The autoencoder (an anomaly detector, `monitoring.alerts`) is checked on the same hourly sensor with
anomalies of the kinds the evaluation injects (`data.anomaly_kinds`) at a low base rate everywhere,
training rows included: each replicate is scored once with the champion, and check j compares the
alerts and scores of the first (j+1) windows of new rows whose scores are final with the hold-out's
(a window: ten model windows of rows, the monitor's minimum), as `monitoring.check` does.

Scenarios: `none` (no change: every `decayed` is a false alarm), and changes that start right after
the data of check `pre_windows - 1` arrived: `level` (the model's input series shifts by one
standard deviation: the mean of the returns, the sensor's level), `noise` (the innovations double),
`phase` (the sensor's daily cycle shifts by a quarter period), `anomalies` (for the autoencoder: a new
regime where anomalies come REGIME_EVERY rows apart on average instead of BASE_EVERY). Reported per scenario: the rate of
`decayed` over all checks and at the first check, the share of replicates with any `decayed` (a
monitor that runs every window re-tests a growing sample), and for changes the power (detected within
the post-change windows) and the median delay in check windows (1: the first check that sees changed
rows; undetected replicates count as never).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstmops.config import Params
from lstmops.data.kinds import data_kind
from lstmops.data.prepare import PreparedSeries, prepare_frame
from lstmops.data.windows import SplitIndex
from lstmops.evaluate.significance import MIN_BLOCKS
from lstmops.monitoring import alerts
from lstmops.monitoring.drift import input_drift, model_inputs
from lstmops.monitoring.statistics import DECAYED, INSUFFICIENT, WARNING, decide

CHANGES = {
    "forecaster": ("none", "level", "noise"),
    "seq2seq": ("none", "level", "noise", "phase"),
    "autoencoder": ("none", "level", "noise", "phase", "anomalies"),
}

# Forecaster series: daily log-returns r_t - m_t = PHI (r_{t-1} - m_{t-1}) + SIGMA e_t (m_t: 0, or one
# standard deviation of r after a level change).
AR_PHI, AR_SIGMA, START_PRICE = 0.3, 0.015, 50.0
# Sensor series: LEVEL + AMPLITUDE sin(2 pi t / PERIOD) + x_t, x_t = NOISE_PHI x_{t-1} + NOISE_SD e_t, hourly.
PERIOD, LEVEL, AMPLITUDE, NOISE_PHI, NOISE_SD = 24, 50.0, 10.0, 0.6, 1.0
# The autoencoder's sensor also has anomalies (kinds of `data.anomaly_kinds`, sized MAGNITUDE signal standard
# deviations as the evaluation's injected protocol, ANOMALY_ROWS long but spikes): one per BASE_EVERY rows on
# average everywhere, one per REGIME_EVERY rows after an `anomalies` change (Poisson arrivals).
BASE_EVERY, REGIME_EVERY, MAGNITUDE, ANOMALY_ROWS = 10 * PERIOD, 2 * PERIOD, 1.4, 6

# Tiny champions: small networks, short trainings, inputs the simulated signal offers.
TINY = {
    "forecaster": {
        "models.forecaster.units": [8],
        "models.forecaster.backtest_folds": 0,
        "windows.prices.window": 10,
        "windows.prices.features": ["log_return"],
        "windows.prices.target": "log_return",
    },
    "seq2seq": {
        "models.seq2seq.units": 8,
        "models.seq2seq.window": 48,
        "windows.sensors.window": 48,
        "models.seq2seq.horizon": 6,
        "models.seq2seq.seasons": [PERIOD],
        "models.seq2seq.calendar": ["day"],
        "models.seq2seq.normalise": "series",
        "models.seq2seq.members": 1,
    },
    # The product's threshold rule and seasonal score; a window of half a period (the seasonal score needs
    # a period longer than the window).
    "autoencoder": {
        "models.autoencoder.units": 8,
        "models.autoencoder.learning_rate": 1e-2,
        "windows.sensors.window": PERIOD // 2,
    },
}
# Rows the champion trains on (its last 15%: validation).
TRAIN_ROWS = {"forecaster": 800, "seq2seq": 40 * PERIOD, "autoencoder": 40 * PERIOD}
VALIDATION_FRACTION = 0.15


@dataclass(frozen=True)
class Simulation:
    """One model kind's simulated series: the fixed training rows and a replicate's continuation."""

    model: str
    seed: int
    prefix: int  # frame rows the champion trains and validates on, identical in every replicate
    rows: int  # frame rows in all

    def frame(self, replicate: int, change: str = "none", change_at: int | None = None) -> pd.DataFrame:
        """The series of `replicate` (its rows after `prefix` drawn afresh), with `change` from row `change_at`."""
        rng_prefix = np.random.default_rng([self.seed, 0])
        rng_rest = np.random.default_rng([self.seed, 1, replicate])
        draws = np.concatenate(
            [rng_prefix.standard_normal((self.prefix, 4)), rng_rest.standard_normal((self.rows - self.prefix, 4))]
        )
        changed = np.zeros(self.rows, dtype=bool)
        if change != "none":
            if change_at is None:
                raise ValueError(f"change {change!r} needs the row it starts at")
            changed[change_at:] = True
        frame = (_prices if self.model == "forecaster" else _sensor)(draws, changed, change)
        if self.model == "autoencoder":
            frame["value"] = self._with_anomalies(frame["value"].to_numpy(), replicate, change, change_at)
        return frame

    def _with_anomalies(self, values: np.ndarray, replicate: int, change: str, change_at: int | None) -> np.ndarray:
        """`values` with the base rate's anomalies (the training rows' the same in every replicate) and, after
        an `anomalies` change, the new regime's on top; every stream seeded apart, so rows before a change
        equal the unchanged series'."""
        from lstmops.data.anomaly_kinds import ANOMALY_KINDS, inject_anomaly

        values = values.copy()
        scale = MAGNITUDE * _sensor_sd()
        streams = [(np.random.default_rng([self.seed, 2]), 1, self.prefix, BASE_EVERY)]
        streams.append((np.random.default_rng([self.seed, 3, replicate]), self.prefix, self.rows, BASE_EVERY))
        if change == "anomalies":
            streams.append((np.random.default_rng([self.seed, 4, replicate]), change_at, self.rows, REGIME_EVERY))
        for rng, first, stop, every in streams:
            start = first + int(rng.exponential(every))
            while start < stop:
                kind = str(rng.choice(ANOMALY_KINDS))
                end = min(start + (1 if kind == "spike" else ANOMALY_ROWS), len(values))
                inject_anomaly(kind, values, start, end, scale, rng)
                start = end + int(rng.exponential(every))
        return values


def _prices(draws: np.ndarray, changed: np.ndarray, change: str) -> pd.DataFrame:
    n = len(draws)
    sd = AR_SIGMA / math.sqrt(1 - AR_PHI**2)  # stationary standard deviation of the returns
    mean = np.where(changed & (change == "level"), sd, 0.0)
    scale = np.where(changed & (change == "noise"), 2.0, 1.0)
    returns = np.empty(n)
    previous = 0.0
    for t in range(n):
        deviation = AR_PHI * previous + AR_SIGMA * scale[t] * draws[t, 0]
        returns[t] = mean[t] + deviation
        previous = deviation
    close = START_PRICE * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[START_PRICE], close[:-1]]) * np.exp(0.1 * AR_SIGMA * draws[:, 1])
    high = np.maximum(open_, close) * np.exp(0.3 * AR_SIGMA * np.abs(draws[:, 2]))
    low = np.minimum(open_, close) * np.exp(-0.3 * AR_SIGMA * np.abs(draws[:, 3]))
    dates = pd.bdate_range("2020-01-01", periods=n).astype("datetime64[ns]")
    return pd.DataFrame({"date": dates, "open": open_, "high": high, "low": low, "close": close, "volume": 1e6})


def _sensor_sd() -> float:
    """The simulated sensor's standard deviation (sine and AR(1) noise)."""
    return math.sqrt(AMPLITUDE**2 / 2 + NOISE_SD**2 / (1 - NOISE_PHI**2))


def _sensor(draws: np.ndarray, changed: np.ndarray, change: str) -> pd.DataFrame:
    n = len(draws)
    t = np.arange(n, dtype=float)
    shift = np.where(changed & (change == "phase"), PERIOD / 4, 0.0)
    sd = _sensor_sd()
    level = np.where(changed & (change == "level"), sd, 0.0)
    scale = np.where(changed & (change == "noise"), 2.0, 1.0)
    noise = np.empty(n)
    previous = 0.0
    for i in range(n):
        previous = noise[i] = NOISE_PHI * previous + NOISE_SD * scale[i] * draws[i, 0]
    value = LEVEL + level + AMPLITUDE * np.sin(2 * np.pi * (t + shift) / PERIOD) + noise
    timestamps = pd.date_range("2024-01-01", periods=n, freq="1h").astype("datetime64[ns]")
    return pd.DataFrame({"timestamp": timestamps, "value": value})


def tiny_params(params_file: Path | None, assignments: dict[str, Any], model: str, epochs: int) -> Params:
    """The params file with the model kind's tiny settings and a short, quiet training; `assignments`
    (the command's --set) on top."""
    from lstmops.config import load_params

    overrides = {"train.epochs": epochs, "train.verbose": 0, **TINY[model], **assignments}
    return load_params(params_file, overrides).for_task(model)


def _prepared(frame: pd.DataFrame, model: str, params: Params, prefix: int) -> PreparedSeries:
    """Features of `frame`; train | val on the first `prefix` frame rows, test on the rest (hold-out + new)."""
    kind = "prices" if model == "forecaster" else "sensors"
    card = {"kind": kind, "series": f"simulated-{model}", "source": "simulated"}
    prepared = prepare_frame(frame, card, params, Path("."))
    dropped = len(frame) - len(prepared.features)  # rows a feature needs history for (a return: one)
    seen = prefix - dropped
    train = round(seen * (1 - VALIDATION_FRACTION))
    split = SplitIndex(slice(0, train), slice(train, seen), slice(seen, len(prepared.features)))
    scaler = data_kind(kind).scaler().fit(prepared.features[prepared.columns].to_numpy()[split.train])
    return replace(prepared, split=split, scaler=scaler)


def unit_losses(model: str, evaluation) -> pd.DataFrame:
    """Per forecast unit, keyed by time as `monitoring.check` keys them (a forecaster's target date, a
    seq2seq origin): `arrived` (its last target's time), `model` and each baseline's loss."""
    table = evaluation.tables["predictions.csv"]
    if model == "forecaster":
        from lstmops.tasks.forecaster.evaluate import BASELINES

        key = pd.to_datetime(table["date"])
        losses = {"model": (table["actual"] - table["predicted"]).abs().to_numpy()}
        losses |= {name: (table["actual"] - table[name]).abs().to_numpy() for name in BASELINES}
        return pd.DataFrame({"arrived": key.to_numpy(), **losses}, index=pd.Index(key, name="key"))
    names = [c for c in table.columns if c not in ("origin", "step", "timestamp", "actual", "forecast")]
    losses = table.assign(
        model=(table["actual"] - table["forecast"]).abs(), **{n: (table["actual"] - table[n]).abs() for n in names}
    )
    grouped = losses.groupby("origin", sort=True)
    result = grouped[["model", *names]].mean()
    result.insert(0, "arrived", grouped["timestamp"].max())
    result.index = pd.Index(pd.to_datetime(result.index), name="key")
    return result


def replay_checks(
    units: pd.DataFrame,
    data_end: pd.Timestamp,
    window: int,
    checks: int,
    horizon: int,
    settings,
    inputs: tuple[pd.DataFrame, pd.Series, int] | None = None,
) -> list[dict[str, Any]]:
    """The monitor's verdicts after each of `checks` windows of `window` new units (hold-out: keys <= data_end).

    `inputs`: (what the model sees per row, the rows' times, rows it trained on) for the input-drift
    evidence at each check: training rows against the rows after `data_end` that have arrived."""
    seen, new = units[units.index <= data_end], units[units.index > data_end]
    baselines = [c for c in units.columns if c not in ("arrived", "model")]
    verdicts = []
    for j in range(checks):
        arrived = new.iloc[: (j + 1) * window]
        both = pd.concat([seen, arrived])
        best = min(baselines, key=lambda name: both[name].mean())  # the strongest baseline on these rows, as the gate's
        verdict = decide(
            arrived["model"].to_numpy(),
            arrived[best].to_numpy(),
            holdout_ratio=float("nan"),
            holdout=(seen["model"].to_numpy(), seen[best].to_numpy()),
            horizon=horizon,
            alpha=settings.alpha,
            min_points=settings.min_points,
            cusum_k=settings.cusum_k,
            cusum_threshold=settings.cusum_threshold,
        )
        row = {"status": verdict.status, "n": verdict.n, "baseline": best, **_brief(verdict.evidence)}
        if inputs is not None:
            table, times, trained_rows = inputs
            fresh = ((times > data_end) & (times <= arrived["arrived"].iloc[-1])).to_numpy()
            _, p = input_drift(
                {name: table[name].to_numpy()[:trained_rows] for name in table},
                {name: table[name].to_numpy()[fresh] for name in table},
                seed=j,
            )
            row["input_drift_p"] = p
        verdicts.append(row)
    return verdicts


def _brief(evidence: dict[str, Any]) -> dict[str, Any]:
    keys = ("error_ratio", "holdout_ratio", "dm_p", "ratio_p", "alpha")
    return {key: evidence.get(key) for key in keys}


@dataclass
class Champion:
    model: str
    simulation: Simulation
    params: Params
    trained: Any
    horizon: int
    window: int  # new units per check window
    holdout_units: int
    data_end: pd.Timestamp  # the last row of the champion's hold-out (what `data.end` records)
    change_rows: dict[int, int]  # pre-change windows -> the first frame row of the change
    train_seconds: float
    lookahead: int = 0  # an anomaly detector's: rows a score reads after its own (new rows wait for them)


def train_champion(
    model: str, params: Params, *, seed: int, epochs: int, holdout_windows: int, checks: int
) -> Champion:
    """Train `model`'s tiny champion once on the simulated training rows and lay out the check windows."""
    from lstmops.tasks import get_task

    if model == "autoencoder":
        return train_detector(params, seed=seed, holdout_windows=holdout_windows, checks=checks)
    horizon = params.models.seq2seq.horizon if model == "seq2seq" else 1
    window = max(params.monitoring.min_points, MIN_BLOCKS * horizon, horizon + 2, 3)  # as statistics.decide
    prefix = TRAIN_ROWS[model]
    # Enough rows after the prefix for the hold-out, every window and the last window's targets, with room.
    rows = prefix + (holdout_windows + checks) * window + 4 * horizon + (PERIOD if model == "seq2seq" else 0) + 16
    simulation = Simulation(model, seed, prefix, rows)
    task = get_task(model)
    frame = simulation.frame(0)
    prepared = _prepared(frame, model, params, prefix)
    started = time.perf_counter()
    trained = task.train(prepared, params)
    train_seconds = time.perf_counter() - started

    units = unit_losses(model, task.evaluate(trained, prepared, params, gate=True))
    holdout_units = holdout_windows * window
    if len(units) < holdout_units + checks * window:
        raise ValueError(f"{model}: {len(units)} scored units, {holdout_units + checks * window} needed")
    data_end = units.index[holdout_units - 1]
    new = units[units.index > data_end]
    times = pd.to_datetime(frame[data_kind(prepared.kind).time_column])
    change_rows = {}
    for pre in range(checks):
        # Right after the data of check pre-1 arrived (its last unit's last target), or after the hold-out.
        last_seen = (
            new["arrived"].iloc[pre * window - 1] if pre else max(data_end, units["arrived"].iloc[holdout_units - 1])
        )
        change_rows[pre] = int((times <= pd.Timestamp(last_seen)).sum())
    return Champion(
        model, simulation, params, trained, horizon, window, holdout_units, data_end, change_rows, train_seconds
    )


def train_detector(params: Params, *, seed: int, holdout_windows: int, checks: int) -> Champion:
    """The tiny autoencoder champion and its check windows in rows: a window is the monitor's minimum
    (`alerts.needed_rows`), the hold-out `holdout_windows` of them with final scores."""
    from lstmops.tasks import get_task

    model, prefix = "autoencoder", TRAIN_ROWS["autoencoder"]
    gap = params.windows.sensors.window
    # The seasonal score's reach (TrainedAutoencoder.score_lookahead, with the simulated period), known
    # before training because the windows lay out the series.
    lookahead = max(gap - 1, PERIOD) + 2
    window = alerts.needed_rows(lookahead, params.monitoring.min_points)
    holdout_rows = holdout_windows * window + lookahead
    rows = prefix + holdout_rows + checks * window + lookahead + 16
    simulation = Simulation(model, seed, prefix, rows)
    frame = simulation.frame(0)
    prepared = _prepared(frame, model, params, prefix)
    started = time.perf_counter()
    trained = get_task(model).train(prepared, params)
    train_seconds = time.perf_counter() - started
    if trained.score_lookahead != lookahead:
        raise ValueError(f"the tiny autoencoder reads {trained.score_lookahead} rows ahead, not {lookahead}")
    times = pd.to_datetime(frame["timestamp"])
    boundary = prefix + holdout_rows  # the first new row
    # The change starts right after the rows the checks before it needed arrived (or after the hold-out).
    change_rows = {pre: boundary + (pre * window + lookahead if pre else 0) for pre in range(checks)}
    return Champion(
        model, simulation, params, trained, 1, window, holdout_rows, times[boundary - 1], change_rows, train_seconds,
        lookahead,
    )  # fmt: skip


def replay_detector(
    scores: np.ndarray, times: pd.Series, champion: Champion, checks: int, seed: int = 0
) -> list[dict[str, Any]]:
    """The monitor's verdicts on a detector's scores after each of `checks` windows of new rows with final scores."""
    settings, trained = champion.params.monitoring, champion.trained
    split = champion.params.windows.split
    train_end = times[champion.simulation.prefix - 1]
    verdicts = []
    for j in range(checks):
        arrived = times.searchsorted(champion.data_end, side="right") + (j + 1) * champion.window + champion.lookahead
        parts = alerts.split_parts(
            times.iloc[:arrived],
            train_end,
            champion.data_end,
            lookahead=champion.lookahead,
            needed=alerts.needed_reference_rows(champion.lookahead, settings.min_points),
            validation_share=split.val / (split.train + split.val),
        )
        verdict = alerts.decide(
            scores[parts.reference],
            scores[parts.new],
            trained.threshold,
            gap=trained.window,
            span=champion.lookahead,
            alpha=settings.alpha,
            min_points=settings.min_points,
            cusum_k=settings.cusum_k,
            cusum_threshold=settings.cusum_threshold,
            seed=seed + j,
        )
        e = verdict.evidence
        keys = ("alert_rate", "alert_rate_reference", "alert_rate_p", "tail_share_p", "more_alerts", "heavier_tail")
        verdicts.append(
            {"status": verdict.status, "n": verdict.n, "alpha": settings.alpha, **{key: e.get(key) for key in keys}}
        )
    return verdicts


def run_replicate(
    champion: Champion, replicate: int, change: str, pre_windows: int, checks: int
) -> list[dict[str, Any]]:
    from lstmops.tasks import get_task

    if champion.model == "autoencoder":
        at = champion.change_rows[pre_windows] if change != "none" else None
        frame = champion.simulation.frame(replicate, change, at)
        scores = champion.trained.score_features(frame)
        return replay_detector(scores, pd.to_datetime(frame["timestamp"]), champion, checks, seed=replicate)

    at = champion.change_rows[pre_windows] if change != "none" else None
    frame = champion.simulation.frame(replicate, change, at)
    prepared = _prepared(frame, champion.model, champion.params, champion.simulation.prefix)
    evaluation = get_task(champion.model).evaluate(champion.trained, prepared, champion.params, gate=True)
    units = unit_losses(champion.model, evaluation)
    season = min(champion.params.models.seq2seq.seasons) if champion.model == "seq2seq" else None
    seen_inputs = model_inputs(champion.model, prepared.features, prepared.columns, season)
    times = pd.to_datetime(prepared.features[data_kind(prepared.kind).time_column])
    return replay_checks(
        units,
        champion.data_end,
        champion.window,
        checks,
        champion.horizon,
        champion.params.monitoring,
        (seen_inputs, times, prepared.split.test.start),
    )


def summarise(change: str, runs: list[list[dict[str, Any]]], pre_windows: int) -> dict[str, Any]:
    """Rates over the replicates' check sequences (see the module docstring)."""
    from statsmodels.stats.proportion import proportion_confint

    statuses = np.array([[check["status"] for check in run] for run in runs])
    decayed = statuses == DECAYED
    first = [run[0] for run in runs]
    row: dict[str, Any] = {
        "change": change,
        "replicates": len(runs),
        "checks": int(statuses.size),
        "insufficient": int((statuses == INSUFFICIENT).sum()),
    }
    if "holdout_ratio" in first[0]:  # a forecaster as its hold-out saw it (first check: no change yet anywhere)
        row["holdout_ratio_median"] = float(np.median([check["holdout_ratio"] for check in first]))
        row["baseline_first_check"] = {
            name: sum(c["baseline"] == name for c in first) for name in sorted({c["baseline"] for c in first})
        }
    if "alert_rate" in first[0]:  # an anomaly detector: its alert rates, and which test called each decay
        row["alert_rate_reference_median"] = float(np.median([c["alert_rate_reference"] for c in first]))
        row["alert_rate_median_last_check"] = float(np.median([run[-1]["alert_rate"] for run in runs]))
        decays = [c for run in runs for c in run if c["status"] == DECAYED]
        row["decayed_by"] = {
            "alert_rate": sum(bool(c["more_alerts"]) for c in decays),
            "upper_tail": sum(bool(c["heavier_tail"]) for c in decays),
        }

    def interval(hits: np.ndarray) -> list[float]:  # Wilson 95% interval of a rate over independent replicates
        low, high = proportion_confint(int(hits.sum()), len(hits), alpha=0.05, method="wilson")
        return [float(low), float(high)]

    alpha = run_alpha(runs)
    drift_tested = any("input_drift_p" in c for run in runs for c in run)
    drift = np.array(
        [[(c.get("input_drift_p") is not None and c["input_drift_p"] < alpha) for c in run] for run in runs]
    )
    if change == "none":
        if drift_tested:
            row |= {
                "input_drift_rate": float(drift.mean()),
                "input_drift_rate_first_check": float(drift[:, 0].mean()),
                "input_drift_rate_first_check_ci95": interval(drift[:, 0]),
            }
        row |= {
            "false_decayed_rate": float(decayed.mean()),
            "false_decayed_rate_first_check": float(decayed[:, 0].mean()),
            "false_decayed_rate_first_check_ci95": interval(decayed[:, 0]),
            "false_decayed_rate_per_check": [float(rate) for rate in decayed.mean(axis=0)],
            "any_decayed_rate": float(decayed.any(axis=1).mean()),
            "any_decayed_rate_ci95": interval(decayed.any(axis=1)),
            "warning_rate": float((statuses == WARNING).mean()),
        }
        return row
    before, after = decayed[:, :pre_windows], decayed[:, pre_windows:]
    detected = after.any(axis=1)
    delays = np.where(detected, after.argmax(axis=1) + 1, np.inf)
    median = float(np.median(delays))
    row |= {
        "false_decayed_before_change": float(before.any(axis=1).mean()) if pre_windows else 0.0,
        "power": float(detected.mean()),
        "power_ci95": interval(detected),
        "median_delay_windows": median if math.isfinite(median) else None,
        "delay_counts": {str(int(d)): int((delays == d).sum()) for d in np.unique(delays[np.isfinite(delays)])},
        "post_change_windows": int(after.shape[1]),
        "warning_first_rate": float((statuses[:, pre_windows] == WARNING).mean()),
    }
    if not drift_tested:
        return row
    drift_after = drift[:, pre_windows:]
    drift_found = drift_after.any(axis=1)
    drift_delays = np.where(drift_found, drift_after.argmax(axis=1) + 1, np.inf)
    drift_median = float(np.median(drift_delays))
    row |= {
        "input_drift_before_change": float(drift[:, :pre_windows].any(axis=1).mean()) if pre_windows else 0.0,
        "input_drift_power": float(drift_found.mean()),
        "input_drift_power_ci95": interval(drift_found),
        "input_drift_median_delay_windows": drift_median if math.isfinite(drift_median) else None,
    }
    return row


def run_alpha(runs: list[list[dict[str, Any]]]) -> float:
    """The level the checks were run at (each check's evidence carries it)."""
    return float(runs[0][0].get("alpha") or 0.05)


def benchmark_monitor(
    params_file: Path | None,
    assignments: dict[str, Any],
    out: Path,
    *,
    models: Sequence[str] = ("forecaster", "seq2seq", "autoencoder"),
    null_replicates: int = 200,
    change_replicates: int = 50,
    checks: int = 6,
    pre_windows: int = 1,
    holdout_windows: int = 4,
    epochs: int = 10,
    seed: int = 0,
    progress=None,
) -> dict[str, Any]:
    """Train each model kind's tiny champion once, replay the monitor over the replicates of every
    scenario, write the result JSON to `out` and return it."""
    if not 0 <= pre_windows < checks:
        raise ValueError(f"--pre-windows must lie in 0..{checks - 1} (checks per replicate: {checks})")
    started = time.perf_counter()
    settings = tiny_params(params_file, assignments, models[0], epochs).monitoring
    result: dict[str, Any] = {
        "protocol": {
            "alpha": settings.alpha,
            "min_points": settings.min_points,
            "cusum_k": settings.cusum_k,
            "cusum_threshold": settings.cusum_threshold,
            "checks_per_replicate": checks,
            "pre_change_windows": pre_windows,
            "holdout_windows": holdout_windows,
            "epochs": epochs,
            "seed": seed,
            "forecaster_series": f"daily log-returns AR(1) phi={AR_PHI} sigma={AR_SIGMA} (Gaussian)",
            "seq2seq_series": f"hourly {LEVEL} + {AMPLITUDE} sin(2 pi t/{PERIOD}) + AR(1) noise phi={NOISE_PHI} sd={NOISE_SD}",
            "changes": {
                "level": "the model's input series shifts by one standard deviation (returns' mean; sensor level)",
                "noise": "innovations x2",
                "phase": "daily cycle shifted by a quarter period",
                "anomalies": f"anomalies one per {REGIME_EVERY} rows on average instead of one per {BASE_EVERY}",
            },
            "autoencoder_series": f"as seq2seq's, with anomalies ({MAGNITUDE} sd, {ANOMALY_ROWS} rows but spikes) "
            f"one per {BASE_EVERY} rows on average",
        },
        "models": {},
    }
    for model in models:
        if model not in CHANGES:
            raise ValueError(f"unknown model kind {model!r}; expected one of {', '.join(CHANGES)}")
        params = tiny_params(params_file, assignments, model, epochs)
        champion = train_champion(
            model, params, seed=seed, epochs=epochs, holdout_windows=holdout_windows, checks=checks
        )
        rows = []
        checks_started = time.perf_counter()
        for change in CHANGES[model]:
            count = null_replicates if change == "none" else change_replicates
            runs = []
            for replicate in range(1, count + 1):
                runs.append(run_replicate(champion, replicate, change, pre_windows, checks))
                if progress is not None and replicate % 25 == 0:
                    progress(f"{model} {change}: {replicate}/{count}")
            rows.append(summarise(change, runs, pre_windows))
        result["models"][model] = {
            "horizon": champion.horizon,
            "window_units": champion.window,
            **({"score_lookahead_rows": champion.lookahead} if champion.lookahead else {}),
            "holdout_units": champion.holdout_units,
            "train_seconds": round(champion.train_seconds, 1),
            "check_seconds": round(time.perf_counter() - checks_started, 1),
            "scenarios": rows,
        }
    result["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def format_table(result: dict[str, Any]) -> str:
    """One line per model kind and scenario."""
    alpha = result["protocol"]["alpha"]
    lines = [
        f"{'model':11s} {'change':9s} {'reps':>5s} {'checks':>6s} {'false decayed':>13s} {'first check':>11s} "
        f"{'any in seq':>10s} {'power':>6s} {'median delay':>12s} {'input drift':>11s} {'drift delay':>11s}",
    ]
    for model, block in result["models"].items():
        for row in block["scenarios"]:
            if row["change"] == "none":
                cells = (
                    f"{row['false_decayed_rate']:.3f}",
                    f"{row['false_decayed_rate_first_check']:.3f}",
                    f"{row['any_decayed_rate']:.3f}",
                    "-",
                    "-",
                    f"{row['input_drift_rate']:.3f}" if "input_drift_rate" in row else "-",
                    "-",
                )
            else:
                delay, drift_delay = row["median_delay_windows"], row.get("input_drift_median_delay_windows")
                cells = (
                    "-",
                    "-",
                    "-",
                    f"{row['power']:.2f}",
                    "never" if delay is None else f"{delay:g}",
                    f"{row['input_drift_power']:.2f}" if "input_drift_power" in row else "-",
                    "-" if "input_drift_power" not in row else "never" if drift_delay is None else f"{drift_delay:g}",
                )
            lines.append(
                f"{model:11s} {row['change']:9s} {row['replicates']:5d} {row['checks']:6d} {cells[0]:>13s} {cells[1]:>11s} "
                f"{cells[2]:>10s} {cells[3]:>6s} {cells[4]:>12s} {cells[5]:>11s} {cells[6]:>11s}"
            )
    lines.append(
        f"(alpha {alpha}; delay in check windows, 1 = the first check that sees changed rows; input drift: "
        "its rate without change, its power with one, a warning at most; the autoencoder is judged by its "
        "alert rate and the upper tail of its scores, with no input-drift test)"
    )
    return "\n".join(lines)
