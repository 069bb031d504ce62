"""Check one registered model's @champion on the validated rows that arrived after its training data.

The champion's lineage says where its training data ended (`data.train_end`, the last row before its
hold-out) and, for runs that record it, where the data it was trained and gated on ended (`data.end`).
The validated series of the same kind, source and series is scored from the training end on, with the
task's gate evaluator (`experiment.gate_evaluator`: the model is loaded through `serving`, so its file
hashes are checked first, and the baseline is the one the gate compares with). The evaluator only makes
forecasts whose targets are in the data, so targets that have not arrived yet never count. Its
per-origin losses split in two: up to `data.end` the champion's hold-out (the reference: its error
ratio and spread), after it the new targets the verdict is about. Without `data.end` every scored
origin is new and the hold-out ratio comes from the training run's metrics. What the model sees (its
inputs; a seq2seq's seasonal residuals) on the new rows is compared with its training rows
(`monitoring.drift`): evidence that turns a healthy verdict into a warning, never into a decay.

An anomaly detector (the autoencoder) is loaded the way the gate evaluator loads it (`serving`'s
checked files: its own scaler, window and threshold) and scores the validated series around its
hold-out; `monitoring.alerts` compares the new rows' alerts and scores with the hold-out's (or, where
`data.end` is not recorded or the hold-out is too short, the validation part's). Only final scores
count: a score reads rows after its own, so the newest rows wait for those, as forecasts wait for
their targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from lstmops.config import Params
from lstmops.data.ingest import load_validated, validated_dir
from lstmops.data.kinds import data_kind
from lstmops.data.snapshots import series_slug
from lstmops.data.windows import SplitIndex
from lstmops.monitoring import alerts
from lstmops.monitoring.statistics import HEALTHY, INSUFFICIENT, WARNING, Verdict, decide
from lstmops.registry.audit import alias_version, aliases_of
from lstmops.registry.report import no_such_model
from lstmops.registry.rule import CHAMPION
from lstmops.registry.versions import TRAIN_END_TAG, version_uri
from lstmops.tracking.pyfunc import CorruptModelError
from lstmops.tracking.store import filter_literal

DATA_END_TAG = "data.end"  # the newest row of the data a run trained and was evaluated on
SKIPPED, ERROR = "skipped", "error"
# Tasks whose champions flag anomalies (scores over a threshold) rather than forecast: judged by `alerts`.
ANOMALY_DETECTORS = ("autoencoder",)


@dataclass
class CheckResult:
    """One model's check: a verdict status, or `skipped` / `error` with the reason as `detail`."""

    name: str
    status: str
    version: str | None = None
    n: int = 0
    evidence: dict[str, Any] = field(default_factory=dict)
    detail: str = ""
    kind: str = ""
    series: str = ""
    data_kind: str = ""
    data_sha256: str = ""
    new_rows: pd.DataFrame | None = field(default=None, repr=False)  # the validated rows after the training data
    # Per scored origin (by time): loss, loss_baseline and part ("hold-out" or "new"): what the report draws.
    losses: pd.DataFrame | None = field(default=None, repr=False)
    # The input that drifted most, (name, training rows' values, new rows' values): the report's histogram.
    drift_sample: tuple[str, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    # An anomaly detector's rows by time: score, alert (above its threshold) and part ("reference" or
    # "new"): the report's score histograms and alerts over time.
    scores: pd.DataFrame | None = field(default=None, repr=False)

    def line(self) -> str:
        """`NAME vN: status — evidence` (no version where none was checked)."""
        label = f"{self.name} v{self.version}" if self.version else self.name
        return f"{label}: {self.status} — {self.detail}"

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "version": self.version,
            "n": self.n,
            "evidence": {**self.evidence, **({"reason": self.detail} if self.status in (SKIPPED, ERROR) else {})},
        }


def champion_names() -> list[str]:
    """Every registered model that has a @champion, by name."""
    names = [model.name for model in MlflowClient().search_registered_models()]
    return sorted(name for name in names if CHAMPION in aliases_of(name))


