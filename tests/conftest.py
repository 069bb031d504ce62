"""Shared test setup.

Import order matters on this stack: importing TensorFlow, then `dvc.api`, then Prefect inside one
pytest session closes pytest's captured stderr (INTERNALERROR "I/O operation on closed file").
Importing Prefect (and dvc.api) first avoids it, so they are imported here, before any test module.
"""

import os

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import dvc.api  # noqa: E402,F401
import prefect.main  # noqa: E402,F401
