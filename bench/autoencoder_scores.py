"""The product's autoencoder with each anomaly score (`models.autoencoder.score`), on the same
trainings: per labelled series and seed the LSTM-AE is trained once through the product's path
(validation, chronological split, train-only scaling, early stopping on the val part), then each
score gets its threshold fitted on the training rows and is scored on the test part as the
registry gate scores it, beside the rolling z-score.

    python bench/autoencoder_scores.py --root ../shared/data/nab \
        --groups artificialWithAnomaly,artificialNoAnomaly [--demo] --seeds 42,43,44 --out scores.json

--rules compares threshold rules on the same trainings: `--rules mean_std:4,mean_std:6,max,percentile:99.9`
reports every score under every rule (named `score rule`), and the rolling z-score under each rule too, as
the registry gate thresholds its baseline by the model's rule; without it every score uses params.yaml's rule.
--set overrides params.yaml (dotted keys). The product's split scores the last 15 %, which on NAB's
artificial series holds no labelled window; `--set windows.split.train=0.5 --set
windows.split.test=0.35` trains on the first half and scores the labelled part.
--root is any folder in NAB's layout (data/<group>/*.csv, labels/combined_windows.json); --demo adds
the product's demo sensors (params.yaml's sensors.demo). Output: per score and group, F1 of the
tp/fp/fn pooled over the group's series, mean/min/max over seeds with each seed's counts, and the
rolling z-score's the same way; per training its series, seed, period found and seconds; the series
that failed the product's validation (left out, as the product would quarantine them) with why.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from lstmops.benchmarks import nab
from lstmops.benchmarks.inputs import BenchmarkInputError, prepare_sensor_csv
from lstmops.config import load_params, parse_assignments
from lstmops.data.kinds import data_kind
from lstmops.data.prepare import PreparedSeries, prepare_frame
from lstmops.data.sensors import NAB_LABELS_FILE, read_nab
from lstmops.evaluate import anomalies
from lstmops.tasks.autoencoder.evaluate import evaluate_autoencoder
from lstmops.tasks.autoencoder.train import anomaly_scores, threshold_options, train_autoencoder

SCORES = ("reconstruction", "seasonal")
RULE_OPTION = {"mean_std": "k", "percentile": "q"}  # the one option each rule takes; max takes none


def parse_rule(text: str) -> tuple[str, dict[str, float]]:
    """'mean_std:6' -> ('mean_std', {'k': 6.0}); 'max' -> ('max', {})."""
    rule, _, value = text.partition(":")
    if rule not in (*RULE_OPTION, "max") or bool(value) != (rule in RULE_OPTION):
        raise SystemExit(f"--rules: {text!r} is not one of mean_std:K, percentile:Q, max")
    return rule, ({RULE_OPTION[rule]: float(value)} if value else {})


def nab_series(root: Path, group: str, params, rejected: dict[str, str]) -> list[PreparedSeries]:
    """The group's series prepared as the product prepares them; one that fails the product's
    validation is left out, as the product would quarantine it, with its message in `rejected`."""
    prepared = []
    for csv in sorted((root / "data" / group).glob("*.csv")):
        windows = read_nab(root, f"{group}/{csv.stem}").windows
        if windows is None:
            raise SystemExit(f"{root / NAB_LABELS_FILE}: no entry for {group}/{csv.name}")
        try:
            series = prepare_sensor_csv(csv, params, params.windows.sensors.window)
        except BenchmarkInputError as err:
            rejected[f"{group}/{csv.stem}"] = str(err)
            print(f"left out: {err}", flush=True)
            continue
        labels = [[str(start), str(end)] for start, end in windows]
        prepared.append(
            dataclasses.replace(series, series=f"{group}/{csv.stem}", card={**series.card, "labels": labels})
        )
    return prepared


def demo_series(params) -> list[PreparedSeries]:
    """The product's demo sensors as `lstmops ingest sensors --source demo` fetches them, prepared."""
    prepared = []
    for fetched in data_kind("sensors").fetch(params, source="demo"):
        card = {"series": fetched.series, "kind": "sensors", "source": "demo", "labels": fetched.meta["labels"]}
        prepared.append(prepare_frame(fetched.frame, card, params, Path(".")))
    return prepared


