"""The product's autoencoder with each anomaly score (`models.autoencoder.score`) on the same trainings
(`lstmops benchmark autoencoder-scores`): per labelled series and seed the LSTM-AE is trained once through
the product's path (validation, chronological split, train-only scaling, early stopping on the val
part), then each score gets its threshold fitted on the training rows and is scored on the test part
as the registry gate scores it, beside the rolling z-score.

Threshold rules (`parse_rules`, e.g. "mean_std:4,mean_std:6,max,percentile:99.9") are compared on the
same trainings: every score under every rule (named "<score> <rule>"), and the rolling z-score under
each rule too, as the registry gate thresholds its baseline by the model's rule; without rules every
score uses params.yaml's rule. The product's split scores the last 15 %, which on NAB's artificial
series holds no labelled window; `windows.split.train=0.5`, `windows.split.test=0.35` train on the
first half and score the labelled part.

Series come from a folder in NAB's layout (data/<group>/*.csv, labels/combined_windows.json) and,
optionally, the product's demo sensors (params.yaml's sensors.demo). A series that fails the
product's validation is left out, as the product would quarantine it, with why.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lstmops.benchmarks import nab, nab_product
from lstmops.benchmarks.nab_product import COUNTS, Rule
from lstmops.config import Params
from lstmops.data.kinds import data_kind
from lstmops.data.prepare import PreparedSeries, prepare_frame
from lstmops.data.sensors import check_nab_root
from lstmops.tasks.autoencoder.evaluate import evaluate_autoencoder
from lstmops.tasks.autoencoder.train import anomaly_scores, threshold_from_scores, threshold_options, train_autoencoder

SCORES = ("reconstruction", "seasonal")
RULE_OPTION = {"mean_std": "k", "percentile": "q"}  # the one option each rule takes; max takes none


def parse_rule(text: str) -> Rule:
    """'mean_std:6' -> ('mean_std', {'k': 6.0}); 'max' -> ('max', {})."""
    rule, _, value = text.partition(":")
    try:
        if rule not in (*RULE_OPTION, "max") or bool(value) != (rule in RULE_OPTION):
            raise ValueError
        return rule, ({RULE_OPTION[rule]: float(value)} if value else {})
    except ValueError:
        raise ValueError(f"--rules: {text!r} is not one of mean_std:K, percentile:Q, max") from None


def parse_rules(text: str) -> dict[str, Rule]:
    """Comma-separated rules by their text, e.g. 'mean_std:4,max'; none for an empty text."""
    return {rule: parse_rule(rule) for rule in text.split(",") if rule}


def study_params(params: Params) -> Params:
    """`params` as the autoencoder trains with them, the seasonal score on (both scores then come from one
    training: the seasonal setting finds the period) and training quiet."""
    params = params.for_task("autoencoder")
    config = params.models.autoencoder.model_copy(update={"score": "seasonal"})
    return params.model_copy(
        update={
            "models": params.models.model_copy(update={"autoencoder": config}),
            "train": params.train.model_copy(update={"verbose": 0}),
        }
    )


def nab_series(
    root: Path, group: str, params: Params, rejected: dict[str, str], progress: Callable[[str], None] = print
) -> list[PreparedSeries]:
    """The group's series prepared as the product prepares them (`benchmark nab --detector product`'s way);
    one that fails the product's validation is left out, with its message in `rejected`."""
    prepared = []
    for key in nab.group_series(root, group):
        try:
            prepared.append(nab_product.prepared_series(nab.labelled(root, key), key, params))
        except nab_product.ProductInputError as err:
            rejected[key] = str(err)
            progress(f"left out: {err}")
    return prepared


def demo_series(params: Params) -> list[PreparedSeries]:
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
    """The trained model with `score`'s period and `rule`'s threshold fitted on the training rows' scores
    (never below the floor it was trained with, as the product's)."""
    return dataclasses.replace(
        trained,
        period=trained.period if score == "seasonal" else None,
        threshold=threshold_from_scores(train_scores[score], rule, options, trained.threshold_floor),
        threshold_rule=rule,
        threshold_options=options,
    )


def zscore_name(variant: str, score: str) -> str:
    """'seasonal mean_std:6' -> 'zscore mean_std:6'; 'seasonal' (params.yaml's rule) -> 'zscore'."""
    return "zscore" + variant.removeprefix(score)


