"""The registry of model tasks: one line per task. The CLI's choices, the flows' "which models
for this data", the registry gate's evaluator, tracking and the contract tests derive from it.

A new task is a package here whose `__init__` defines `TASK` (see `contract.ModelTask`) and one
line below; a task with settings of its own also adds its params class to `lstmops.config.ModelParams`
(docs/extending.md lists every place).
"""

from __future__ import annotations

import importlib

from lstmops.tasks.contract import ModelTask

# name -> the package that defines TASK. Imported on use: the CLI lists names without loading any.
REGISTRY: dict[str, str] = {
    "forecaster": "lstmops.tasks.forecaster",
    "autoencoder": "lstmops.tasks.autoencoder",
    "seq2seq": "lstmops.tasks.seq2seq",
}


class UnknownTaskError(ValueError):
    pass


def task_names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def get_task(name: str) -> ModelTask:
    if name not in REGISTRY:
        raise UnknownTaskError(f"unknown model task {name!r}; expected one of {', '.join(REGISTRY)}")
    return importlib.import_module(REGISTRY[name]).TASK


def params_read(name: str) -> tuple[str, ...]:
    """The params.yaml sections task `name` trains and evaluates with: its data kind's windows (the split and
    the features), the shared `train` section and its own `models.<name>` (which holds its `train` exceptions).
    What its MLflow run records and what its DVC stage declares (a test holds dvc.yaml to this list)."""
    task = get_task(name)
    return ("windows.split", f"windows.{task.data_kind}", "train", f"models.{name}")


def tasks_for(data_kind: str) -> list[ModelTask]:
    """The tasks that train on a data kind, in registry order."""
    return [task for task in map(get_task, REGISTRY) if task.data_kind == data_kind]


__all__ = ["REGISTRY", "ModelTask", "UnknownTaskError", "get_task", "params_read", "task_names", "tasks_for"]
