"""The environment of every benchmark process: scripts that start benchmark processes give it to them,
scripts that are one set it as their defaults.

No telemetry (a benchmark must not time network calls) and no TensorFlow C++ log lines (level 3, as the
Makefile and `lstmops.common.console` set it: benchmark output is tables, and nothing reads TensorFlow's logs).
"""

QUIET_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    # a temporary Prefect server needs more than the default 20 s to start on a busy 2-core box
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}