def over_seeds(rows: list[dict], score: str) -> dict:
    """`score`'s counts per series as `benchmarks.nab` pools them: per seed, and their F1 spread."""
    counts = [{"seed": row["seed"], **{c: row[f"{score}_{c}"] for c in COUNTS}} for row in rows]
    return nab.over_seeds(counts)


def benchmark_autoencoder_scores(
    root: Path | None,
    groups: Sequence[str],
    params: Params,
    out: Path,
    *,
    seeds: int = 1,
    rules: str = "",
    demo: bool = False,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Score every series of `groups` under the NAB-layout `root` (and the demo sensors with `demo`) with
    each score under each of `rules` (module notes), once per seed (params.train.seed, +1, ...).

    Result (also written to `out` as JSON): {"groups": {group: {variant: {"f1": {mean, min, max over
    seeds}, "pooled": {...}, "runs": [{seed, series, tp, fp, fn, ...}]}}}, "series": [{group, series,
    seed, period, <variant>_tp/_fp/_fn, ..., seconds}], "rejected": {series: why}}; a run's counts
    pool its series', as `lstmops benchmark nab` does.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if groups and root is None:
        raise ValueError("--groups: name the NAB folder they are in with --root")
    if not groups and not demo:
        raise ValueError("no series: name NAB groups (--root, --groups), or --demo")
    params = study_params(params)
    config = params.models.autoencoder
    chosen = parse_rules(rules) or {"": (config.threshold_rule, threshold_options(config))}
    variants = {f"{score} {name}".strip(): (score, *rule) for score in SCORES for name, rule in chosen.items()}
    rejected: dict[str, str] = {}
    series = {group: nab_series(check_nab_root(root), group, params, rejected, progress) for group in groups}
    if demo:
        series["demo"] = demo_series(params)
    rows = []
    for seed in [params.train.seed + offset for offset in range(seeds)]:
        seeded = params.model_copy(update={"train": params.train.model_copy(update={"seed": seed})})
        for group, prepared_all in series.items():
            for prepared in prepared_all:
                started = time.perf_counter()
                trained = train_autoencoder(prepared, seeded)
                row = {"group": group, "series": prepared.series, "seed": seed, "period": trained.period}
                train_scores = training_scores(trained, prepared)
                for variant, (score, rule, options) in variants.items():
                    scored = with_score(trained, train_scores, score, rule, options)
                    evaluation = evaluate_autoencoder(scored, prepared, seeded, gate=True)
                    row.update({f"{variant}_{c}": int(evaluation.metrics[c]) for c in COUNTS})
                    # the gate's baseline thresholds the z-score by the model's rule: one column per rule;
                    # counts on the real labels (the gate may judge on injected anomalies where they are few)
                    zscore = zscore_name(variant, score)
                    row.update({f"{zscore}_{c}": int(evaluation.metrics[f"{c}_zscore"]) for c in COUNTS})
                row["seconds"] = round(time.perf_counter() - started, 1)
                rows.append(row)
                progress(json.dumps(row))
    names = (*variants, *dict.fromkeys(zscore_name(v, score) for v, (score, *_) in variants.items()))
    result = {
        "groups": {
            group: {name: over_seeds([r for r in rows if r["group"] == group], name) for name in names}
            for group in series
            if any(r["group"] == group for r in rows)  # a group whose every series was left out has no scores
        },
        "series": rows,
        "rejected": rejected,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    return result


def format_table(result: dict[str, Any]) -> str:
    """Per group and score: F1 mean (min-max) over seeds and each seed's tp/fp/fn; the series left out."""
    lines = [f"{'group':24s} {'score':26s} {'F1 mean':>7s} {'(min-max)':>13s}  tp/fp/fn per seed"]
    for group, by_score in result["groups"].items():
        for score, summary in by_score.items():
            f1 = summary["f1"]
            counts = " ".join(f"{run['tp']}/{run['fp']}/{run['fn']}" for run in summary["runs"])
            lines.append(f"{group:24s} {score:26s} {f1['mean']:7.3f} ({f1['min']:.3f}-{f1['max']:.3f})  {counts}")
    lines += [f"left out: {series}: {why}" for series, why in result["rejected"].items()]
    return "\n".join(lines)
