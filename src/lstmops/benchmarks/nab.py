"""Benchmark the LSTM autoencoder on NAB groups the way Orion benchmarks its `lstm_autoencoder` pipeline.

Orion's protocol (sintel-dev/Orion 0.7.1: orion/pipelines/verified/lstm_autoencoder/lstm_autoencoder.json,
orion/primitives/jsons/keras.Sequential.LSTMSeq2Seq.json, orion/benchmark.py), reproduced here:
- mean-aggregate the signal into bins of 600 s (3,600 s for realAdExchange) counted from the first
  timestamp, each bin indexed by its start; empty bins imputed with the signal's mean (SimpleImputer);
- MinMax to [-1, 1] over the whole signal; windows of 100 steps, step 1;
- LSTM(60) -> RepeatVector -> LSTM(60, sequences) -> TimeDistributed(Dense(1)), Adam 1e-3, MSE,
  batch 64 over every window, up to 35 epochs, the last 20 % of the windows held out for
  EarlyStopping(val_loss, patience 10, min_delta 3e-4);
- train and detect on the same signal (labels are used only for scoring); reconstruction errors
  (median reconstruction per point, |error|, rolling mean over 1 % of the windows, capped at 200);
- `find_anomalies` with a window of 33 % of the series stepping 10 %, threshold mean + 4 std inside
  each window, padding 50, pruning at 13 % (the function's default is 10 %, but the pipeline's
  primitive JSON makes 0.13 the tunable default and MLBlocks applies it), overlapping detections merged;
- overlapping-segment counts against labels/combined_windows.json, tp/fp/fn pooled per group;
- the series Orion scored: its 0.7.1 results hold 5 realAdExchange series (no exchange-4_cpc_results).

Two protocols (`PROTOCOLS`): "orion" is the above; "lstmops", this benchmark's original budget for a
2-core CPU (~45 series in an hour), kept so that earlier results stay comparable:
- training sees at most 384 windows per epoch (an even stride over the windows, so every part of
  the signal is still seen; step-1 windows overlap 99 %), in batches of 16 instead of 64: 24 updates
  per epoch, as many as Orion makes on an artificialWithAnomaly series (1,533 training windows / 64),
  for a quarter of the compute. With batches of 64 the same budget gives 4 updates per epoch and the
  model stays underfitted (training loss ~0.4 after 35 epochs on art_daily_jumpsdown, vs ~0.05).
  Detection still reconstructs every window;
- pruning at 10 % and every series of a group scored.

Deviations in both protocols, for data Orion never benchmarked or of no effect on its groups:
- the bin is never finer than the series' own median sampling interval: Orion benchmarks no group
  sampled more coarsely than its bin, but realKnownCause holds hourly and 30-minute series, which
  600 s bins would turn into 5 imputed means out of every 6 points.
- one more window than Orion at the end of the series (Orion's windowing reserves a forecast
  target the autoencoder never uses).

Three detectors (`DETECTORS`) score the same trained LSTM-AE: "lstm_ae" is Orion's reconstruction error;
"seasonal_ae" combines it with each point's distance to the neighbouring periods, for anomalies a
100-step window cannot see (a day whose peak is missing or lower); "seasonal_ae_global" thresholds
that score over the whole series too, beside Orion's sliding windows.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
from tqdm import tqdm

from lstmops.benchmarks import nab_product, nab_report
from lstmops.benchmarks.nab_report import GroupSummary
from lstmops.config import Params
from lstmops.data.scaling import MinMaxScaler
from lstmops.data.sensors import SensorSeries, check_nab_root, read_nab
from lstmops.data.windows import sliding_windows
from lstmops.evaluate import anomalies
from lstmops.tasks.autoencoder import seasonal_context
from lstmops.tasks.autoencoder.network import build_autoencoder, reconstruction_scores
from lstmops.train.common import predict, set_seed

# Overlapping-segment F1 in Orion 0.7.1's results (sintel-dev/Orion, benchmark/results/0.7.1.csv):
# its lstm_autoencoder pipeline, and the best of its pipelines per group, with that pipeline's name.
ORION_LSTM_AE_F1 = {
    "artificialWithAnomaly": 0.545,
    "realAWSCloudwatch": 0.750,
    "realAdExchange": 0.720,
    "realTraffic": 0.533,
    "realTweets": 0.448,
}
ORION_BEST_F1 = {
    "artificialWithAnomaly": (0.750, "AER"),
    "realAWSCloudwatch": (0.778, "dense AE"),
    "realAdExchange": (0.783, "TimesFM"),
    "realTraffic": (0.649, "UNITS"),
    "realTweets": (0.667, "GANF"),
}


@dataclass(frozen=True)
class NabProtocol:
    """How the benchmark runs a NAB series: the steps of Orion's lstm_autoencoder pipeline with their
    settings and the series it scores. The defaults are the "lstmops" budget (see the module notes),
    `PROTOCOLS["orion"]` is Orion's own."""

    name: str = "lstmops"
    interval_seconds: int = 600
    group_interval_seconds: dict[str, int] = field(default_factory=lambda: {"realAdExchange": 3600})
    window: int = 100
    units: int = 60
    learning_rate: float = 1e-3
    batch_size: int = 16
    epochs: int = 35
    validation_split: float = 0.2
    patience: int = 10
    min_delta: float = 3e-4
    smoothing_window: float = 0.01  # fraction of the number of windows, as in Orion
    window_size_portion: float = 0.33
    window_step_size_portion: float = 0.1
    k: float = 4.0
    anomaly_padding: int = 50
    min_percent: float = 0.1
    max_train_windows: int | None = 384  # windows seen per epoch; None: every window
    unscored_series: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per group, by file stem


