"""Benchmark the seq2seq over several series: CSVs, or every CSV of a folder (a NAB group's data folder).

Per series and seed: the pipeline's path as in `benchmarks.seq2seq` (validate, split, scale on train,
train with early stopping on val), scored on the test part beside every seasonal naive, persistence
and the linear baseline (a ridge on the window and each step's naives, fitted on train, its penalty
chosen on val). The val part's ratios are reported too: settings are chosen there, never on test.

Reported per series: the model's MAE relative to the strongest naive (the seasonal naive or
persistence with the lowest test MAE) and to the linear baseline, mean/min/max over seeds; a
Diebold-Mariano test (HLN, horizon-aware) of the per-origin MAE against each, on the seeds' mean loss
per origin, plus each seed's own p-value; training seconds. Pooled over the series that ran: the
geometric mean of the per-series ratios, and a DM test on all series' per-origin loss differences
together, each series' divided by its baseline's test MAE (scale-free).

Seasons are durations (`1D`, `7D`), turned into samples per series with its median sampling interval,
so series of different rates share one command. A series is `seasonal` when its strongest seasonal
naive's MAE on the train part is at most SEASONAL_RATIO x persistence's at this horizon; one that is
not is still benchmarked and reported as such, never dropped. A series that fails validation or
cannot be trained is reported with its error; the others still run.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstmops.benchmarks.inputs import prepare_sensor_csv
from lstmops.config import Params
from lstmops.evaluate.baselines import persistence, seasonal_naive_at
from lstmops.evaluate.significance import diebold_mariano
from lstmops.tasks.seq2seq.evaluate import evaluate_seq2seq, fit_linear, holdout_forecasts
from lstmops.tasks.seq2seq.train import train_seq2seq

SEASONAL_RATIO = 0.9  # strongest seasonal naive / persistence, train part MAE: below this a series is seasonal
NAIVE, LINEAR = "naive", "linear"  # the two bars every series is compared with


def csvs_in(folders: Sequence[Path]) -> list[Path]:
    """Every *.csv directly in each folder, sorted by name (a NAB group: <root>/data/<group>)."""
    found = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such folder")
        csvs = sorted(folder.glob("*.csv"))
        if not csvs:
            raise FileNotFoundError(f"{folder}: holds no .csv file")
        found += csvs
    return found


def seasons_in_samples(periods: Sequence[str], interval: pd.Timedelta) -> list[int]:
    """Each period (a pandas duration, e.g. 1D) in samples of `interval`; periods under 2 samples are dropped."""
    samples = sorted({round(pd.Timedelta(period) / interval) for period in periods})
    return [season for season in samples if season >= 2]


def benchmark_seq2seq_series(
    csvs: Sequence[Path], periods: Sequence[str], horizon: int, params: Params, out: Path, *, seeds: int = 1
) -> dict[str, Any]:
    """Run every CSV (see the module docstring), write the result JSON to `out` and return it."""
    started = time.perf_counter()
    out = Path(out)
    series = [_one_series(Path(csv), periods, horizon, params, seeds) for csv in csvs]
    ran = [row for row in series if "error" not in row]
    result = {
        "series": [{k: v for k, v in row.items() if not k.startswith("_")} for row in series],
        "pooled": _pooled(ran, horizon, params.registry.alpha) if ran else {},
        "settings": {
            "periods": list(periods),
            "horizon": horizon,
            "seeds": seeds,
            "seasonal_ratio": SEASONAL_RATIO,
            **params.models.seq2seq.model_dump(exclude={"seasons", "horizon"}),
            **params.train.model_dump(),
        },
        "seconds": time.perf_counter() - started,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def _one_series(csv: Path, periods: Sequence[str], horizon: int, params: Params, seeds: int) -> dict[str, Any]:
    row: dict[str, Any] = {"name": csv.stem, "csv": str(csv)}
    try:
        window = params.models.seq2seq.window
        prepared = prepare_sensor_csv(csv, params, window)
        interval = prepared.features["timestamp"].diff().median()
        seasons = seasons_in_samples(periods, interval)
        if not seasons:
            raise ValueError(f"no period of {list(periods)} spans two samples of {interval}")
        model = params.models.seq2seq.model_copy(update={"seasons": seasons, "horizon": horizon})
        series_params = params.model_copy(update={"models": params.models.model_copy(update={"seq2seq": model})})
        series_params = series_params.for_task("seq2seq")
        values = prepared.features["value"].to_numpy(dtype="float64")
        row |= {"rows": len(values), "interval": str(interval), "seasons": seasons}
        row |= _seasonality(values, prepared.split.train, seasons, horizon)
        row |= _seed_runs(prepared, series_params, seeds)
    except Exception as err:  # one bad series must not lose the others' hours of training
        row["error"] = f"{type(err).__name__}: {err}"
    return row


def _seasonality(values: np.ndarray, train: slice, seasons: Sequence[int], horizon: int) -> dict[str, Any]:
    """The train part's strongest seasonal naive MAE over persistence's at `horizon`, and the verdict."""
    part = values[train]
    fitting = [s for s in seasons if s + horizon < len(part)]
    if not fitting:
        return {"seasonal": False, "seasonal_ratio": None, "seasonality": "no season fits the train part"}
    origins = np.arange(max(fitting) - 1, len(part) - horizon)
    actual = part[origins[:, None] + np.arange(1, horizon + 1)]
    persistence_mae = np.abs(actual - persistence(part[origins], horizon)).mean()
    naive_mae = min(np.abs(actual - seasonal_naive_at(part, origins, s, horizon)).mean() for s in fitting)
    ratio = float(naive_mae / persistence_mae) if persistence_mae > 0 else float("inf")
    seasonal = ratio <= SEASONAL_RATIO
    words = "seasonal" if seasonal else f"no clear seasonality (seasonal naive {ratio:.2f} x persistence on train)"
    return {"seasonal": seasonal, "seasonal_ratio": ratio, "seasonality": words}


def _seed_runs(prepared, params: Params, seeds: int) -> dict[str, Any]:
    seasons = params.models.seq2seq.seasons
    runs, model_losses = [], []
    for offset in range(seeds):
        seeded = params.model_copy(
            update={"train": params.train.model_copy(update={"seed": params.train.seed + offset})}
        )
        seed_started = time.perf_counter()
        trained = train_seq2seq(prepared, seeded)
        train_seconds = time.perf_counter() - seed_started
        evaluation = evaluate_seq2seq(trained, prepared, seeded, gate=True)
        losses = _origin_losses(evaluation.tables["predictions.csv"])
        naive = _strongest_naive(losses)
        val = holdout_forecasts(
            trained, prepared.features, prepared.split.val, seasons, fit_linear(trained, prepared, seasons)
        )
        val_losses = {name: np.abs(val.actual - forecast).mean() for name, forecast in val.forecasters.items()}
        val_naive = min((n for n in val_losses if n.startswith(("_seasonal_", "_persistence"))), key=val_losses.get)
        model_losses.append(losses["forecast"])
        runs.append(
            {
                "seed": seeded.train.seed,
                "mae": float(losses["forecast"].mean()),
                "strongest_naive": naive,
                f"rel_mae_{NAIVE}": _ratio(losses["forecast"], losses[naive]),
                f"rel_mae_{LINEAR}": _ratio(losses["forecast"], losses["linear"]),
                f"dm_p_{NAIVE}": diebold_mariano(losses["forecast"], losses[naive], trained.horizon).p_value,
                f"dm_p_{LINEAR}": diebold_mariano(losses["forecast"], losses["linear"], trained.horizon).p_value,
                f"val_rel_mae_{NAIVE}": float(val_losses[""] / val_losses[val_naive]),
                f"val_rel_mae_{LINEAR}": float(val_losses[""] / val_losses["_linear"]),
                "normalise": trained.normalise,
                "epochs": len(trained.history["loss"]),
                "train_seconds": train_seconds,
            }
        )
    mean_loss = np.mean(model_losses, axis=0)  # the seeds' mean loss per origin
    naive = runs[0]["strongest_naive"]  # baselines do not depend on the seed
    tests = {
        NAIVE: diebold_mariano(mean_loss, losses[naive], trained.horizon, params.registry.alpha),
        LINEAR: diebold_mariano(mean_loss, losses["linear"], trained.horizon, params.registry.alpha),
    }
    row: dict[str, Any] = {
        "strongest_naive": naive,
        "mae_strongest_naive": float(losses[naive].mean()),
        "mae_linear": float(losses["linear"].mean()),
        "n_origins": len(mean_loss),
        "train_seconds": sum(run["train_seconds"] for run in runs),
        "runs": runs,
    }
    for bar in (NAIVE, LINEAR):
        row[f"rel_mae_{bar}"] = _spread([run[f"rel_mae_{bar}"] for run in runs])
        row[f"val_rel_mae_{bar}"] = _spread([run[f"val_rel_mae_{bar}"] for run in runs])
        row[f"dm_{bar}"] = {
            "p": tests[bar].p_value,
            "effect": tests[bar].effect,
            "significant_win": tests[bar].significant(higher_is_better=False),
            "seed_p": _spread([run[f"dm_p_{bar}"] for run in runs]),
        }
    baseline = {NAIVE: losses[naive], LINEAR: losses["linear"]}
    row["_scaled_differences"] = {bar: (mean_loss - baseline[bar]) / baseline[bar].mean() for bar in (NAIVE, LINEAR)}
    return row


def _origin_losses(predictions: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per origin, in origin order: the MAE over the horizon of the model ('forecast') and each baseline."""
    columns = [c for c in predictions.columns if c not in ("origin", "step", "timestamp", "actual")]
    errors = predictions[columns].sub(predictions["actual"], axis=0).abs()
    per_origin = errors.groupby(predictions["origin"], sort=True).mean()
    return {name: per_origin[name].to_numpy() for name in columns}


