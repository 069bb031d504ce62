"""What is checked, and cleaned up, before a training starts (`before_training`), so no training is wasted.

1. The tracking store answers: one request with no retries and a short timeout (MLflow's own
   MLFLOW_HTTP_REQUEST_MAX_RETRIES / MLFLOW_HTTP_REQUEST_TIMEOUT stay in force for every later
   call), so an unreachable server is a one-line error in seconds, before any training.
2. It is the store this model was last logged to: the run and newest version that `store_record`
   holds for it are still there. A store that lost them (deleted and silently recreated) is refused.
3. A new SQLite store gets its schema under a file lock (`open_store`): commands started together on
   it take turns instead of racing MLflow's migration; a damaged SQLite file is one line.
0. The series has the rows the configured windows need (`check_enough_rows`, validation's `enough_rows`
   rule under the params of this training): a window larger than the data is refused before a run opens.
4. Runs of the model's experiment left RUNNING on this host by a process that is gone (`kill -9`,
   a lost machine) are ended KILLED, with a tag saying so; the training timeout ends its own run FAILED.
"""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import psutil
from filelock import FileLock
from mlflow import MlflowClient
from mlflow.environment_variables import MLFLOW_HTTP_REQUEST_TIMEOUT
from mlflow.exceptions import MlflowException
from sqlalchemy.exc import DatabaseError, OperationalError

from lstmops.common.masking import masked
from lstmops.tracking import store_record
from lstmops.tracking.runs import HOST_TAG, PID_TAG, TRAINING_PID_TAG
from lstmops.tracking.store import ensure_experiment, filter_literal, sqlite_file

if TYPE_CHECKING:
    from lstmops.config import Params
    from lstmops.data.prepare import PreparedSeries

PREFLIGHT_TIMEOUT_S = 10  # the longest the reachability check waits for an answer
ENDED_TAG = "lstmops.ended"  # why lstmops, not the run's own process, ended a run


class TrackingStoreError(RuntimeError):
    """The tracking store cannot be used: it does not answer, or it is not the store the record names."""


class NotEnoughRows(ValueError):
    """The series is shorter than the windows this training is configured with need."""


def check_enough_rows(kind: str, prepared: PreparedSeries, params: Params) -> None:
    """Refuse a series too short for the windows of `params` (validation's `enough_rows` rule, applied
    again: the window may have been raised by `--set` or params.yaml since the data was validated), or
    for what the task needs to evaluate a model (`ModelTask.check`)."""
    from lstmops.data.kinds import data_kind

    # The rows validation counted (the card's): features may drop a leading row the rule did not count.
    rows, needed = prepared.card.get("rows", len(prepared.features)), data_kind(prepared.kind).min_rows(params)
    if rows < needed.rows:
        card = prepared.card
        where = (
            f" ({Path(params.data.root) / 'validated' / card['kind'] / card['source']})"
            if {"kind", "source"} <= card.keys()
            else ""
        )
        raise NotEnoughRows(
            f"{kind} {prepared.series}{where}: {rows} validated rows, but the configured windows need at "
            f"least {needed.rows} ({needed.reason}; validation's enough_rows rule): lower the window or ingest "
            "a longer history"
        )
    from lstmops.tasks import get_task

    get_task(kind).check(prepared, params)  # what the task itself needs to judge a model (e.g. test-part room)


def before_training(kind: str, model: str, data_root: Path) -> str:
    """Check the store for `model` (`<kind>-<series>`), sweep stale runs; returns the experiment id."""
    uri = mlflow.get_tracking_uri()
    check_reachable(uri)
    check_same_store(uri, data_root, model)
    open_store(uri)
    experiment_id = ensure_experiment(kind)
    for run_id in end_orphaned_runs(experiment_id, "KILLED", "its process was gone when the next training started"):
        print(f"stale run {run_id} (its process is gone) ended KILLED")
    return experiment_id


def check_reachable(uri: str) -> None:
    """One quick request to a tracking server; a SQLite store is opened. TrackingStoreError if it fails."""
    if not uri.startswith(("http://", "https://")):
        return _check_database(uri)
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    timeout = min(MLFLOW_HTTP_REQUEST_TIMEOUT.get(), PREFLIGHT_TIMEOUT_S)
    try:
        response = http_request(
            get_default_host_creds(uri),
            "/api/2.0/mlflow/experiments/search",
            "POST",
            max_retries=0,
            timeout=timeout,
            json={"max_results": 1},
            raise_on_status=False,
        )
    except Exception as err:  # requests' and MLflow's connection errors alike: the server did not answer
        raise TrackingStoreError(
            f"MLflow tracking server {masked(uri)} is not reachable ({_why(err, timeout)}); "
            "start it or point MLFLOW_TRACKING_URI at one that runs"
        ) from None
    if response.status_code != 200:
        why = "check MLFLOW_TRACKING_USERNAME/PASSWORD" if response.status_code in (401, 403) else "see its log"
        raise TrackingStoreError(
            f"MLflow tracking server {masked(uri)} answered HTTP {response.status_code} to a search; {why}"
        )