PROTOCOLS = {
    "lstmops": NabProtocol(),
    "orion": NabProtocol(
        name="orion",
        batch_size=64,
        min_percent=0.13,
        max_train_windows=None,
        unscored_series={"realAdExchange": ("exchange-4_cpc_results",)},
    ),
}


@dataclass(frozen=True)
class Detector:
    """How the trained LSTM-AE's errors become the anomaly score. "lstm_ae": Orion's reconstruction error
    alone; "seasonal_ae": its geometric mean with the distance to the neighbouring periods where the
    signal has a period longer than the window (tasks/autoencoder/seasonal_context.py; settings chosen
    on the development groups, the same for every group). `whole_series_window`: find_anomalies also
    thresholds the whole score as one more window, for anomalies wide enough to lift their sliding
    windows' thresholds above themselves (a missing day on a two-week series)."""

    name: str = "lstm_ae"
    seasonal: bool = False
    min_autocorrelation: float = seasonal_context.MIN_AUTOCORRELATION
    prominence: float = seasonal_context.PROMINENCE
    whole_series_window: bool = False
    product: bool = False  # the product's own detector (benchmarks/nab_product.py): the protocol is not used


DETECTORS = {
    "lstm_ae": Detector(),
    "seasonal_ae": Detector(name="seasonal_ae", seasonal=True),
    "seasonal_ae_global": Detector(name="seasonal_ae_global", seasonal=True, whole_series_window=True),
    "product": Detector(name="product", product=True),
}


