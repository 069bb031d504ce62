"""What every model task offers the rest of the project: the CLI, the flows, the registry gate,
tracking and the tests all go through this contract, never through a task's modules directly.

A task's package declares one `ModelTask` in its `__init__`; the heavy modules (Keras, plots)
load only when the task trains or evaluates.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from lstmops.config import Params
    from lstmops.data.prepare import PreparedSeries
    from lstmops.evaluate.report import Evaluation


class Trained(Protocol):
    """A fitted model with all its preprocessing state (the kind contract's Trained<Kind>)."""

    kind: ClassVar[str]
    history: dict[str, list[float]]
    device: dict[str, Any]

    def save(self, folder: Path) -> None: ...

    @classmethod
    def load(cls, folder: Path) -> Trained: ...

    def predict_raw(self, frame: pd.DataFrame) -> pd.DataFrame: ...

    def input_example(self) -> pd.DataFrame: ...


class ModelTask(Protocol):
    name: str  # also the `models.<name>` params section and the registered model's prefix
    data_kind: str  # the data kind it trains on (prices, sensors)
    tiny_overrides: Mapping[str, Any]  # dotted params for a model small enough for the test suite

    def train(self, prepared: PreparedSeries, params: Params) -> Trained:
        """Fit on the train part (early stopping on val), with `models.<name>.train` applied to `train`."""
        ...

    def evaluate(self, trained: Trained, prepared: PreparedSeries, params: Params, *, gate: bool = False) -> Evaluation:
        """Metrics on the hold-out with the baselines beside them, and plots. `gate=True` is the
        registry gate's view: numbers only, no figures and nothing that retrains."""
        ...

    def trained_class(self) -> type[Trained]: ...

    def check(self, prepared: PreparedSeries, params: Params) -> None:
        """Refuse, before any training or MLflow run, data the task could train on but not evaluate
        (a ValueError whose message is the one line the user sees)."""
        ...


def _resolve(path: str) -> Any:
    from lstmops.common.console import import_keras_quietly

    import_keras_quietly()  # a task's modules load Keras: keep TensorFlow's load-time lines off the console
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass(frozen=True)
class LazyTask:
    """A `ModelTask` whose functions are named as "module:attribute" and imported on first use."""

    name: str
    data_kind: str
    trainer: str  # "module:function(prepared, params) -> Trained"
    evaluator: str  # "module:function(trained, prepared, params, *, gate) -> Evaluation"
    trained: str  # "module:Class" saved with the model (serving loads it back)
    tiny_overrides: Mapping[str, Any] = field(default_factory=dict)
    checker: str | None = None  # "module:function(prepared, params)" raising on data it cannot judge

    def train(self, prepared: PreparedSeries, params: Params) -> Trained:
        self._check_data(prepared)
        train: Callable[..., Trained] = _resolve(self.trainer)
        return train(prepared, params.for_task(self.name))

    def evaluate(self, trained: Trained, prepared: PreparedSeries, params: Params, *, gate: bool = False) -> Evaluation:
        self._check_data(prepared)
        evaluate: Callable[..., Evaluation] = _resolve(self.evaluator)
        return evaluate(trained, prepared, params.for_task(self.name), gate=gate)

    def trained_class(self) -> type[Trained]:
        return _resolve(self.trained)

    def check(self, prepared: PreparedSeries, params: Params) -> None:
        if self.checker is not None:
            module_name, _, attribute = self.checker.partition(":")  # no Keras needed to look at the data
            getattr(importlib.import_module(module_name), attribute)(prepared, params.for_task(self.name))

    def _check_data(self, prepared: PreparedSeries) -> None:
        if prepared.kind != self.data_kind:
            raise ValueError(
                f"model task {self.name!r} trains on {self.data_kind} data, got a prepared {prepared.kind} series"
            )