def training_scores(trained, prepared: PreparedSeries) -> dict[str, np.ndarray]:
    """Each score of the training rows, which every threshold rule is fitted on."""
    train_features = prepared.features.iloc[prepared.split.train]
    return {
        score: anomaly_scores(
            trained.model,
            trained.scaler,
            trained.window,
            trained.smoothing_window,
            trained.period if score == "seasonal" else None,
            train_features,
        )
        for score in SCORES
    }


def with_score(trained, train_scores: dict[str, np.ndarray], score: str, rule: str, options: dict[str, float]):
    """The trained model with `score`'s period and `rule`'s threshold fitted on the training rows' scores."""
    return dataclasses.replace(
        trained,
        period=trained.period if score == "seasonal" else None,
        threshold=anomalies.fit_threshold(train_scores[score], rule, **options),
        threshold_rule=rule,
        threshold_options=options,
    )


def zscore_name(variant: str, score: str) -> str:
    """'seasonal mean_std:6' -> 'zscore mean_std:6'; 'seasonal' (params.yaml's rule) -> 'zscore'."""
    return "zscore" + variant.removeprefix(score)


def over_seeds(rows: list[dict], score: str) -> dict:
    """`score`'s counts per series as `benchmarks.nab` pools them: per seed, and their F1 spread."""
    counts = [{"seed": row["seed"], **{c: row[f"{score}_{c}"] for c in ("tp", "fp", "fn")}} for row in rows]
    return nab.over_seeds(counts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path)
    parser.add_argument("--groups", default="")
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--rules", default="", help="threshold rules to compare, e.g. mean_std:4,max")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a params override, e.g. windows.split.train=0.5",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    # both scores come from one training: the seasonal setting finds the period, quiet training
    forced = {"models.autoencoder.score": "seasonal", "train.verbose": 0}
    params = load_params(args.params, {**parse_assignments(args.set), **forced}).for_task("autoencoder")
    config = params.models.autoencoder
    rules = {text: parse_rule(text) for text in args.rules.split(",") if text} or {
        "": (config.threshold_rule, threshold_options(config))
    }
    variants = {f"{score} {name}".strip(): (score, *rule) for score in SCORES for name, rule in rules.items()}
    rejected: dict[str, str] = {}
    groups = {group: nab_series(args.root, group, params, rejected) for group in args.groups.split(",") if group}
    if args.demo:
        groups["demo"] = demo_series(params)
    rows = []
    for seed in [int(seed) for seed in args.seeds.split(",")]:
        seeded = params.model_copy(update={"train": params.train.model_copy(update={"seed": seed})})
        for group, series in groups.items():
            for prepared in series:
                started = time.perf_counter()
                trained = train_autoencoder(prepared, seeded)
                row = {"group": group, "series": prepared.series, "seed": seed, "period": trained.period}
                train_scores = training_scores(trained, prepared)
                for variant, (score, rule, options) in variants.items():
                    scored = with_score(trained, train_scores, score, rule, options)
                    evaluation = evaluate_autoencoder(scored, prepared, seeded, gate=True)
                    row.update({f"{variant}_{c}": int(evaluation.metrics[c]) for c in ("tp", "fp", "fn")})
                    # the gate's baseline thresholds the z-score by the model's rule: one column per rule;
                    # counts on the real labels (the gate may judge on injected anomalies where they are few)
                    zscore = zscore_name(variant, score)
                    row.update({f"{zscore}_{c}": int(evaluation.metrics[f"{c}_zscore"]) for c in ("tp", "fp", "fn")})
                row["seconds"] = round(time.perf_counter() - started, 1)
                rows.append(row)
                print(json.dumps(row), flush=True)
    result = {
        group: {
            name: over_seeds([r for r in rows if r["group"] == group], name)
            for name in (*variants, *dict.fromkeys(zscore_name(v, score) for v, (score, *_) in variants.items()))
        }
        for group in groups
    }
    args.out.write_text(json.dumps({"groups": result, "series": rows, "rejected": rejected}, indent=1) + "\n")
    for group, by_score in result.items():
        for score, summary in by_score.items():
            f1 = summary["f1"]
            counts = " ".join(f"{run['tp']}/{run['fp']}/{run['fn']}" for run in summary["runs"])
            print(
                f"{group:24s} {score:26s} F1 {f1['mean']:.3f} ({f1['min']:.3f}-{f1['max']:.3f})  tp/fp/fn per seed {counts}"
            )


if __name__ == "__main__":
    main()