def aggregate(frame: pd.DataFrame, interval_seconds: int) -> pd.DataFrame:
    """Orion's time_segments_aggregate (mean) + SimpleImputer (mean): bins from the first timestamp."""
    frame = frame.sort_values("timestamp")
    times = frame["timestamp"]
    first = times.iloc[0]
    interval = pd.Timedelta(seconds=interval_seconds)
    bins = ((times - first) // interval).to_numpy()
    means = frame["value"].groupby(bins).mean()
    values = means.reindex(np.arange(bins.max() + 1))
    return pd.DataFrame(
        {
            "timestamp": first + interval * np.arange(len(values)),
            "value": values.fillna(values.mean()).to_numpy(dtype=np.float64),
        }
    )


def series_interval(frame: pd.DataFrame, group: str, protocol: NabProtocol) -> int:
    """The group's bin, widened to the series' median sampling interval when that is coarser."""
    step = frame["timestamp"].sort_values().diff().median()
    sampled = int(step.total_seconds()) if pd.notna(step) else 0
    return max(protocol.group_interval_seconds.get(group, protocol.interval_seconds), sampled)


def _strided(windows: np.ndarray, limit: int | None) -> np.ndarray:
    stride = 1 if limit is None else max(1, math.ceil(len(windows) / limit))
    return np.ascontiguousarray(windows[::stride], dtype=np.float32)


@dataclass(frozen=True)
class SeriesDetection:
    """What the detector did on one aggregated signal: its detections (start, end, score) in timestamps,
    the anomaly score and the threshold per point (for the figure), and the epochs trained."""

    detections: list[tuple[Any, Any, float]]
    score: np.ndarray
    threshold: np.ndarray
    epochs: int
    signal: pd.DataFrame  # what was scored: timestamp, value


def detect(
    signal: pd.DataFrame,
    protocol: NabProtocol,
    *,
    seed: int,
    verbose: int = 0,
    detector: Detector = DETECTORS["lstm_ae"],
) -> SeriesDetection:
    """Train on the aggregated signal and find Orion's anomalies in the detector's anomaly score."""
    values, errors, epochs = reconstruction_errors(signal, protocol, seed=seed, verbose=verbose)
    return detect_from_errors(signal, values, errors, protocol, detector, epochs=epochs)


def reconstruction_errors(
    signal: pd.DataFrame, protocol: NabProtocol, *, seed: int, verbose: int = 0
) -> tuple[np.ndarray, np.ndarray, int]:
    """Train the LSTM-AE on the aggregated signal: the scaled values, Orion's reconstruction error per
    point, and the epochs run."""
    values = MinMaxScaler((-1.0, 1.0)).fit(signal["value"].to_numpy()).transform(signal["value"].to_numpy())
    if len(values) < protocol.window + 2:
        raise ValueError(f"{len(values)} aggregated points are too few for windows of {protocol.window}")
    windows = sliding_windows(values[:, None], protocol.window)  # (n - window + 1, window, 1), a view
    # Keras' validation_split: the LAST fraction of the windows, before any shuffling.
    n_train = len(windows) - max(1, int(len(windows) * protocol.validation_split))
    limit = protocol.max_train_windows
    train = _strided(windows[:n_train], limit)
    val = _strided(windows[n_train:], None if limit is None else max(1, int(limit * protocol.validation_split)))

    set_seed(seed)
    model = build_autoencoder(protocol.window, 1, units=protocol.units, learning_rate=protocol.learning_rate)
    history = model.fit(
        train,
        train,
        validation_data=(val, val),
        epochs=protocol.epochs,
        batch_size=protocol.batch_size,
        shuffle=True,
        verbose=verbose,
        callbacks=[
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=protocol.patience, min_delta=protocol.min_delta)
        ],
    )
    errors = reconstruction_scores(
        windows, predict(model, windows), len(values), smoothing_window=protocol.smoothing_window
    )
    return values, errors, len(history.history["loss"])


def detect_from_errors(
    signal: pd.DataFrame,
    values: np.ndarray,
    errors: np.ndarray,
    protocol: NabProtocol,
    detector: Detector,
    *,
    epochs: int,
) -> SeriesDetection:
    """The detector's anomaly score from the LSTM-AE's errors, thresholded by Orion's find_anomalies."""
    score = errors
    if detector.seasonal:
        score, _ = seasonal_context.seasonal_reconstruction_scores(
            values,
            errors,
            smoothing_window=protocol.smoothing_window,
            min_autocorrelation=detector.min_autocorrelation,
            prominence=detector.prominence,
            min_period=protocol.window,
        )
    windowing = {
        "window_size_portion": protocol.window_size_portion,
        "window_step_size_portion": protocol.window_step_size_portion,
        "k": protocol.k,
        "whole_series_window": detector.whole_series_window,
    }
    detections = anomalies.find_anomalies_orion(
        score,
        signal["timestamp"].to_numpy(),
        anomaly_padding=protocol.anomaly_padding,
        min_percent=protocol.min_percent,
        **windowing,
    )
    return SeriesDetection(detections, score, anomalies.orion_threshold(score, **windowing), epochs, signal)


def group_series(root: Path, group: str) -> list[str]:
    """The "<group>/<name>" keys of `group`'s series under `root`; an unknown group names the groups found."""
    names = sorted(path.stem for path in (root / "data" / group).glob("*.csv"))
    if not names:
        groups = sorted(path.name for path in (root / "data").glob("*") if path.is_dir())
        raise FileNotFoundError(f"{root / 'data' / group}: no NAB series in group {group!r}; groups found: {groups}")
    return [f"{group}/{name}" for name in names]


