"""Helpers for tests that start real servers on loopback: free ports, supervised processes, PostgreSQL.

Every process is started in a session of its own, so the process group id equals its pid and the
children it spawns (uvicorn workers, flow-run subprocesses) stay in that group. Stopping signals the
group by that id: SIGTERM (or the process's own shutdown signal), a second SIGTERM (a Prefect worker
started in the background ignores the first), then SIGKILL; then the test asserts no member is left.

PostgreSQL: `initdb` refuses to run as root, so as root the throwaway cluster belongs to the
`postgres` user (Debian's package creates it; `nobody` otherwise) and lives in a directory that user
can reach (pytest's tmp_path under /tmp/pytest-of-root is private to root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

STOP_WAIT_S = 15.0


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _live_members(group: int) -> list[int]:
    """Pids in process group `group` that have not exited (zombies count as exited)."""
    members = []
    for stat_file in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError):
            stat = Path(stat_file).read_text()
            # Fields after the parenthesised command name: state, ppid, pgrp, ...
            state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
            if int(pgrp) == group and state != "Z":
                members.append(int(Path(stat_file).parent.name))
    return members


def _wait_until_gone(group: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _live_members(group):
            return True
        time.sleep(0.2)
    return not _live_members(group)


@dataclass
class ServiceProcess:
    name: str
    popen: subprocess.Popen
    log: Path
    stop_signal: int = signal.SIGTERM

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"


@dataclass
class Supervisor:
    """Starts processes with their output in `log_dir`, stops each by its id, and checks none is left."""

    log_dir: Path
    started: list[ServiceProcess] = field(default_factory=list)

    def start(
        self,
        name: str,
        command: list[str],
        *,
        env: dict[str, str],
        cwd: Path | None = None,
        stop_signal: int = signal.SIGTERM,
        user: str | None = None,
    ) -> ServiceProcess:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as sink:
            popen = subprocess.Popen(
                command,
                env=env,
                cwd=cwd,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                **_as_user(user),
            )
        process = ServiceProcess(name, popen, log, stop_signal)
        self.started.append(process)
        return process

    def stop(self, process: ServiceProcess) -> None:
        group = process.pid  # start_new_session made the process the leader of its own group
        for sig in (process.stop_signal, signal.SIGTERM):
            if process.popen.poll() is not None and not _live_members(group):
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, sig)
            if _wait_until_gone(group, STOP_WAIT_S):
                break
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            _wait_until_gone(group, STOP_WAIT_S)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.popen.wait(timeout=STOP_WAIT_S)

    def stop_all(self) -> None:
        for process in reversed(self.started):
            self.stop(process)

    def still_running(self) -> dict[str, list[int]]:
        """name -> live pids of every process group this supervisor started."""
        left = {process.name: _live_members(process.pid) for process in self.started}
        return {name: pids for name, pids in left.items() if pids}

    def wait_for_http(self, process: ServiceProcess, url: str, timeout: float = 120.0) -> None:
        """Poll `url` until it answers 200; fail with the process's log if it dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                pytest.fail(f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        pytest.fail(f"{process.name} did not answer {url} within {timeout:.0f} s:\n{process.log_tail()}")


def _as_user(user: str | None) -> dict:
    if user is None:
        return {}
    account = pwd.getpwnam(user)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


@pytest.fixture(scope="module")
def supervisor(tmp_path_factory) -> Iterator[Supervisor]:
    """A module's process supervisor: whatever a test leaves running is stopped, and must then be gone."""
    keeper = Supervisor(tmp_path_factory.mktemp("logs"))
    yield keeper
    keeper.stop_all()
    assert keeper.still_running() == {}, "processes left running after stop"


# ---------------------------------------------------------------- PostgreSQL


def postgres_bin_dir() -> Path | None:
    """Where initdb and postgres live: on PATH, else Debian's /usr/lib/postgresql/<major>/bin (newest)."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(candidates[-1]).parent if candidates else None


def _cluster_owner() -> str | None:
    """None: the current user can own the cluster. As root: a dedicated unprivileged account."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    pytest.fail("running as root, and neither a 'postgres' nor a 'nobody' account exists to own the cluster")


@dataclass
class PostgresCluster:
    host: str
    port: int
    user: str
    password: str
    bin_dir: Path  # initdb, postgres, psql

    def url(self, database: str, driver: str = "postgresql") -> str:
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        import psycopg2

        connection = psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname="postgres"
        )
        try:
            connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()

    def wait_ready(self, server: ServiceProcess, timeout: float = 60.0) -> None:
        import psycopg2

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.popen.poll() is not None:
                pytest.fail(f"postgres exited with {server.popen.returncode}:\n{server.log_tail()}")
            try:
                psycopg2.connect(
                    host=self.host,
                    port=self.port,
                    user=self.user,
                    password=self.password,
                    dbname="postgres",
                    connect_timeout=2,
                ).close()
                return
            except psycopg2.OperationalError:
                time.sleep(0.3)
        pytest.fail(f"postgres not ready within {timeout:.0f} s:\n{server.log_tail()}")


@pytest.fixture(scope="module")
def postgres(supervisor: Supervisor) -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster on a loopback port, with password (SCRAM) authentication."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        message = "PostgreSQL server binaries (initdb) not found: apt-get install -y postgresql"
        if os.environ.get("CI"):  # CI must run this test, not skip it
            pytest.fail(message)
        pytest.skip(message)
    owner = _cluster_owner()
    root = Path(tempfile.mkdtemp(prefix="lstmops-pg-"))
    try:
        cluster = PostgresCluster("127.0.0.1", find_free_port(), "lstmops", secrets.token_urlsafe(16), bin_dir)
        password_file = root / "password"
        password_file.write_text(cluster.password)
        if owner is not None:
            account = pwd.getpwnam(owner)
            for path in (root, password_file):
                os.chown(path, account.pw_uid, account.pw_gid)
        initdb = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(root / "data"),
                "-U",
                cluster.user,
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            capture_output=True,
            text=True,
            **_as_user(owner),
        )
        password_file.unlink()
        assert initdb.returncode == 0, initdb.stdout + initdb.stderr
        # Durability settings off: the cluster dies with the test, and fsyncs would dominate its run time.
        server = supervisor.start(
            "postgres",
            [
                str(bin_dir / "postgres"),
                "-D",
                str(root / "data"),
                "-p",
                str(cluster.port),
                "-k",
                str(root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
            stop_signal=signal.SIGINT,  # "fast" shutdown: do not wait for clients to disconnect
            user=owner,
        )
        cluster.wait_ready(server)
        yield cluster
        supervisor.stop(server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """`free_port()` -> a loopback port nothing listens on."""
    return find_free_port
