"""What a training shows while it runs: its epochs in MLflow as they happen, and one progress line.

`run_experiment` wraps a task's training in `watching(...)`; the shared fit loop
(`lstmops.train.common.fit`) adds the callbacks found here to its own. Keeping them in a context
variable means no task's trainer has to pass them along, and parallel trainings (threads of the
Prefect flow) each see only their own.

Progress: all trainings of one process share one rich display, one labelled line per training
(`forecaster DEMOA  epoch 12/30  loss 0.0132  val 0.0150  0:00:41`), so parallel trainings never
interleave their epoch lines. With `LSTMOPS_LOG_LEVEL=DEBUG` (`--verbose`) the display is off and
Keras prints its own epoch lines again (`train.verbose`). When stderr is a pipe or a log file, where
rich cannot redraw a line, each training prints its line when it starts, every `PIPED_LINE_EVERY_S`
while it runs, and when it ends.

Importing this module imports neither Keras nor MLflow: the callbacks are built on first use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from lstmops.common.console import import_keras_quietly, verbose

PIPED_LINE_EVERY_S = 30.0  # how often a training's line is printed again where it cannot be redrawn

_callbacks: ContextVar[tuple[Any, ...]] = ContextVar("lstmops_training_callbacks", default=())
_curve: ContextVar[str | None] = ContextVar("lstmops_training_curve", default=None)


def current_callbacks() -> tuple[Any, ...]:
    """The callbacks the enclosing `watching(...)` asked every fit in this context to run."""
    return _callbacks.get()


def progress_shown() -> bool:
    """True when a progress line stands for Keras' own epoch output (so fit runs with verbose=0)."""
    return any(isinstance(callback, _progress_class()) for callback in _callbacks.get())


@contextmanager
def watching(label: str, run_id: str | None = None) -> Iterator[None]:
    """Fits inside log their epochs to MLflow run `run_id` live and show one progress line `label`.

    A task that fits several networks (the forecaster's backtest folds) reuses its one line.
    """
    import_keras_quietly()  # the callbacks are Keras classes
    callbacks = []
    if run_id is not None:
        callbacks.append(_epoch_logger_class()(run_id))
    progress = None if verbose() else _progress_class()(label)
    if progress is not None:
        callbacks.append(progress)
    token = _callbacks.set(tuple(callbacks))
    try:
        yield
    finally:
        _callbacks.reset(token)
        if progress is not None:
            progress.close()


@contextmanager
def curve(name: str) -> Iterator[None]:
    """Fits inside log their epochs as `epoch/<name>/<metric>`: a training that fits several candidate
    networks and keeps one (seq2seq's normalise=auto) shows each candidate's own curve."""
    token = _curve.set(name)
    try:
        yield
    finally:
        _curve.reset(token)


def epochs_logged() -> int:
    """How many epochs the MLflow callbacks of this context have logged so far."""
    return max((c.epochs for c in _callbacks.get() if isinstance(c, _epoch_logger_class())), default=0)


# ---------------------------------------------------------------- the shared progress display