def check_model(name: str, params: Params) -> CheckResult:
    """The verdict on `name`'s @champion (see the module docstring); bad input is `skipped` or raises."""
    from lstmops.experiment.runner import gate_evaluator

    client = MlflowClient()
    if not client.search_registered_models(filter_string=f"name = {filter_literal(name)}"):
        raise LookupError(no_such_model(name))
    model = client.get_registered_model(name)
    version = {alias: str(v) for alias, v in model.aliases.items()}.get(CHAMPION)
    if version is None:
        return CheckResult(name, SKIPPED, detail=f"no @{CHAMPION} to check")
    tags = client.get_model_version(name, version).tags
    kind, series = tags.get("kind", model.tags.get("kind", "")), tags.get("series", model.tags.get("series", ""))
    base = CheckResult(name, SKIPPED, version, kind=kind, series=series, data_kind=model.tags.get("data.kind", ""))
    train_end = tags.get(TRAIN_END_TAG)
    if not train_end:
        raise ValueError(f"v{version} has no {TRAIN_END_TAG} tag, so the rows it has not seen are unknown")
    run = client.get_run(client.get_model_version(name, version).run_id)
    data_end = run.data.tags.get(DATA_END_TAG)

    path = validated_dir(params.data.root, model.tags["data.kind"], model.tags["data.source"])
    path = path / f"{series_slug(series)}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"no validated data for {series} at {path}; run `lstmops ingest` first")
    frame, card = load_validated(path)
    if kind in ANOMALY_DETECTORS:
        base = replace(base, data_sha256=card.get("sha256", ""))
        return _check_detector(base, version_uri(name, version), frame, train_end, data_end, params)
    from lstmops.data.prepare import prepare_frame

    prepared = prepare_frame(frame, card, params, path.parent)
    times = pd.to_datetime(prepared.features[data_kind(prepared.kind).time_column])
    start = int((times <= pd.Timestamp(train_end)).sum())  # times are sorted
    newest_seen = pd.Timestamp(data_end) if data_end else pd.Timestamp(train_end)
    frame_times = pd.to_datetime(frame[data_kind(prepared.kind).time_column])
    base = replace(base, data_sha256=card.get("sha256", ""), new_rows=frame[frame_times > newest_seen])
    settings = params.monitoring
    if start >= len(times) - 1 or times.iloc[-1] <= newest_seen:
        verdict = Verdict(INSUFFICIENT, 0, {"needed": settings.min_points})
        return _result(base, verdict, f"no validated rows after {newest_seen.isoformat()}; ")

    train_stop = min(prepared.split.train.stop, start - 1)
    split = SplitIndex(slice(0, train_stop), slice(train_stop, start), slice(start, len(times)))
    evaluation = gate_evaluator(kind, replace(prepared, split=split), params)(version_uri(name, version))
    units = evaluation.units.sort_index()
    origins = pd.to_datetime(units.index)
    new = units[origins > newest_seen]
    holdout = None
    if data_end:
        seen = units[origins <= newest_seen]
        holdout = (seen["loss"].to_numpy(), seen["loss_baseline"].to_numpy())
    metrics = run.data.metrics
    model_error, baseline_error = metrics.get(evaluation.primary_metric), metrics.get(evaluation.baseline_metric)
    recorded = model_error / baseline_error if model_error is not None and baseline_error else np.nan
    verdict = decide(
        new["loss"].to_numpy(),
        new["loss_baseline"].to_numpy(),
        holdout_ratio=float(recorded),
        holdout=holdout,
        horizon=evaluation.horizon,
        alpha=settings.alpha,
        min_points=settings.min_points,
        cusum_k=settings.cusum_k,
        cusum_threshold=settings.cusum_threshold,
    )
    verdict, drift_sample = _with_input_drift(
        verdict, kind, prepared, params, times <= pd.Timestamp(train_end), times > newest_seen
    )
    verdict.evidence.update(
        {
            "baseline": evaluation.baseline_metric,
            "baseline_name": evaluation.baseline_name,
            "new_from": new.index[0].isoformat() if len(new) else None,
            "new_to": new.index[-1].isoformat() if len(new) else None,
        }
    )
    scored = units[["loss", "loss_baseline"]].assign(part=np.where(origins > newest_seen, "new", "hold-out"))
    losses = scored if holdout is not None else scored[scored["part"] == "new"]
    return replace(_result(base, verdict), losses=losses, drift_sample=drift_sample)


