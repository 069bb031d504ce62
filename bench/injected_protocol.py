"""How the injected-anomaly evaluation's verdict depends on its protocol: one registered autoencoder
re-evaluated, as the registry gate does, on its series' test part under a grid of `copies` and
`magnitude` (the rest of the protocol from params.yaml), with the gate's paired test against the
rolling z-score for each.

    python bench/injected_protocol.py --model models:/autoencoder-demo__machine_a/1 \
        --copies 5,10,20 --magnitudes 1.0,1.4,2.0 --out injected-protocol.json

Run it in the project folder whose store holds the model (MLFLOW_TRACKING_URI, else ./mlruns) and
whose data/features hold the series (params.yaml's sensors.source). Output: per protocol F1 of both
detectors, their pooled tp/fp/fn, per-kind recall, the bootstrap's p-value and interval, seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a models:/NAME/VERSION URI")
    parser.add_argument("--copies", default="5,10,20")
    parser.add_argument("--magnitudes", default="1.0,1.4,2.0")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from lstmops.config import load_params
    from lstmops.data import prepare
    from lstmops.evaluate.significance import compare_units
    from lstmops.tasks.autoencoder.evaluate import evaluate_autoencoder
    from lstmops.tracking import store
    from lstmops.tracking.pyfunc import load_trained

    store.configure_tracking()
    base = load_params(args.params)
    trained = load_trained(args.model)
    name = args.model.removeprefix("models:/").split("/")[0]
    [prepared] = [
        p
        for p in prepare.prepare_all(base, "sensors", base.sensors.source)
        if name.endswith(p.series.replace("/", "__"))
    ]
    results = []
    for copies in (int(c) for c in args.copies.split(",")):
        for magnitude in (float(m) for m in args.magnitudes.split(",")):
            prefix = "models.autoencoder.evaluation.injected."
            params = load_params(args.params, {f"{prefix}copies": copies, f"{prefix}magnitude": magnitude})
            started = time.perf_counter()
            evaluation = evaluate_autoencoder(trained, prepared, params, gate=True)
            seconds = time.perf_counter() - started
            test = compare_units(
                evaluation.units, evaluation.units, horizon=evaluation.horizon, alpha=0.05, baseline=True
            )
            metrics = evaluation.metrics
            row = {
                "copies": copies,
                "magnitude": magnitude,
                "judged_on": evaluation.tags["evaluation.judged_on"],
                "f1": metrics["f1_injected"],
                "f1_zscore": metrics["f1_injected_zscore"],
                **{f"{c}{s}": int(metrics[f"{c}_injected{s}"]) for c in ("tp", "fp", "fn") for s in ("", "_zscore")},
                "recall_by_kind": {
                    k.removeprefix("recall_injected_"): v
                    for k, v in metrics.items()
                    if k.startswith("recall_injected_")
                },
                "p_value": test.p_value,
                "ci": [test.ci_low, test.ci_high],
                "significant": test.significant(True),
                "seconds": round(seconds, 2),
            }
            results.append(row)
            print(
                f"copies {copies:3d} magnitude {magnitude:.1f}: F1 {row['f1']:.3f} vs z-score {row['f1_zscore']:.3f}  "
                f"p={test.p_value:.3g}  CI [{test.ci_low:.3f}, {test.ci_high:.3f}]  {seconds:.1f} s",
                flush=True,
            )
    if args.out:
        args.out.write_text(
            json.dumps({"model": args.model, "series": prepared.series, "results": results}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
