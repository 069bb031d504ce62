"""Why Prefect's task timeout did not always stop a training in a process worker: a demonstration.

In the main thread Prefect's timeout (`prefect.utilities.timeout.timeout`) is one SIGALRM whose
handler raises once, in whatever Python code the main thread runs when the signal is handled. Here
the "training" loop frees an object per step whose finalizer takes most of the step's time (as
Keras frees arrays between batches). An exception raised inside a finalizer is swallowed by Python
("Exception ignored in ..."), so the alarm is lost and the loop runs to its end.

    python bench/prefect_alarm_timeout.py
prints, for each share of a step spent in finalizers, whether a 1 s timeout stopped a 3 s loop.
"""

from __future__ import annotations

import contextlib
import io
import time

from prefect.utilities.timeout import timeout


class Freed:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __del__(self) -> None:
        time.sleep(self.seconds)  # the finalizer's share of a step


def loop(total_s: float, step_s: float, in_finalizer: float) -> tuple[bool, float]:
    started = time.monotonic()
    stopped = False
    with contextlib.redirect_stderr(io.StringIO()):  # "Exception ignored in ..." lines
        try:
            with timeout(seconds=1.0):
                while time.monotonic() - started < total_s:
                    Freed(step_s * in_finalizer)  # freed at once: its __del__ runs here
                    time.sleep(step_s * (1 - in_finalizer))
        except TimeoutError:
            stopped = True
    return stopped, time.monotonic() - started


if __name__ == "__main__":
    for share in (0.0, 0.5, 0.99):
        stopped, seconds = loop(3.0, 0.05, share)
        print(f"finalizer share {share:4.2f}: stopped by the 1 s timeout: {stopped!s:5s}  ran {seconds:.1f} s")
