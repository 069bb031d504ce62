"""Benchmark the seq2seq forecaster on one `timestamp,value` CSV against every seasonal naive and persistence.

The same path as the pipeline, without a data folder: read, validate (the GX gate's rules), split
chronologically, MinMax on the train part, train with early stopping on the val part, score on the
test part. The val part's scores are reported too: settings are chosen there, never on test.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lstmops.benchmarks.inputs import prepare_sensor_csv
from lstmops.config import Params
from lstmops.tasks.seq2seq.evaluate import evaluate_seq2seq, forecast_metrics, holdout_forecasts
from lstmops.tasks.seq2seq.train import train_seq2seq


def benchmark_seq2seq(
    csv: Path,
    seasons: Sequence[int],
    horizon: int,
    params: Params,
    out: Path,
    *,
    calendar: Sequence[str] | None = None,
    seeds: int = 1,
) -> dict[str, Any]:
    """Train and score on `csv` once per seed; write the result JSON to `out` and the first seed's
    figures beside it.

    The window, units, attention, decoder and training settings come from `params`; `seasons` and
    `horizon` override params.models.seq2seq's. Seeds are params.train.seed, +1, ... Returns what it
    writes: test metrics as the mean over seeds (mae, rel_mae_<baseline> for each seasonal naive and
    persistence, rel_mae_best_baseline, mae_per_step, ...), the val part's under "val", the mean, min
    and max over seeds of every metric under "over_seeds", each seed's numbers under "runs", the
    settings used and the seconds taken.
    """
    started = time.perf_counter()
    csv, out = Path(csv), Path(out)
    model = params.models.seq2seq.model_copy(update={"seasons": list(seasons), "horizon": horizon})
    params = params.model_copy(update={"models": params.models.model_copy(update={"seq2seq": model})})
    params = params.for_task("seq2seq")
    prepared = prepare_sensor_csv(csv, params, model.window)
    calendar = params.models.seq2seq.calendar if calendar is None else calendar
    train_values = prepared.features["value"].to_numpy(dtype="float64")[prepared.split.train]

    runs, figures = [], {}
    for offset in range(seeds):
        seeded = params.model_copy(
            update={"train": params.train.model_copy(update={"seed": params.train.seed + offset})}
        )
        seed_started = time.perf_counter()
        trained = train_seq2seq(prepared, seeded, calendar=calendar)
        train_seconds = time.perf_counter() - seed_started
        evaluation = evaluate_seq2seq(trained, prepared, seeded, gate=offset > 0)
        val_forecasts = holdout_forecasts(trained, prepared.features, prepared.split.val, model.seasons)
        figures = figures or evaluation.figures
        epochs = len(trained.history["loss"])
        # normalise=auto trains a network per normalisation: the seconds cover them all
        epochs_trained = sum(trial["epochs"] for trial in trained.normalise_trials.values()) or epochs
        runs.append(
            {
                "seed": seeded.train.seed,
                "test": evaluation.metrics,
                "val": forecast_metrics(val_forecasts, train_values, model.seasons),
                "epochs_run": epochs,
                "train_seconds": train_seconds,
                "seconds_per_epoch": train_seconds / epochs_trained,
                "base_season": trained.base_season,
                "normalise": trained.normalise,
                "normalise_trials": trained.normalise_trials,
            }
        )

    test_mean, val_mean = _mean_over_runs(runs, "test"), _mean_over_runs(runs, "val")
    result: dict[str, Any] = {
        **{name: value for name, value in test_mean.items() if not name.startswith("mae_step_")},
        "mae_per_step": [test_mean[f"mae_step_{step}"] for step in range(1, horizon + 1)],
        "best_baseline": _best_baseline(test_mean),
        "val": {name: value for name, value in val_mean.items() if not name.startswith("mae_step_")},
        "val_best_baseline": _best_baseline(val_mean),
        "over_seeds": {
            part: {name: _spread([run[part][name] for run in runs]) for name in ("mae", *_relative(runs[0][part]))}
            for part in ("test", "val")
        },
        "runs": [{**run, "test": _summary(run["test"]), "val": _summary(run["val"])} for run in runs],
        "csv": str(csv),
        "rows": len(prepared.features),
        "split_rows": {
            name: [part.start, part.stop]
            for name, part in zip(
                ("train", "val", "test"), (prepared.split.train, prepared.split.val, prepared.split.test)
            )
        },
        "settings": {**model.model_dump(), "calendar": list(calendar), **params.train.model_dump(), "seeds": seeds},
        "device": trained.device,
        "train_seconds": sum(run["train_seconds"] for run in runs),
        "seconds": time.perf_counter() - started,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, figure in figures.items():
        figure.savefig(out.with_name(f"{out.stem}_{name}"))
    return result


def _mean_over_runs(runs: list[dict[str, Any]], part: str) -> dict[str, float]:
    return {name: statistics.fmean(run[part][name] for run in runs) for name in runs[0][part]}


def _relative(metrics: dict[str, float]) -> list[str]:
    return [name for name in metrics if name.startswith("rel_mae_")]


def _summary(metrics: dict[str, float]) -> dict[str, float]:
    """A run's headline numbers: mae and mae relative to each baseline."""
    return {name: metrics[name] for name in ("mae", *_relative(metrics), "n_origins")}


def _spread(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values)}


def _best_baseline(metrics: dict[str, float]) -> str:
    """The baseline whose mae is lowest (named like rel_mae_<baseline>), not counting best_baseline."""
    names = [name.removeprefix("rel_mae_") for name in _relative(metrics) if name != "rel_mae_best_baseline"]
    return min(names, key=lambda name: metrics[f"mae_{name}"])