def _why(err: Exception, timeout: float) -> str:
    """Why a request failed, in words; never the error's text, which can hold the URI's password."""
    text = str(err)
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return f"no answer within {timeout} s"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return type(err).__name__


def _check_database(uri: str) -> None:
    database = sqlite_file(uri)
    if database is not None and not database.exists():  # first use: MLflow creates it (check_same_store decides)
        return
    try:
        with _set_up_lock(database):  # a store another command is still creating is read once it is whole
            MlflowClient().search_experiments(max_results=1)
    except (MlflowException, DatabaseError) as err:
        damage = _database_damage(err)
        if damage is not None:  # a damaged file ("file is not a database", "database disk image is malformed")
            raise TrackingStoreError(
                f"MLflow store {masked(uri)} is damaged ({damage}): restore {database} from a backup, "
                "or point MLFLOW_TRACKING_URI at another store"
            ) from None
        why = getattr(err, "message", err)
        raise TrackingStoreError(f"MLflow store {masked(uri)} cannot be read: {why}") from None


def _database_damage(err: BaseException) -> str | None:
    """SQLite's own words when `err` is, or wraps (MLflow re-raises what its store hit), a damaged-file error."""
    while err is not None:
        if isinstance(err, DatabaseError) and not isinstance(err, OperationalError):  # locked, missing: not damage
            return str(err.orig)
        err = err.__cause__ or err.__context__
    return None


def open_store(uri: str) -> None:
    """Open a SQLite store, creating its schema on first use, under a file lock beside it (`<file>.lock`).

    MLflow creates the tables of a new store in whichever process opens it first, and a second process
    doing the same at that moment dies (`table ... already exists`): commands started together on a
    new store take turns here. A store that exists already is only opened.
    """
    database = sqlite_file(uri)
    if database is None:
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    with _set_up_lock(database):
        client = MlflowClient(uri, uri)
        client.search_experiments(max_results=1)  # the tracking store's schema
        client.search_registered_models(max_results=1)  # the registry's, in the same file


def _set_up_lock(database: Path | None) -> FileLock | contextlib.nullcontext:
    """The lock every opening of a SQLite store takes while MLflow may be creating its schema."""
    return contextlib.nullcontext() if database is None else FileLock(f"{database}.lock")


def check_same_store(uri: str, data_root: Path, model: str) -> None:
    """Refuse a store that no longer holds the run or version the record says `model` has there."""
    store = masked(uri)
    want = store_record.expected(data_root, store, model)
    if not want:
        return
    if "version" in want:
        lost = f"version {want['version']} of registered model {model}"
    else:
        lost = f"run {want['run_id']} of {model}"
    if not _holds(uri, model, want):
        record = store_record.record_path(data_root)
        raise TrackingStoreError(
            f"MLflow store {store} has lost {lost}, which {record} says was logged there: the store was "
            "deleted or replaced (e.g. mlflow.db recreated). Refusing to train, so the new model does not "
            f"become a first-version champion: restore the store, or, if it was reset on purpose, delete "
            f"its entry in {record}"
        )


def _holds(uri: str, model: str, want: dict[str, str]) -> bool:
    database = sqlite_file(uri)
    if database is not None and not database.exists():  # gone; opening it would create an empty one
        return False
    client = MlflowClient()
    try:
        if "version" in want:
            client.get_model_version(model, want["version"])
        else:
            client.get_run(want["run_id"])
    except MlflowException:
        return False
    return True


def end_orphaned_runs(experiment_id: str, status: str, why: str, *, pid: int | None = None) -> list[str]:
    """End the RUNNING runs of `experiment_id` that a process on this host opened and no longer runs
    (only process `pid`'s, when given) with `status`, tagged `lstmops.ended` = `why`. Returns their ids."""
    host = socket.gethostname()
    client = MlflowClient()
    found = client.search_runs(
        [experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = {filter_literal(host)}",
        max_results=1000,
    )
    ended = []
    for run in found:
        owner = run.data.tags.get(TRAINING_PID_TAG, run.data.tags.get(PID_TAG, ""))  # runs before training.pid
        if not owner.isdigit() or (pid is not None and int(owner) != pid):
            continue
        if _still_running(int(owner), run.info.start_time):
            continue
        client.set_tag(run.info.run_id, ENDED_TAG, f"{status}: process {owner} on {host}: {why}")
        client.set_terminated(run.info.run_id, status)
        ended.append(run.info.run_id)
    return ended


def _still_running(pid: int, run_started_ms: int) -> bool:
    """Whether the process that opened a run still runs: pid `pid` exists, is not a zombie, and is
    older than the run (a younger one is another process that reuses the number)."""
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.create_time() * 1000 <= run_started_ms + 1000
    except psutil.NoSuchProcess:
        return False