def labelled(root: Path, key: str) -> SensorSeries:
    """The series `key` with its labelled windows; a series without an entry in the labels is an error."""
    series = read_nab(root, key)
    if series.windows is None:
        raise ValueError(
            f"{root / 'labels' / 'combined_windows.json'}: no entry for {key}.csv; "
            "the benchmark scores every series against its labels"
        )
    return series


def benchmark_nab(
    root: Path,
    groups: Sequence[str],
    params: Params,
    out: Path,
    progress: bool = True,
    *,
    protocol: NabProtocol = PROTOCOLS["lstmops"],
    seeds: int = 1,
    detector: Detector = DETECTORS["lstm_ae"],
    rules: Mapping[str, nab_product.Rule] | None = None,
) -> dict[str, Any]:
    """Run the LSTM-AE on every series of `groups` under a NAB-layout `root`, once per seed
    (params.train.seed, +1, ...); write and return the result. With the product's detector, `rules`
    (threshold rules by name) are also judged on each same training.

    Result (also written to `out` as JSON, rewritten after every series so that an interrupted run
    keeps what it measured; "complete" says whether it ran to the end):
    {"protocol": {name, settings...}, "detector": {name, settings...}, "seeds": [...], "unscored": {group: [series left out by the protocol]},
     "groups": {group: {"f1": {mean, min, max over seeds}, "pooled": {tp, fp, fn, f1, precision, recall
     over all seeds}, "runs": [{seed, series, f1, precision, recall, tp, fp, fn}]}},
     "series": [{name, group, seed, f1, tp, fp, fn, points, epochs, seconds}], "complete": bool};
    with `rules`, "rules": {group: {rule name: as "groups"' entries}} and each series row's counts per rule.
    A run's group scores pool its series' counts, as Orion's per-dataset F1 does.
    Beside `out`, each training's figure (`nab_report.figure_path`) and an HTML index of them
    (`<out stem>.html`), the index rewritten with the JSON.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if rules and not detector.product:
        raise ValueError(f"threshold rules are judged on the product's detector only, not {detector.name}")
    root, out = check_nab_root(root), Path(out)
    seed_list = [params.train.seed + offset for offset in range(seeds)]
    keys, unscored = [], {}
    for group in groups:
        skipped = set(protocol.unscored_series.get(group, ()))
        names = [key.rpartition("/")[2] for key in group_series(root, group)]
        keys += [(group, f"{group}/{name}") for name in names if name not in skipped]
        if skipped.intersection(names):
            unscored[group] = sorted(skipped.intersection(names))
    per_series: list[dict[str, Any]] = []
    runs = [(seed, group, key) for seed in seed_list for group, key in keys]
    result = _result(protocol, detector, seed_list, groups, unscored, per_series, complete=not runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    _write(out, result)
    bar = tqdm(runs, desc=f"NAB {detector.name} ({protocol.name})", unit="training", disable=not progress)
    for seed, group, key in bar:
        bar.set_postfix_str(f"{key} seed {seed}")
        started = time.perf_counter()
        series = labelled(root, key)
        if detector.product:
            quiet = params.model_copy(update={"train": params.train.model_copy(update={"verbose": 0})})
            row, detected = _product_run(series, key, seed, quiet if progress else params, rules or {})
        else:
            signal = aggregate(series.frame, series_interval(series.frame, group, protocol))
            # Keras' per-epoch lines would tear the progress bar apart.
            detected = detect(
                signal, protocol, seed=seed, verbose=0 if progress else params.train.verbose, detector=detector
            )
            spans = [(start, end) for start, end, _ in detected.detections]
            scores = anomalies.overlapping_segment_scores(series.windows, spans)
            row = {
                "f1": scores["f1"],
                "tp": scores["tp"],
                "fp": scores["fp"],
                "fn": scores["fn"],
                "points": len(signal),
            }
        row = {
            "name": key.rpartition("/")[2],
            "group": group,
            "seed": seed,
            **row,
            "epochs": detected.epochs,
            "seconds": round(time.perf_counter() - started, 1),
        }
        detections = [(start, end) for start, end, _ in detected.detections]
        per_series.append(row)
        if len(detected.score):  # a series the product refused has nothing to draw
            nab_report.write_series_figure(
                nab_report.figure_path(out, group, row["name"], seed),
                detected.signal,
                detected.score,
                detected.threshold,
                labelled=series.windows,
                detections=detections,
                title=f"{key}, seed {seed}: tp {row['tp']}, fp {row['fp']}, fn {row['fn']}",
            )
        if progress:
            bar.write(
                f"{key} seed {seed}: {row['points']} points, {detected.epochs} epochs, tp {row['tp']} fp {row['fp']} "
                f"fn {row['fn']}, {row['seconds']:.0f} s"
            )
        result = _result(
            protocol, detector, seed_list, groups, unscored, per_series, complete=len(per_series) == len(runs)
        )
        _write(out, result)
    return result


def _product_run(
    series: SensorSeries, key: str, seed: int, params: Params, rules: Mapping[str, nab_product.Rule]
) -> tuple[dict[str, Any], SeriesDetection]:
    """One series through the product's detector: the row's scores (with each compared detector's F1 on
    the labels and on injected anomalies, and the counts under each of `rules`) and what to draw. A series
    the product refuses to train on counts its labelled windows as missed, with the product's reason."""
    try:
        run = nab_product.detect_product(series, key, params, seed=seed, rules=rules)
    except nab_product.ProductInputError as err:
        missed = {"tp": 0, "fp": 0, "fn": len(series.windows or [])}
        empty = np.zeros(0)
        row = {"f1": 0.0, **missed, "points": len(series.frame), "refused": str(err)}
        if rules:
            row["rules"] = {name: missed for name in rules}
        return row, SeriesDetection([], empty, empty, 0, series.frame)
    f1 = anomalies.pooled_segment_scores([run.counts])["f1"]
    row = {
        "f1": f1,
        **run.counts,
        "points": len(run.signal),
        "f1_labels": run.f1_labels,
        "f1_injected": run.f1_injected,
        **({"rules": run.by_rule} if rules else {}),
    }
    return row, SeriesDetection(run.detections, run.score, run.threshold, run.epochs, run.signal)


