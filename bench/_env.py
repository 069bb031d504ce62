"""The environment of every benchmark process and the one way bench/ scripts start one: scripts that
start benchmark processes give it to them (`run_for_json`), scripts that are one set it as their defaults.

No telemetry (a benchmark must not time network calls) and no TensorFlow C++ log lines (level 3, as the
Makefile and `lstmops.common.console` set it: benchmark output is tables, and nothing reads TensorFlow's logs).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUIET_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    # a temporary Prefect server needs more than the default 20 s to start on a busy 2-core box
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}


class BenchError(RuntimeError):
    """A benchmark process failed; the message holds its command and the end of its output."""


def bench_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **QUIET_ENV, **extra}


def options(**values: Any) -> list[str]:
    """Command-line options from keyword arguments: `scoring_windows=5` -> `--scoring-windows 5`; a list -> its items."""
    args: list[str] = []
    for name, value in values.items():
        args.append("--" + name.replace("_", "-"))
        args.extend(map(str, value) if isinstance(value, (list, tuple)) else [str(value)])
    return args


def run_checked(
    command: Sequence[str], *, timeout: float, env: dict[str, str], cwd: Path = ROOT, writes: Path | None = None
) -> None:
    """Run `command`; a BenchError with the end of its output if it fails (or does not write the file `writes`)."""
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0 or (writes is not None and not writes.exists()):
        raise BenchError(
            f"{' '.join(command)} exited {completed.returncode}:\n{(completed.stdout + completed.stderr)[-3000:]}"
        )


def run_for_json(command: Sequence[str], *, timeout: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `command --out <tmp>.json` in a fresh process from the repository root and return what it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        run_checked([*command, "--out", str(out)], timeout=timeout, env=env or bench_env(), writes=out)
        return json.loads(out.read_text())
