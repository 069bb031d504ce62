"""Errors a user can act on: one red line and a non-zero exit, no traceback unless `lstmops --debug`
(or LSTMOPS_DEBUG=1). Any other exception is a bug and keeps its traceback.

`ErrorsAsMessages` is the CLI's command group: every command's known errors end here, so a command
needs no handler of its own (the registry commands keep theirs for the wording of a missing model).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from typer.core import TyperGroup

from lstmops.common.masking import masked

DEBUG_VARIABLE = "LSTMOPS_DEBUG"

# (module, class, prefix): matched only when the module is loaded (an error of it cannot occur otherwise),
# so reading this table imports nothing heavy. Subclasses first: HoldoutOverlapError is a RegistryError.
KNOWN = (
    ("lstmops.data.ingest", "BatchRejected", "REJECTED"),
    ("lstmops.registry.rule", "HoldoutOverlapError", "NOT GATED"),
    ("lstmops.data.prices", "IngestError", "ERROR"),
    ("lstmops.registry.rule", "RegistryError", "ERROR"),
    ("lstmops.experiment.preflight", "TrackingStoreError", "ERROR"),
    ("lstmops.experiment.preflight", "NotEnoughRows", "ERROR"),
    ("lstmops.experiment.runner", "ModelNotLogged", "ERROR"),
    ("lstmops.experiment.isolated", "TrainingTimedOut", "ERROR"),
    ("lstmops.tracking.store", "SharedStoreRequired", "ERROR"),
    ("lstmops.benchmarks.nab_speed", "NabSpeedError", "ERROR"),
    ("builtins", "FileNotFoundError", "ERROR"),
    ("builtins", "ValueError", "ERROR"),  # config errors, unknown tasks, bad arguments
)


_debug_option = False  # `lstmops --debug`, set by the CLI's callback at every invocation


def debugging() -> bool:
    return _debug_option or os.environ.get(DEBUG_VARIABLE, "").lower() not in ("", "0", "false", "no")


def set_debug(on: bool) -> None:
    global _debug_option
    _debug_option = on


def message(err: BaseException) -> str | None:
    """The one line shown for a known error; None for anything else."""
    for module, name, prefix in KNOWN:
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(err, cls):
            return f"{prefix}: {err}"
    backend = os.environ.get("KERAS_BACKEND", "")
    if isinstance(err, ModuleNotFoundError) and err.name == backend:
        return (
            f"ERROR: KERAS_BACKEND={backend} but {backend} is not installed here: install it "
            f"(pip install 'lstmops[{backend}]' for torch) or unset KERAS_BACKEND to use the default"
        )
    mlflow_error = getattr(sys.modules.get("mlflow.exceptions"), "MlflowException", None)
    if mlflow_error is not None and isinstance(err, mlflow_error):
        return f"ERROR: MLflow: {err.message}"
    return None


def shown(err: BaseException) -> bool:
    """Print a known error's one line (red, on stderr); False for a bug, or with --debug: raise it then."""
    text = message(err)
    if text is None or debugging():
        return False
    typer.secho(masked(text), fg=typer.colors.RED, err=True)  # MLflow quotes request URLs, credentials and all
    return True


@contextmanager
def one_line_errors(code: int = 1) -> Iterator[None]:
    """The CLI's error path for scripts (`python flows/retrain.py`): a known error is one red line
    and exit `code`; a bug keeps its traceback."""
    try:
        yield
    except Exception as err:
        if not shown(err):
            raise
        raise SystemExit(code) from None


class ErrorsAsMessages(TyperGroup):
    """A command group whose commands' known errors become one red line (a traceback with --debug)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Exception as err:
            if not shown(err):
                raise
            raise typer.Exit(1) from None
