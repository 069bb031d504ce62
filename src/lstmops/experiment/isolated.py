"""A training its timeout really stops: the experiment runs in a spawned child process that is killed at the timeout.

Why not Prefect's task timeout: in a worker thread (the default task runner) it cannot interrupt a
blocking call at all. In a process worker's main thread it is a single SIGALRM whose handler raises
once, at whatever Python line the main thread is on when the signal is handled. If that line is in a
finalizer (`__del__`, a weakref or garbage-collector callback: "Exception ignored in ..."), or inside
a handler that catches BaseException, the exception is swallowed, no second alarm comes, and the
training runs on to its last epoch. Keras on JAX or TensorFlow frees many arrays per batch, so such
a landing is a matter of chance, which fits a 5,000-epoch training outliving its 5 s timeout in some
runs and not others (bench/prefect_alarm_timeout.py, retired: `git show 4149a9e:bench/prefect_alarm_timeout.py`,
shows the mechanism with Prefect's own timeout).
A killed process cannot swallow anything.

The timeout counts from the moment the child is ready (imports, device set-up and the connection to
the store done, bounded on their own by STARTUP_TIMEOUT_S), so a busy machine's slow start-up does not eat into a training's
time. The parent then waits for the child's result or exit; at the timeout it sends SIGTERM, then
SIGKILL after `GRACE_S`, and ends the MLflow run the child had opened FAILED, tagged with the
timeout setting (`preflight.end_orphaned_runs`). The child trains with the parent's task registry
(`lstmops.tasks.REGISTRY`, tasks registered at run time included). A process that may not have children (a daemonic worker, such as a
Dask worker process) trains in its own process instead, without a timeout, and says so.

Interrupts: a child starts with SIGINT blocked, so a terminal's Ctrl-C (sent to the whole process group)
does not tear it down mid-write; the parent decides. `stop_all` (a flow's interrupt) and a
KeyboardInterrupt in the waiting thread stop the children and end their runs KILLED.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import warnings
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lstmops.config import Params
    from lstmops.data.prepare import PreparedSeries
    from lstmops.experiment.runner import ExperimentOutcome

GRACE_S = 5.0  # between SIGTERM and SIGKILL
STARTUP_TIMEOUT_S = 300.0  # for the child's imports and device set-up
TIMEOUT_SETTING = "training_timeout_s"

_children: dict[int, tuple[multiprocessing.Process, str]] = {}  # pid -> (training process, its task), while it runs
_children_lock = threading.Lock()
_stopped: set[int] = set()  # pids stop_all stopped: their death is not a failure


class TrainingTimedOut(RuntimeError):
    """The training ran past its timeout and its process was stopped."""


class TrainingInterrupted(RuntimeError):
    """The training was stopped by an interrupt of this process (`stop_all`); its run ended KILLED."""


def run_experiment_within(
    timeout_s: float,
    kind: str,
    prepared: PreparedSeries,
    params: Params,
    *,
    tracking_uri: str,
    run_name: str | None = None,
    tags: dict[str, str] | None = None,
) -> ExperimentOutcome:
    """`runner.run_experiment` in a child process, stopped after `timeout_s` seconds (TrainingTimedOut)."""
    from lstmops.tasks import REGISTRY

    arguments = (kind, prepared, params, tracking_uri, run_name, tags)
    if multiprocessing.current_process().daemon:
        warnings.warn(
            f"{kind} {prepared.series}: this process is daemonic and may not start a child process, so the "
            f"training runs here and {TIMEOUT_SETTING} cannot stop it",
            RuntimeWarning,
            stacklevel=2,
        )
        return _experiment(*arguments)
    from lstmops.tracking.store import ensure_experiment

    # The store and the experiment exist before the child opens them: two processes creating one
    # SQLite store at once collide in MLflow's schema migrations.
    ensure_experiment(kind)
    context = multiprocessing.get_context("spawn")  # a fork would copy JAX's / TensorFlow's threads half-alive
    results, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child, args=(sender, dict(REGISTRY), *arguments), name=f"train-{kind}-{prepared.series}"
    )
    # Blocked signals are inherited through spawn's exec: Ctrl-C reaches the parent only, which stops the child.
    unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        child.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)
    with _children_lock:
        _children[child.pid] = (child, kind)
    sender.close()  # the child holds the only writer: a child that dies makes the pipe readable (EOF)
    try:
        message = _next(results, child, STARTUP_TIMEOUT_S)
        if message is None:
            _stop(child)
            raise TrainingTimedOut(
                f"{kind} {prepared.series}: the training process did not start within {STARTUP_TIMEOUT_S:g} s"
            )
        if message[0] == "ready":
            message = _next(results, child, timeout_s)
        if message is None:
            _stop(child)
            runs = _end_run(kind, child.pid, f"stopped after {timeout_s:g} s ({TIMEOUT_SETTING})")
            raise TrainingTimedOut(
                f"{kind} {prepared.series}: training stopped after {timeout_s:g} s, its {TIMEOUT_SETTING}"
                + (f"; MLflow run {', '.join(runs)} ended FAILED" if runs else "")
            )
        status, payload = message
        child.join(GRACE_S)
        if status == "ok":
            return payload
        if status == "error":
            raise payload
        if child.pid in _stopped:  # stop_all ended its run KILLED
            raise TrainingInterrupted(f"{kind} {prepared.series}: training stopped by an interrupt")
        why = f"its process exited with code {child.exitcode} before returning a result"
        _end_run(kind, child.pid, why)
        raise RuntimeError(f"{kind} {prepared.series}: training failed: {why}")
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C where the main thread waits here (not in a flow)
        _stop(child)
        _end_run(kind, child.pid, "interrupted", status="KILLED")
        raise
    finally:
        if child.is_alive():  # the parent's own cancellation, or slow to exit
            _stop(child)
        with _children_lock:
            _children.pop(child.pid, None)
        results.close()


def stop_all(why: str) -> list[str]:
    """Stop every training child of this process and end the MLflow runs they left RUNNING KILLED,
    tagged with `why`; returns those runs' ids. The threads waiting on the children then raise
    TrainingInterrupted instead of ending the runs FAILED."""
    with _children_lock:
        running = list(_children.values())
        _stopped.update(_children)
    for child, _ in running:
        child.terminate()
    for child, _ in running:
        _stop(child)  # waits GRACE_S for each, then SIGKILL
    return [run for child, kind in running for run in _end_run(kind, child.pid, why, status="KILLED")]


def kill_all() -> int:
    """SIGKILL every training child still running, without waiting (a second interrupt: exit now); how many."""
    with _children_lock:
        running = [child for child, _ in _children.values() if child.is_alive()]
    for child in running:
        child.kill()
    return len(running)


def _next(results: Connection, child: multiprocessing.Process, seconds: float) -> tuple[str, Any] | None:
    """The child's next message; ("died", None) if it exited without one; None after `seconds` of silence."""
    if not wait([results, child.sentinel], timeout=seconds):
        return None
    try:
        return results.recv()
    except EOFError:
        return "died", None


