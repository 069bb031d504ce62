"""Run by tests/test_backends.py in a subprocess under another Keras backend (`KERAS_BACKEND`).

Keras picks its backend once per process, so the other backend's half of the cross-backend check
runs here. Given a JSON job (argv[1]) listing, per task, the params overrides, the validated demo
file, and the MLflow pyfunc the test process logged on its own backend, this:

1. loads that pyfunc and predicts the demo rows (a model trained on the test's backend, served here);
2. trains the same tiny model on this backend, saves it under `out/<task>/model` and predicts the
   demo rows with it (for the test process to load and score on its backend);
3. checks the backend half of the task contract here: the saved folder loads back and predicts the
   same, the model's input example predicts, and the gate-mode evaluation reports its metrics.

Writes `out/<task>/served.parquet`, `own.parquet`, `reloaded.parquet` and `out/report.json` (this
backend and, per task, what the contract's checks saw).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lstmops  # noqa: F401  (chooses the default backend before Keras is imported)


def main(job_file: str) -> None:
    import keras
    import mlflow

    from lstmops.config import load_params
    from lstmops.data import ingest, prepare
    from lstmops.tasks import get_task
    from lstmops.train.common import device_report

    job = json.loads(Path(job_file).read_text())
    out = Path(job["out"])
    contract = {}
    for name, spec in job["tasks"].items():
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        params = load_params(overrides=spec["overrides"])
        raw = ingest.load_validated(Path(spec["validated"]))[0]

        mlflow.pyfunc.load_model(spec["model_uri"]).predict(raw).to_parquet(folder / "served.parquet")

        task = get_task(name)
        prepared = prepare.prepare_series(Path(spec["validated"]), params)
        trained = task.train(prepared, params)
        trained.save(folder / "model")
        trained.predict_raw(raw).to_parquet(folder / "own.parquet")

        task.trained_class().load(folder / "model").predict_raw(raw).to_parquet(folder / "reloaded.parquet")
        evaluation = task.evaluate(trained, prepared, params, gate=True)
        contract[name] = {
            "input_example_rows": len(trained.predict_raw(trained.input_example())),
            "primary_metric": evaluation.primary_metric,
            "baseline_metric": evaluation.baseline_metric,
            "metrics": sorted(evaluation.metrics),
            "gate_figures": len(evaluation.figures),
        }
    report = {"backend": keras.backend.backend(), "device": device_report(), "tasks": contract}
    (out / "report.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