def _check_detector(
    base: CheckResult, uri: str, frame: pd.DataFrame, train_end: str, data_end: str | None, params: Params
) -> CheckResult:
    """An anomaly detector's verdict (module docstring): its alerts and scores on the new rows against the reference's."""
    from lstmops.tracking.pyfunc import load_trained

    settings = params.monitoring
    times = pd.to_datetime(frame[data_kind(base.data_kind).time_column])
    newest_seen = pd.Timestamp(data_end or train_end)
    base = replace(base, new_rows=frame[times > newest_seen])
    if not len(times) or times.iloc[-1] <= newest_seen:
        verdict = alerts.AlertVerdict(INSUFFICIENT, 0, {"needed": settings.min_points})
        return _result(base, verdict, f"no validated rows after {newest_seen.isoformat()}; ")
    trained = load_trained(uri)  # as the gate evaluator loads it: the file hashes are checked first
    split = params.windows.split
    gap = trained.window  # flagged rows closer than a window form one segment, as the detector's own
    span = trained.score_lookahead
    needed = alerts.needed_reference_rows(span, settings.min_points)
    # Score only what the reference and new rows read: from a few scoring contexts before the reference.
    first = alerts.split_parts(
        times,
        train_end,
        newest_seen,
        lookahead=0,
        needed=needed,
        validation_share=split.val / (split.train + split.val),
    ).reference.start
    start = max(0, first - 2 * trained.min_rows)
    points = trained.predict_raw(frame.iloc[start:].reset_index(drop=True))
    parts = alerts.split_parts(
        points["timestamp"],
        train_end,
        newest_seen,
        lookahead=trained.score_lookahead,
        needed=needed,
        validation_share=split.val / (split.train + split.val),
    )
    scores = points["score"].to_numpy(dtype=float)
    verdict = alerts.decide(
        scores[parts.reference],
        scores[parts.new],
        trained.threshold,
        gap=gap,
        span=span,
        alpha=settings.alpha,
        min_points=settings.min_points,
        cusum_k=settings.cusum_k,
        cusum_threshold=settings.cusum_threshold,
    )
    new_times, reference_times = points["timestamp"].iloc[parts.new], points["timestamp"].iloc[parts.reference]
    verdict.evidence.update(
        {
            "reference": parts.reference_kind,
            "reference_from": reference_times.iloc[0].isoformat() if len(reference_times) else None,
            "reference_to": reference_times.iloc[-1].isoformat() if len(reference_times) else None,
            "new_from": new_times.iloc[0].isoformat() if len(new_times) else None,
            "new_to": new_times.iloc[-1].isoformat() if len(new_times) else None,
            "not_final_rows": int(min(trained.score_lookahead, max(0, len(points) - parts.new.start))),
        }
    )
    if "threshold" not in verdict.evidence:
        verdict.evidence["threshold"] = float(trained.threshold)
    table = pd.concat(
        [
            points.iloc[parts.reference].assign(part="reference"),
            points.iloc[parts.new].assign(part="new"),
        ]
    )
    table = pd.DataFrame(
        {"score": table["score"].to_numpy(), "alert": table["is_anomaly"].to_numpy(), "part": table["part"].to_numpy()},
        index=pd.DatetimeIndex(table["timestamp"], name="timestamp"),
    )
    return replace(_result(base, verdict), scores=table)


def _with_input_drift(
    verdict: Verdict, kind: str, prepared, params: Params, reference, new
) -> tuple[Verdict, tuple[str, np.ndarray, np.ndarray] | None]:
    """The verdict with input-drift evidence; a healthy verdict becomes a warning when the inputs drifted
    (never decayed: a changed input matters only if the errors follow, which the tests above judge)."""
    from lstmops.monitoring import drift

    season = min(params.models.seq2seq.seasons) if kind == "seq2seq" else None
    inputs = drift.model_inputs(kind, prepared.features, prepared.columns, season)
    reference, new = np.asarray(reference), np.asarray(new)
    drifts, p = drift.input_drift(
        {name: inputs[name].to_numpy()[reference] for name in inputs},
        {name: inputs[name].to_numpy()[new] for name in inputs},
    )
    drifted = p is not None and p < params.monitoring.alpha
    sample = None
    if drifts:
        worst = min(drifts, key=lambda d: d.p).name
        values = inputs[worst].to_numpy()
        sample = (worst, values[reference][np.isfinite(values[reference])], values[new][np.isfinite(values[new])])
    evidence = {
        **verdict.evidence,
        "input_drift_p": p,
        "input_drift": drift.describe(drifts, p) or None,
        "input_drift_warning": bool(drifted and verdict.status == HEALTHY),
    }
    status = WARNING if evidence["input_drift_warning"] else verdict.status
    return Verdict(status, verdict.n, evidence), sample


def _result(base: CheckResult, verdict: Verdict, prefix: str = "") -> CheckResult:
    return replace(
        base, status=verdict.status, n=verdict.n, evidence=verdict.evidence, detail=prefix + verdict.describe()
    )


def check_models(names: list[str] | None, params: Params) -> list[CheckResult]:
    """`check_model` of each name (default: every model with a @champion); a model that cannot be
    checked is an `error` result with the reason in one line, and the others are still checked."""
    results = []
    for name in names if names else champion_names():
        try:
            results.append(check_model(name, params))
        except LookupError as err:
            results.append(CheckResult(name, ERROR, detail=_one_line(str(err))))
        except Exception as err:  # a champion that cannot be loaded or scored must not stop the others
            message = _one_line(err.message if isinstance(err, MlflowException) else str(err))
            known = isinstance(err, CorruptModelError | FileNotFoundError)  # their messages name the model or file
            detail = message if known else f"{type(err).__name__}: {message}"
            results.append(CheckResult(name, ERROR, _champion(name), detail=detail))
    return results


def _champion(name: str) -> str | None:
    try:
        return alias_version(name, CHAMPION)
    except MlflowException:
        return None


def _one_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0][:300] if lines else ""
