"""Fixtures of the fault suite: a private store and demo data in a fresh folder, and the instant stand-in task."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pytest

from lstmops import tasks
from lstmops.tracking.store import configure_tracking

FIXTURES = Path(__file__).parent.parent / "fixtures"


@dataclass
class Place:
    root: Path  # the working directory
    store: Path  # the SQLite file
    params: Any
    series: Any  # conftest.DemoSeries: validated file, raw rows, prepared


@pytest.fixture
def instant_task(monkeypatch):
    """The forecaster trains in milliseconds (tests/fixtures/instant_task.py), and its models load again."""
    monkeypatch.syspath_prepend(str(FIXTURES))
    monkeypatch.setitem(tasks.REGISTRY, "forecaster", "instant_task")


@pytest.fixture
def place(tmp_path, monkeypatch, tiny_params, demo_series) -> Place:
    """A SQLite store and a validated demo price series under a fresh working directory."""
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "mlruns" / "mlflow.db"
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(variable, f"sqlite:///{store}")
    monkeypatch.delenv("LSTMOPS_DEBUG", raising=False)
    configure_tracking()
    params = tiny_params(tmp_path / "data", "forecaster")
    yield Place(tmp_path, store, params, demo_series(params, "prices"))
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