def _write(out: Path, result: dict[str, Any]) -> None:
    out.write_text(json.dumps(result, indent=2) + "\n")
    nab_report.write_index(out, result, summaries={group: group_summary(result, group) for group in result["groups"]})


def _result(
    protocol: NabProtocol,
    detector: Detector,
    seeds: list[int],
    groups: Sequence[str],
    unscored: dict[str, list[str]],
    per_series: list[dict[str, Any]],
    *,
    complete: bool,
) -> dict[str, Any]:
    scored = [group for group in dict.fromkeys(groups) if any(row["group"] == group for row in per_series)]
    by_rule = {
        group: {
            rule: over_seeds([{**row, **row["rules"][rule]} for row in per_series if row["group"] == group])
            for rule in next(row["rules"] for row in per_series if row["group"] == group)
        }
        for group in scored
        if any("rules" in row for row in per_series)
    }
    return {
        "protocol": {**asdict(protocol), "unscored_series": {g: list(n) for g, n in protocol.unscored_series.items()}},
        "detector": asdict(detector),
        "seeds": seeds,
        "unscored": unscored,
        "groups": {group: over_seeds([row for row in per_series if row["group"] == group]) for group in scored},
        "series": per_series,
        **({"rank_agreement": nab_product.rank_agreement(per_series)} if detector.product else {}),
        **({"rules": by_rule} if by_rule else {}),
        "complete": complete,
    }


