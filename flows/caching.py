"""Cache keys of the cached flow tasks: the data fingerprint + the params that shape the output + the code.

The validation gate and feature preparation are cached on the raw snapshot's sha256. The snapshot
step itself is never cached: it is how the fingerprint is learnt (for yahoo it is the download; for
demo/csv it is cheap, and content-addressed snapshots write nothing when unchanged). Training is not
cached either: every retrain is a fresh MLflow run that the registry gate judges.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from prefect.context import TaskRunContext


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _code_version(*modules: ModuleType) -> str:
    """A change to the code that computes an output invalidates its cached results."""
    return _digest(*(inspect.getsource(module) for module in modules))


def validation_cache_key(context: TaskRunContext, inputs: dict[str, Any]) -> str:
    """Same snapshots (by sha256), same rules, same code, same data root -> same validated data."""
    from lstmops.data import ingest, kinds, sensors, validation

    results, params = inputs["results"], inputs["params"]
    settings = kinds.data_kind(results[0].kind).validation_settings(params) if results else {}
    return _digest(
        "validate",
        _code_version(ingest, validation, sensors, kinds.base, kinds.prices, kinds.sensors),
        [result.identity() for result in results],
        settings,
        str(Path(params.data.root).resolve()),
    )


def prepare_cache_key(context: TaskRunContext, inputs: dict[str, Any]) -> str:
    """Same validated data (raw sha256 + validation settings) and same `windows` params -> same features."""
    from lstmops.data import features, kinds, prepare, scaling, windows

    result, params = inputs["result"], inputs["params"]
    return _digest(
        "prepare",
        _code_version(prepare, features, scaling, windows, kinds.base, kinds.prices, kinds.sensors),
        result.identity(),
        kinds.data_kind(result.kind).validation_settings(params),
        params.windows.model_dump(mode="json"),
        str(Path(params.data.root).resolve()),
    )