def _strongest_naive(losses: dict[str, np.ndarray]) -> str:
    naive = [name for name in losses if name.startswith("seasonal_") or name == "persistence"]
    return min(naive, key=lambda name: losses[name].mean())


def _ratio(model: np.ndarray, baseline: np.ndarray) -> float:
    return float(model.mean() / baseline.mean()) if baseline.mean() > 0 else float("nan")


def _spread(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values)}


def _pooled(rows: list[dict[str, Any]], horizon: int, alpha: float) -> dict[str, Any]:
    pooled: dict[str, Any] = {"series": len(rows), "seasonal_series": sum(bool(row["seasonal"]) for row in rows)}
    for bar in (NAIVE, LINEAR):
        ratios = [row[f"rel_mae_{bar}"]["mean"] for row in rows]
        differences = np.concatenate([row["_scaled_differences"][bar] for row in rows])
        test = diebold_mariano(differences, np.zeros_like(differences), horizon, alpha)
        pooled[f"rel_mae_{bar}_geomean"] = math.exp(statistics.fmean(math.log(r) for r in ratios))
        pooled[f"dm_{bar}"] = {"p": test.p_value, "significant_win": test.significant(higher_is_better=False)}
    return pooled


def format_table(result: dict[str, Any]) -> str:
    """One line per series and a pooled line: ratios to the strongest naive and to linear, DM p, seasonality."""
    lines = [
        f"{'series':42s} {'vs naive (min..max)':>22s} {'DM p':>8s} {'vs linear (min..max)':>22s} {'DM p':>8s} "
        f"{'val naive':>9s} {'val lin':>8s} {'train s':>8s}  seasonality"
    ]
    for row in result["series"]:
        if "error" in row:
            lines.append(f"{row['name']:42s} error: {row['error']}")
            continue
        cells = []
        for bar in (NAIVE, LINEAR):
            spread = row[f"rel_mae_{bar}"]
            cells.append(f"{spread['mean']:.3f} ({spread['min']:.3f}..{spread['max']:.3f})")
            cells.append(f"{row[f'dm_{bar}']['p']:.2g}")
        lines.append(
            f"{row['name'][:42]:42s} {cells[0]:>22s} {cells[1]:>8s} {cells[2]:>22s} {cells[3]:>8s} "
            f"{row[f'val_rel_mae_{NAIVE}']['mean']:9.3f} {row[f'val_rel_mae_{LINEAR}']['mean']:8.3f} "
            f"{row['train_seconds']:8.0f}  {row['seasonality']} ({row['strongest_naive']})"
        )
    pooled = result["pooled"]
    if pooled:
        lines.append(
            f"{'pooled (geometric mean; DM on scaled losses)':42s} {pooled[f'rel_mae_{NAIVE}_geomean']:>22.3f} "
            f"{pooled[f'dm_{NAIVE}']['p']:>8.2g} {pooled[f'rel_mae_{LINEAR}_geomean']:>22.3f} "
            f"{pooled[f'dm_{LINEAR}']['p']:>8.2g}"
        )
    return "\n".join(lines)