def over_seeds(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One group's pooled scores per seed (with how many series each covers: fewer in the last seed of
    an interrupted run), their F1 spread, and the counts pooled over all seeds."""
    by_seed = {
        seed: [row for row in rows if row["seed"] == seed] for seed in dict.fromkeys(row["seed"] for row in rows)
    }
    runs = [{"seed": seed, "series": len(seeded), **_pooled(seeded)} for seed, seeded in by_seed.items()]
    f1 = [run["f1"] for run in runs]
    return {
        "f1": {"mean": statistics.fmean(f1), "min": min(f1), "max": max(f1)},
        "pooled": _pooled(rows),
        "runs": runs,
    }


def _pooled(rows: list[dict[str, Any]]) -> dict[str, float]:
    pooled = anomalies.pooled_segment_scores(rows)
    return {name: pooled[name] for name in ("f1", "precision", "recall", "tp", "fp", "fn")}


def group_summary(
    result: Mapping[str, Any],
    group: str,
    *,
    orion_lstm_ae: Mapping[str, float] = ORION_LSTM_AE_F1,
    orion_best: Mapping[str, tuple[float, str]] = ORION_BEST_F1,
) -> GroupSummary:
    """`group`'s summary in a `benchmark_nab` result, beside Orion's numbers (`orion_*`: by group)."""
    return GroupSummary(
        series=len({row["name"] for row in result["series"] if row["group"] == group}),
        counts=" ".join(f"{run['tp']}/{run['fp']}/{run['fn']}" for run in result["groups"][group]["runs"]),
        orion_lstm_ae=orion_lstm_ae.get(group),
        orion_best=orion_best.get(group),
    )


def format_table(result: dict[str, Any]) -> str:
    """Per-group F1 over seeds beside Orion's LSTM-AE and Orion's best pipeline for the group ('-' where
    Orion has no number); tp/fp/fn of each seed; mean seconds per series."""
    header = (
        f"{'group':24s} {'series':>6s} {'F1 mean':>7s} {'min':>6s} {'max':>6s} {'tp/fp/fn per seed':>18s} "
        f"{'Orion LSTM-AE':>13s} {'Orion best':>16s} {'s/series':>8s}"
    )
    lines = [
        f"protocol {result['protocol']['name']}, detector {result['detector']['name']}, seeds {result['seeds']}",
        header,
        "-" * len(header),
    ]
    for group, scores in result["groups"].items():
        summary = group_summary(result, group)
        lstm_ae = "-" if summary.orion_lstm_ae is None else f"{summary.orion_lstm_ae:.3f}"
        best = "-" if summary.orion_best is None else f"{summary.orion_best[0]:.3f} {summary.orion_best[1]}"
        f1 = scores["f1"]
        seconds = statistics.fmean(row["seconds"] for row in result["series"] if row["group"] == group)
        lines.append(
            f"{group:24s} {summary.series:6d} {f1['mean']:7.3f} {f1['min']:6.3f} "
            f"{f1['max']:6.3f} {summary.counts:>18s} {lstm_ae:>13s} {best:>16s} {seconds:8.0f}"
        )
    for group, by_rule in result.get("rules", {}).items():
        lines.append(f"{group}, the same trainings under each threshold rule: F1 mean (min-max), tp/fp/fn per seed")
        lines += [
            f"  {rule:20s} {scores['f1']['mean']:.3f} ({scores['f1']['min']:.3f}-{scores['f1']['max']:.3f})  "
            + " ".join(f"{run['tp']}/{run['fp']}/{run['fn']}" for run in scores["runs"])
            for rule, scores in by_rule.items()
        ]
    refused = {f"{row['group']}/{row['name']}": row["refused"] for row in result["series"] if "refused" in row}
    lines += [f"refused by the product: {key}: {reason}" for key, reason in refused.items()]  # once, not per seed
    agreement = result.get("rank_agreement")
    if agreement and agreement["series"]:
        means = agreement["mean_f1"]
        lines += [
            "",
            "injected-anomaly F1 vs labelled F1, detectors " + ", ".join(nab_product.COMPARED) + ":",
            "  mean F1 per series, labels:   "
            + "  ".join(f"{d} {means['f1_labels'][d]:.3f}" for d in means["f1_labels"]),
            "  mean F1 per series, injected: "
            + "  ".join(f"{d} {means['f1_injected'][d]:.3f}" for d in means["f1_injected"]),
            "  Kendall tau over (series, detector) pairs "
            + (
                "- (one side the same everywhere)"
                if agreement["kendall_tau_pairs"] is None
                else f"{agreement['kendall_tau_pairs']:.2f} (p {agreement['kendall_p']:.2g})"
            )
            + f", {agreement['series']} series; mean per-series Spearman "
            + ("-" if agreement["spearman_per_series_mean"] is None else f"{agreement['spearman_per_series_mean']:.2f}")
            + f" ({agreement['series_with_ties_everywhere']} series tied on one side); same best detector in "
            f"{agreement['same_best_detector']:.0%} of series",
        ]
    return "\n".join(lines)
