"""How a flow run started from a shell (`python flows/<flow>.py`, what `make run` does) behaves:
params checked before the flow starts, known errors in one line (as in the `lstmops` CLI), no
heartbeats, and a console that shows warnings, progress lines and the flow's closing output."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from lstmops.common.user_errors import one_line_errors


@contextmanager
def run_from_a_shell(params_file: str = "params.yaml") -> Iterator[None]:
    """What every `python flows/<flow>.py` runs its flow in: `check_params`, then the flow with its
    known errors (a rejected batch, an unreachable Yahoo) ending in one line and exit 1 after Prefect's
    own log of the failure, under `started_from_a_shell`."""
    check_params(params_file)
    with one_line_errors(), started_from_a_shell():
        yield


def check_params(params_file: str = "params.yaml") -> None:
    """Exit 2 with the CLI's one line when the params file is invalid, before a flow (and a temporary
    Prefect server) starts: inside the flow the same error is a failed run with several tracebacks.
    Without a params.yaml, the CLI's notice that built-in defaults apply."""
    import typer

    from lstmops.config import defaults_notice, load_params

    with one_line_errors(code=2):
        load_params(params_file)
    if notice := defaults_notice(params_file):
        typer.secho(notice, fg=typer.colors.YELLOW, err=True)


@contextmanager
def started_from_a_shell() -> Iterator[None]:
    """Settings for flow runs started by `python flows/<flow>.py` (what `make run` does), not by a worker.

    Such runs emit no heartbeats. Heartbeats let a server's automation mark a deployment run whose
    worker process died as Crashed; a run started from a shell is watched by whoever started it. And
    Prefect 3.9 joins the heartbeat thread at the end of every flow and subflow run while it sleeps in
    1 s steps: a flow with one subflow took 2.1 s with heartbeats and 0.4 s without (see bench/README.md).
    Deployment runs keep Prefect's default (every 180 s).

    The console shows warnings and errors, one progress line per training and what the flow prints
    after it ends; the INFO lines of every flow and task run still go to the Prefect run logs (the
    UI). `LSTMOPS_LOG_LEVEL=DEBUG` (`--verbose`) brings them back to the console, with Keras' epochs.
    """
    from lstmops.common.console import quiet_libraries, verbose

    quiet_libraries()
    handlers = [] if verbose() else console_handlers()
    levels = [handler.level for handler in handlers]
    for handler in handlers:
        handler.setLevel(logging.WARNING)
    try:
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield
    finally:
        for handler, level in zip(handlers, levels, strict=True):
            handler.setLevel(level)


def console_handlers() -> list[logging.Handler]:
    """Prefect's console handlers (on `prefect`, `prefect.flow_runs`, `prefect.task_runs`, ...)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    found = {id(h): h for logger in loggers for h in logger.handlers if isinstance(h, PrefectConsoleHandler)}
    return list(found.values())