def _stop(child: multiprocessing.Process) -> None:
    child.terminate()
    child.join(GRACE_S)
    if child.is_alive():
        child.kill()
        child.join()


def _end_run(kind: str, pid: int | None, why: str, status: str = "FAILED") -> list[str]:
    """End with `status` the run that process `pid` opened and left RUNNING."""
    from lstmops.experiment.preflight import end_orphaned_runs
    from lstmops.tracking.store import ensure_experiment

    return end_orphaned_runs(ensure_experiment(kind), status, why, pid=pid) if pid else []


def _experiment(
    kind: str,
    prepared: PreparedSeries,
    params: Params,
    tracking_uri: str,
    run_name: str | None,
    tags: dict[str, str] | None,
) -> ExperimentOutcome:
    from lstmops.experiment import runner
    from lstmops.tracking import store

    store.configure_tracking(tracking_uri)
    return runner.run_experiment(kind, prepared, params, run_name=run_name, tags=tags)


def _child(sender: Connection, task_registry: dict[str, str], *arguments: Any) -> None:
    """In the child: start up (imports, devices, the store's connection), send ("ready", None), run the
    experiment, send ("ok", outcome) or ("error", exception)."""
    from lstmops import tasks
    from lstmops.common.console import import_keras_quietly, quiet_libraries
    from lstmops.tracking.runs import WORKER_PID_VARIABLE

    os.environ[WORKER_PID_VARIABLE] = str(os.getppid())  # the run names the worker, not this child
    tasks.REGISTRY.update(task_registry)
    quiet_libraries()
    import_keras_quietly()
    from lstmops.train import common

    common.enable_gpu_memory_growth()  # before anything touches the GPU in this process
    common.device_report()  # the backend finds its devices here, not inside the timed training (the run logs the report)
    import mlflow.data  # noqa: F401  the rest of the start-up: what the experiment imports on its way
    from mlflow import MlflowClient

    from lstmops.experiment import runner  # noqa: F401
    from lstmops.registry import gate  # noqa: F401
    from lstmops.tracking import store

    store.configure_tracking(arguments[3])
    MlflowClient().search_experiments(max_results=1)  # the store's client code loads and connects here
    sender.send(("ready", None))
    try:
        outcome = _experiment(*arguments)
        outcome.evaluation.figures.clear()  # logged to the run already; figures do not travel between processes
        sender.send(("ok", outcome))
    except Exception as err:
        try:
            sender.send(("error", err))
        except Exception:  # an exception that does not pickle travels as its text
            sender.send(("error", RuntimeError(f"{type(err).__name__}: {err}")))
    finally:
        sender.close()