class _Display:
    """One rich Progress for the whole process, started by the first training and stopped by the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._progress: Any = None

    def add(self, label: str, total: int) -> tuple[Any, Any]:
        with self._lock:
            if self._users == 0:
                self._progress = _new_progress()
                self._progress.start()
            self._users += 1
            progress = self._progress
            task = progress.add_task(label, total=total, loss="", val="", note="")
        self.print_line(progress, task)
        return progress, task

    @staticmethod
    def print_line(progress: Any, task: Any) -> None:
        """Where the display cannot redraw (a pipe, a log file), print the line of `task` as it is now."""
        if progress.console.is_terminal:
            return
        from rich.table import Table

        row = Table.grid(padding=(0, 1))
        row.add_row(*(column(progress.tasks[task]) for column in progress.columns))
        progress.console.print(row)

    def done(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._progress is not None:
                self._progress.stop()
                self._progress = None


def _new_progress() -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    if not console.is_terminal:  # a log file or a pipe: no terminal width to fit, keep each line whole
        console = Console(stderr=True, width=120)
    return Progress(
        TextColumn("[bold]{task.description:<30}"),
        TextColumn("epoch"),
        MofNCompleteColumn(),
        BarColumn(bar_width=12),
        TextColumn("{task.fields[loss]:<12} {task.fields[val]:<11}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}"),
        console=console,
        redirect_stdout=False,
        redirect_stderr=False,
    )


_DISPLAY = _Display()
_classes: dict[str, type] = {}


def _progress_class() -> type:
    if "progress" not in _classes:
        import keras

        class ProgressLine(keras.callbacks.Callback):
            """One labelled line: epoch n/N, loss, val loss, elapsed, ETA; 'early stop' when it ends sooner."""

            def __init__(self, label: str) -> None:
                super().__init__()
                self.label = label
                self.fits = 0
                self._progress: Any = None
                self._task: Any = None
                self._printed_at = time.monotonic()

            def on_train_begin(self, logs: dict | None = None) -> None:
                self.fits += 1
                total = int(self.params.get("epochs") or 0)
                label = self.label if self.fits == 1 else f"{self.label} (fit {self.fits})"
                if self._progress is None:
                    self._progress, self._task = _DISPLAY.add(label, total)
                else:  # a further fit of the same training (e.g. a backtest fold): same line, restarted
                    self._progress.reset(self._task, total=total, description=label, loss="", val="", note="")

            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                logs = logs or {}
                val = logs.get("val_loss")
                self._progress.update(
                    self._task,
                    completed=epoch + 1,
                    loss=f"loss {logs.get('loss', float('nan')):.4g}",
                    val="" if val is None else f"val {val:.4g}",
                )
                if time.monotonic() - self._printed_at >= PIPED_LINE_EVERY_S:
                    self._printed_at = time.monotonic()
                    _DISPLAY.print_line(self._progress, self._task)

            def on_train_end(self, logs: dict | None = None) -> None:
                task = self._progress.tasks[self._task]
                if task.total and task.completed < task.total:
                    self._progress.update(self._task, note=f"(early stop at {int(task.completed)})")
                _DISPLAY.print_line(self._progress, self._task)

            def close(self) -> None:
                if self._progress is not None:
                    if self.fits > 1:  # the line shows the last fit; say how many there were
                        self._progress.update(self._task, description=f"{self.label} ({self.fits} fits)")
                    self._progress = None
                    _DISPLAY.done()

        _classes["progress"] = ProgressLine
    return _classes["progress"]


def _epoch_logger_class() -> type:
    if "epochs" not in _classes:
        import keras

        class EpochMetrics(keras.callbacks.Callback):
            """Each epoch's logs as `epoch/<name>` (step = epoch) in MLflow run `run_id`, as it ends.

            Only the first fit of a training is the model's own curve; later fits of the same training
            (the forecaster's backtest folds) would restart at step 0 on the same keys, so they are left out.
            Fits inside `curve(name)` are candidates of their own: each logs as `epoch/<name>/<metric>`.
            """

            def __init__(self, run_id: str) -> None:
                super().__init__()
                self.run_id = run_id
                self.epochs = 0
                self.fits = 0
                self.prefix = "epoch/"

            def on_train_begin(self, logs: dict | None = None) -> None:
                self.fits += 1
                curve_name = _curve.get()
                self.prefix = f"epoch/{curve_name}/" if curve_name else "epoch/"

            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                if self.fits > 1 and self.prefix == "epoch/":
                    return
                from mlflow import MlflowClient
                from mlflow.entities import Metric

                now = int(time.time() * 1000)
                metrics = [
                    Metric(f"{self.prefix}{name}", float(value), now, epoch) for name, value in (logs or {}).items()
                ]
                if metrics:
                    MlflowClient().log_batch(self.run_id, metrics=metrics)
                self.epochs = epoch + 1

        _classes["epochs"] = EpochMetrics
    return _classes["epochs"]
