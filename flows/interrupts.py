"""How a flow started from a shell (`python flows/retrain.py`) answers Ctrl-C and SIGTERM: its trainings
stop, their MLflow runs end KILLED, no registry gate is cut in half, one line says what was kept, and
the process exits 130 (SIGINT) or 143 (SIGTERM) within seconds; a second Ctrl-C exits at once.

Who gets which signal:
- A terminal's Ctrl-C sends SIGINT to the whole process group. Prefect's temporary API server is a
  child in that group: it used to die first, and every later Prefect call of the flow then retried
  against it (the hang). `stoppable` starts it with SIGINT blocked, so it stays up while Prefect
  records the flow run as Crashed; Prefect stops it at exit as usual (SIGTERM).
- Training children block SIGINT too (`lstmops.experiment.isolated`): the flow stops them.
- In the main thread Python turns SIGINT into KeyboardInterrupt; during a flow run Prefect turns
  SIGTERM into its TerminationSignal (outside one, `stoppable`'s handler raises Interrupted).
  `trainings_stopped` stops the trainings before the task runner waits for them; `finished_first`
  holds the signal until a registry gate has decided.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from prefect.exceptions import TerminationSignal

from lstmops.experiment import isolated

EXIT_WITHIN_S = 20.0  # after the first signal, whatever Prefect's own teardown does
NAMES = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}

T = TypeVar("T")


class Interrupted(BaseException):
    """SIGTERM outside a flow run (inside one Prefect raises its TerminationSignal)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@dataclass
class _Stop:
    armed: bool = False  # `stoppable` runs this process (not a flow called in-process, as tests do)
    signum: int | None = None  # the first signal
    stopped_runs: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)
    killed: int = 0  # trainings killed at once, their runs left RUNNING
    said: bool = False


_stop = _Stop()


def stoppable(run: Callable[[], T]) -> T:
    """`run()` (a flow) from `__main__`, stopped by SIGINT or SIGTERM as the module docstring says."""
    _stop.armed = True
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    _start_temporary_server_deaf_to_ctrl_c()
    try:
        return run()
    except (KeyboardInterrupt, TerminationSignal, Interrupted) as err:
        _noticed(_signum(err))
        _say()
        raise SystemExit(128 + _stop.signum) from None


@contextmanager
def trainings_stopped() -> Iterator[None]:
    """Around a flow's trainings: an interrupt stops them and ends their runs KILLED before it goes on
    (the task runner would otherwise wait for them to finish)."""
    try:
        yield
    except (KeyboardInterrupt, TerminationSignal, Interrupted) as err:
        signum = _signum(err)
        _noticed(signum)
        _stop.stopped_runs += isolated.stop_all(f"the flow was stopped by {NAMES[signum]}")
        raise


@contextmanager
def finished_first(what: str) -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends (a registry gate decides whole or not at all), then
    deliver the first; a second one meanwhile exits at once (the next gate decides a challenger left
    undecided). Outside the main thread signals cannot be held, and the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: object) -> None:
        if held:
            _exit_now(signum)
        held.append(signum)
        print(f"{NAMES[signum]}: stopping once {what} has decided (Ctrl-C again stops at once)", flush=True)

    previous = {signum: signal.signal(signum, hold) for signum in NAMES}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if held:
        raise KeyboardInterrupt if held[0] == signal.SIGINT else TerminationSignal(signal=held[0])


def registered(version: str) -> None:
    """A version the flow registered and gated: the closing line names it among what is kept."""
    _stop.registered.append(version)


def _on_signal(signum: int, frame: object) -> None:
    if _stop.signum is None:
        _noticed(signum)
        raise KeyboardInterrupt if signum == signal.SIGINT else Interrupted(signum)
    if signum == signal.SIGINT:  # a second Ctrl-C
        _exit_now(signum)
    # A repeated SIGTERM (Prefect re-sends the one it turned into TerminationSignal): already stopping.


def _noticed(signum: int) -> None:
    """The first signal: from now on a second Ctrl-C exits at once, and the process exits within EXIT_WITHIN_S."""
    if _stop.signum is not None:
        return
    _stop.signum = signum
    if not _stop.armed:
        return
    signal.signal(signal.SIGINT, _on_signal)  # also over Prefect's SIGTERM bridge: the stop has begun
    signal.signal(signal.SIGTERM, _on_signal)
    from shell import console_handlers

    for handler in console_handlers():  # the stopped tasks' errors go to the Prefect run logs, not the console
        handler.addFilter(lambda record: False)
    watchdog = threading.Timer(EXIT_WITHIN_S, _exit_now, args=(signum,))
    watchdog.daemon = True
    watchdog.start()


def _exit_now(signum: int) -> None:
    """Kill what this process started and exit, without waiting for anyone (a second Ctrl-C, the watchdog)."""
    if not _stop.armed:  # a flow called in-process: the caller decides
        raise KeyboardInterrupt
    _stop.killed = isolated.kill_all()
    from prefect.server.api.server import SubprocessASGIServer

    for server in list(SubprocessASGIServer._instances.values()):
        if server.server_process is not None:
            server.server_process.kill()
    _say()
    os._exit(128 + (_stop.signum or signum))


def _say() -> None:
    """The one closing line: what was stopped, and what was kept."""
    if _stop.said:
        return
    _stop.said = True
    runs, killed = _stop.stopped_runs, _stop.killed
    parts = [f"{len(runs)} training(s) stopped, MLflow run(s) {', '.join(runs)} ended KILLED"] if runs else []
    if killed:  # their runs are swept by preflight: a run whose process is gone
        parts.append(f"{killed} training(s) killed at once, their runs end KILLED when the next training starts")
    stopped = "; ".join(parts) or "no training was running"
    kept = ", ".join(_stop.registered) if _stop.registered else "no model version"
    print(
        f"Stopped by {NAMES[_stop.signum]}: {stopped}; kept: the ingested and validated data, "
        f"registered and gated: {kept}",
        file=sys.stderr,
        flush=True,
    )


def _signum(err: BaseException) -> int:
    if isinstance(err, KeyboardInterrupt):
        return signal.SIGINT
    return err.signal if isinstance(err, TerminationSignal) else err.signum


def _start_temporary_server_deaf_to_ctrl_c() -> None:
    """Start Prefect's temporary API server (as Prefect would at the flow's first call) with SIGINT
    blocked, which it inherits: a Ctrl-C to the process group leaves it up. A configured
    PREFECT_API_URL names a server that is not ours to start."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return
    from prefect.server.api.server import SubprocessASGIServer

    unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        SubprocessASGIServer().start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)
