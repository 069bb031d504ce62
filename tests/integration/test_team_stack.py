"""The team profile end to end, on loopback ports: the same code, pointed at servers by configuration.

A throwaway PostgreSQL cluster gets the databases and roles that infra/postgres/create-databases.sh
gives the compose stack. `mlflow server` runs on it with the basic-auth app (infra/mlflow/basic_auth.ini)
and proxied artifacts; `prefect server` runs on it with basic auth. A process work pool is created and
the `retrain` flow deployed with the Prefect CLI, a worker started, the deployment run; then the MLflow
and Prefect APIs must show the runs, metrics, artifacts (downloaded through the server), the registry's
decisions and aliases, and no credential anywhere in logs, params, tags or artifacts.

The artifact destination is a local directory (file://): no S3-compatible store runs here. With
MinIO the only change is `--artifacts-destination s3://...` plus the S3 endpoint and keys.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests
import yaml

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ADMIN, WORKER, PREFECT_USER = "admin", "lstmops-worker", "lstmops"
POOL, DEPLOYMENT = "team-cpu", "retrain/team-stack"
SERIES = {"forecaster": "DEMOA", "autoencoder": "demo/machine_a", "seq2seq": "demo/machine_a"}
KINDS = tuple(SERIES)
FLOW_TIMEOUT_S = 1800  # a bound for a hung run; the run takes minutes
# Small enough for CI's two cores: this test is about where runs go, not how good the models are.
TINY = {
    "prices.tickers": ["DEMOA"],
    "prices.demo.n_days": 300,
    "sensors.series": ["demo/machine_a"],
    "sensors.demo.n_points": 1000,
    "windows.sensors.window": 32,
    "models.forecaster.units": [16],
    "models.forecaster.backtest_folds": 0,
    "models.autoencoder.units": 16,
    "models.seq2seq.units": 16,
    "models.seq2seq.window": 48,
    "models.seq2seq.horizon": 12,
    "models.seq2seq.seasons": [48, 288],
    "train.epochs": 2,
    "train.verbose": 0,
}
# Variables of the developer's shell that would point a child process somewhere else.
FOREIGN_SETTINGS = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "PREFECT_API_URL",
    "PREFECT_API_KEY",
    "PREFECT_API_AUTH_STRING",
    "PREFECT_HOME",
    "PREFECT_PROFILES_PATH",
)


@dataclass
class TeamStack:
    mlflow_url: str
    prefect_api_url: str
    artifacts: Path  # the MLflow server's artifact destination
    credentials: dict[str, str]  # what each secret is -> its value
    home: Path  # scratch space for clients

    @property
    def prefect_auth(self) -> str:
        return f"{PREFECT_USER}:{self.credentials['prefect password']}"

    def client_env(self, **extra: str) -> dict[str, str]:
        """Environment of a process that talks to both servers (a CLI call, the worker)."""
        base = {key: value for key, value in os.environ.items() if key not in FOREIGN_SETTINGS}
        return {
            **base,
            "DO_NOT_TRACK": "1",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "PREFECT_API_URL": self.prefect_api_url,
            "PREFECT_API_AUTH_STRING": self.prefect_auth,
            "MLFLOW_TRACKING_URI": self.mlflow_url,
            **extra,
        }

    def prefect(self, *args: str, cwd: Path = PROJECT, timeout: float = 300) -> str:
        """Run the Prefect CLI as a team member's shell would, against the team's server."""
        done = subprocess.run(
            [str(BIN / "prefect"), "--no-prompt", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.client_env(PREFECT_HOME=str(self.home / "cli")),
        )
        assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout


def server_env(**settings: str) -> dict[str, str]:
    base = {key: value for key, value in os.environ.items() if key not in FOREIGN_SETTINGS}
    return {
        **base,
        "DO_NOT_TRACK": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        **settings,
    }


def create_team_databases(postgres, mlflow_password: str, prefect_password: str) -> None:
    """Run the compose stack's init script against the throwaway cluster."""
    done = subprocess.run(
        ["sh", str(PROJECT / "infra" / "postgres" / "create-databases.sh")],
        capture_output=True,
        text=True,
        env={
            "PATH": f"{postgres.bin_dir}{os.pathsep}{os.environ['PATH']}",
            "PGHOST": postgres.host,
            "PGPORT": str(postgres.port),
            "PGPASSWORD": postgres.password,
            "POSTGRES_USER": postgres.user,
            "MLFLOW_DB_PASSWORD": mlflow_password,
            "PREFECT_DB_PASSWORD": prefect_password,
        },
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def auth_config(folder: Path) -> Path:
    """infra/mlflow/basic_auth.ini with its user store moved from the server's volume to `folder`."""
    config = configparser.ConfigParser()
    config.read(PROJECT / "infra" / "mlflow" / "basic_auth.ini")
    config["mlflow"]["database_uri"] = f"sqlite:///{folder / 'basic_auth.db'}"
    path = folder / "basic_auth.ini"
    with path.open("w") as sink:
        config.write(sink)
    return path


@pytest.fixture(scope="module")
def team_stack(postgres, supervisor, free_port, tmp_path_factory) -> Iterator[TeamStack]:
    if importlib.util.find_spec("flask_wtf") is None:
        pytest.fail("MLflow's basic-auth app needs Flask-WTF: install mlflow[auth] (see pyproject's dev extra)")
    root = tmp_path_factory.mktemp("team")
    credentials = {
        name: secrets.token_urlsafe(18)
        for name in (
            "mlflow db password",
            "prefect db password",
            "mlflow admin password",
            "mlflow worker password",
            "flask secret key",
            "prefect password",
        )
    }
    credentials["postgres superuser password"] = postgres.password
    create_team_databases(postgres, credentials["mlflow db password"], credentials["prefect db password"])
    db = f"{postgres.host}:{postgres.port}"

    mlflow_port, prefect_port = free_port(), free_port()
    mlflow = supervisor.start(
        "mlflow-server",
        [
            str(BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(mlflow_port),
            "--workers",
            "1",
            "--serve-artifacts",
            "--artifacts-destination",
            (root / "artifacts").as_uri(),
            "--app-name",
            "basic-auth",
        ],
        env=server_env(
            MLFLOW_BACKEND_STORE_URI=f"postgresql+psycopg2://mlflow:{credentials['mlflow db password']}@{db}/mlflow",
            MLFLOW_AUTH_CONFIG_PATH=str(auth_config(root)),
            MLFLOW_AUTH_ADMIN_USERNAME=ADMIN,
            MLFLOW_AUTH_ADMIN_PASSWORD=credentials["mlflow admin password"],
            MLFLOW_FLASK_SERVER_SECRET_KEY=credentials["flask secret key"],
            MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
        ),
    )
    prefect = supervisor.start(
        "prefect-server",
        [
            str(BIN / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(prefect_port),
            "--no-ui",
        ],
        env=server_env(
            PREFECT_HOME=str(root / "prefect-server"),
            PREFECT_API_DATABASE_CONNECTION_URL=(
                f"postgresql+asyncpg://prefect:{credentials['prefect db password']}@{db}/prefect"
            ),
            PREFECT_SERVER_API_AUTH_STRING=f"{PREFECT_USER}:{credentials['prefect password']}",
        ),
    )
    stack = TeamStack(
        f"http://127.0.0.1:{mlflow_port}", f"http://127.0.0.1:{prefect_port}/api", root / "artifacts", credentials, root
    )
    supervisor.wait_for_http(mlflow, f"{stack.mlflow_url}/health", timeout=300)
    supervisor.wait_for_http(prefect, f"{stack.prefect_api_url}/health", timeout=300)

    # The workers' own account, made the way the compose stack's mlflow-users one-shot makes it.
    created = subprocess.run(
        [sys.executable, str(PROJECT / "infra" / "mlflow" / "ensure_user.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=stack.client_env(
            MLFLOW_TRACKING_USERNAME=ADMIN,
            MLFLOW_TRACKING_PASSWORD=credentials["mlflow admin password"],
            LSTMOPS_NEW_USERNAME=WORKER,
            LSTMOPS_NEW_PASSWORD=credentials["mlflow worker password"],
        ),
    )
    assert created.returncode == 0 and "created" in created.stdout, created.stdout + created.stderr
    yield stack
    supervisor.stop(prefect)
    supervisor.stop(mlflow)


@dataclass
class RetrainRun:
    flow_run: Any  # prefect.client.schemas.objects.FlowRun
    worker_log: Path


def prefect_settings(stack: TeamStack):
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    return temporary_settings(
        updates={PREFECT_API_URL: stack.prefect_api_url, PREFECT_API_AUTH_STRING: stack.prefect_auth}
    )


@pytest.fixture(scope="module")
def retrain_run(team_stack, supervisor, tmp_path_factory) -> Iterator[RetrainRun]:
    """Pool, deployment and worker as docs/team-setup.md sets them up; one run of the retrain flow."""
    from prefect.deployments import run_deployment

    scratch = tmp_path_factory.mktemp("retrain")
    # Like the worker images' /opt/lstmops: the flows and params.yaml in a folder of their own, where
    # the flow runs write their data and registry locks (the installed `lstmops` package does the work).
    app = scratch / "app"
    shutil.copytree(PROJECT / "flows", app / "flows", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT / "params.yaml", app / "params.yaml")
    (app / "prefect.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "lstmops-team-stack-test",
                "pull": [{"prefect.deployments.steps.set_working_directory": {"directory": str(app)}}],
                "deployments": [
                    {
                        "name": DEPLOYMENT.split("/")[1],
                        "entrypoint": "flows/retrain.py:retrain",
                        "work_pool": {"name": POOL},
                        "parameters": {"params_file": "params.yaml", "overrides": TINY},
                    }
                ],
            }
        )
    )
    team_stack.prefect("work-pool", "create", POOL, "--type", "process")
    team_stack.prefect("deploy", "--all", cwd=app)
    # Credentials reach the flow run through the worker's environment only, never through the deployment.
    worker = supervisor.start(
        "prefect-worker",
        [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--type", "process"],
        cwd=scratch,
        env=team_stack.client_env(
            PREFECT_HOME=str(scratch / "worker-home"),
            MLFLOW_TRACKING_USERNAME=WORKER,
            MLFLOW_TRACKING_PASSWORD=team_stack.credentials["mlflow worker password"],
        ),
    )
    with prefect_settings(team_stack):
        flow_run = run_deployment(DEPLOYMENT, timeout=FLOW_TIMEOUT_S, poll_interval=2)
    yield RetrainRun(flow_run, worker.log)
    supervisor.stop(worker)
    assert supervisor.still_running().get(worker.name) is None, "the worker or a flow run outlived the stop"


@pytest.fixture
def mlflow_admin(team_stack):
    """An MlflowClient of the tracking server, logged in as the admin."""
    from mlflow import MlflowClient

    with mock.patch.dict(
        os.environ,
        {
            "MLFLOW_TRACKING_USERNAME": ADMIN,
            "MLFLOW_TRACKING_PASSWORD": team_stack.credentials["mlflow admin password"],
        },
    ):
        yield MlflowClient(tracking_uri=team_stack.mlflow_url, registry_uri=team_stack.mlflow_url)


# ---------------------------------------------------------------- authentication


def test_mlflow_refuses_requests_without_valid_credentials_and_serves_the_accounts(team_stack):
    search = f"{team_stack.mlflow_url}/api/2.0/mlflow/experiments/search?max_results=5"
    artifacts = f"{team_stack.mlflow_url}/api/2.0/mlflow-artifacts/artifacts"

    anonymous = requests.get(search, timeout=60)
    wrong = requests.get(search, auth=(ADMIN, "not-the-password"), timeout=60)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")
    assert wrong.status_code == 401
    assert requests.get(artifacts, timeout=60).status_code == 401, "proxied artifacts are protected too"

    for user, password in (
        (ADMIN, team_stack.credentials["mlflow admin password"]),
        (WORKER, team_stack.credentials["mlflow worker password"]),
    ):
        answer = requests.get(search, auth=(user, password), timeout=60)
        assert answer.status_code == 200, f"{user}: {answer.status_code} {answer.text[:200]}"
        assert "experiments" in answer.json()


def test_prefect_refuses_requests_without_its_credentials(team_stack):
    flows = f"{team_stack.prefect_api_url}/flows/filter"
    assert requests.post(flows, json={}, timeout=60).status_code == 401
    assert requests.post(flows, json={}, auth=(PREFECT_USER, "wrong"), timeout=60).status_code == 401
    assert (
        requests.post(
            flows, json={}, auth=(PREFECT_USER, team_stack.credentials["prefect password"]), timeout=60
        ).status_code
        == 200
    )


# ---------------------------------------------------------------- the retrain flow through a worker


def test_the_retrain_flow_completes_on_the_worker(retrain_run):
    state = retrain_run.flow_run.state
    assert state is not None and state.is_completed(), (
        f"flow run ended {state.name if state else 'without a state'}; worker log:\n"
        + retrain_run.worker_log.read_text(errors="replace")[-6000:]
    )


def test_every_model_kind_has_a_finished_run_with_metrics_and_proxied_artifacts(
    retrain_run, team_stack, mlflow_admin, tmp_path
):
    for kind in KINDS:
        experiment = mlflow_admin.get_experiment_by_name(f"lstmops-{kind}")
        assert experiment is not None, f"no experiment for {kind}"
        runs = mlflow_admin.search_runs([experiment.experiment_id])
        assert [run.info.status for run in runs] == ["FINISHED"]
        run = runs[0]
        assert run.data.metrics, f"{kind}: no metrics"
        assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), "artifacts go through the server"

        downloaded = Path(mlflow_admin.download_artifacts(run.info.run_id, "config/params.yaml", str(tmp_path / kind)))
        relative = run.info.artifact_uri.removeprefix("mlflow-artifacts:/")
        stored = team_stack.artifacts / relative / "config" / "params.yaml"
        assert downloaded.read_bytes() == stored.read_bytes(), "the client read what the server stored"
        assert yaml.safe_load(downloaded.read_text())["train"]["epochs"] == TINY["train.epochs"]


def test_the_registry_holds_each_model_its_gate_decision_and_the_aliases_it_moved(
    retrain_run, team_stack, mlflow_admin, tmp_path
):
    from mlflow.artifacts import download_artifacts

    from lstmops.registry.versions import registered_model_name

    for kind in KINDS:
        name = registered_model_name(kind, SERIES[kind])
        model = mlflow_admin.get_registered_model(name)
        version = mlflow_admin.get_model_version(name, "1")
        decision = version.tags.get("gate.decision")
        assert decision in ("promoted", "rejected"), f"{name} v1 has no gate decision"
        (entry,) = [json.loads(value) for key, value in model.tags.items() if key.startswith("audit.")]
        # The gate made v1 @challenger before judging it; after the decision only a promotion leaves an alias.
        assert entry["aliases_before"] == {"challenger": "1"}, name
        serving = {alias: str(number) for alias, number in model.aliases.items()}
        assert serving == entry["aliases_after"] == ({"champion": "1"} if decision == "promoted" else {}), name

        # The version's source is the logged model; its files live behind the server's artifact proxy.
        logged = mlflow_admin.get_logged_model(version.source.removeprefix("models:/"))
        assert logged.artifact_location.startswith("mlflow-artifacts:/")
        mlmodel = Path(
            download_artifacts(
                artifact_uri=f"{logged.artifact_location}/MLmodel",
                dst_path=str(tmp_path / kind),
                tracking_uri=team_stack.mlflow_url,
            )
        )
        assert yaml.safe_load(mlmodel.read_text())["model_id"] == logged.model_id, f"{name} v1's MLmodel"


# ---------------------------------------------------------------- credentials stay secret


def test_no_credential_appears_in_logs_params_tags_or_artifacts(retrain_run, team_stack, supervisor, mlflow_admin):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    places: dict[str, str] = {}
    for log in sorted(supervisor.log_dir.glob("*.log")):
        places[f"log {log.name}"] = log.read_text(errors="replace")
    for kind in KINDS:
        experiment = mlflow_admin.get_experiment_by_name(f"lstmops-{kind}")
        for run in mlflow_admin.search_runs([experiment.experiment_id]):
            places[f"{kind} run params+tags"] = repr(run.data.params) + repr(run.data.tags)
    # Everything the server stored: run artifacts and the logged models.
    for file in team_stack.artifacts.rglob("*"):
        if file.is_file():
            places[f"artifact {file.relative_to(team_stack.artifacts)}"] = file.read_bytes().decode(errors="replace")
    for model in mlflow_admin.search_registered_models():
        places[f"model {model.name}"] = (
            repr(model.tags)
            + (model.description or "")
            + repr([(v.tags, v.description) for v in mlflow_admin.search_model_versions(f"name='{model.name}'")])
        )
    with prefect_settings(team_stack), get_client(sync_client=True) as prefect:
        flow_run = prefect.read_flow_run(retrain_run.flow_run.id)
        deployment = prefect.read_deployment(flow_run.deployment_id)
        logs = prefect.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])))
    places["flow run parameters"] = repr(flow_run.parameters) + repr(flow_run.job_variables)
    places["deployment"] = repr(deployment.parameters) + repr(deployment.job_variables) + repr(deployment.pull_steps)
    places["flow run logs"] = "\n".join(log.message for log in logs)
    assert len(places) > 10 and places["flow run logs"], "the search must have material to search"

    leaks = [
        f"{what} in {where}"
        for where, text in places.items()
        for what, secret in team_stack.credentials.items()
        if secret in text
    ]
    assert leaks == []
