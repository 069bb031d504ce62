"""The team stack's deployment files hold together: Kubernetes manifests, the compose file, the images.

Kubernetes: every manifest validates against the API schemas that kubernetes-validate ships (offline),
and `kubectl kustomize` (when kubectl is installed) renders the whole set, generated ConfigMaps and
Secrets included, into resources that validate too.

Compose: no Docker engine or compose plugin runs here, so `docker compose config` is not available.
The file is checked the way compose would resolve it: its ${...} values interpolated from
.env.example, then every reference inside it (services, volumes, health checks, files, build
targets) and the team profile's choices (PostgreSQL, object store, auth, CPU/GPU pools).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
INFRA = PROJECT / "infra"
K8S = INFRA / "k8s"
KUBERNETES_VERSION = "1.31.0"
PLACEHOLDER = "change-me"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|AUTH_STRING|STORE_URI", re.I)


# ---------------------------------------------------------------- Kubernetes


def k8s_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def manifest_files() -> list[Path]:
    return sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


def test_the_kubernetes_set_is_a_namespace_mlflow_and_a_prefect_worker_allowed_to_run_jobs():
    kinds = {
        (doc["kind"], doc["metadata"]["name"]) for path in manifest_files() for doc in k8s_documents(path.read_text())
    }
    assert {
        ("Namespace", "lstmops"),
        ("Deployment", "mlflow"),
        ("Service", "mlflow"),
        ("Deployment", "prefect-worker"),
        ("ServiceAccount", "prefect-worker"),
        ("Role", "prefect-worker"),
        ("RoleBinding", "prefect-worker"),
    } <= kinds
    role = next(doc for path in manifest_files() for doc in k8s_documents(path.read_text()) if doc["kind"] == "Role")
    job_rule = next(rule for rule in role["rules"] if "jobs" in rule["resources"])
    assert {"create", "get", "list", "watch", "delete"} <= set(job_rule["verbs"])
    assert not any(doc["kind"] == "Secret" for path in manifest_files() for doc in k8s_documents(path.read_text())), (
        "Secrets are generated from git-ignored env files, never committed"
    )


@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: path.name)
def test_each_manifest_validates_against_the_kubernetes_api_schema(path):
    for doc in k8s_documents(path.read_text()):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_typo_in_a_manifest_is_caught_by_the_validator():
    deployment = next(doc for doc in k8s_documents((K8S / "mlflow.yaml").read_text()) if doc["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError, match="imagePullPolicyy"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_example_secret_files_hold_placeholders_only_and_the_real_ones_are_git_ignored():
    for example in sorted((K8S / "secrets").glob("*.env.example")):
        for key, value in env_file(example).items():
            if SECRET_NAME.search(key) or key.startswith("AWS_"):
                assert PLACEHOLDER in value, f"{example.name}: {key} must be a {PLACEHOLDER} placeholder"
        real = example.with_name(example.name.removesuffix(".example"))
        assert git_ignored(real), f"{real.relative_to(PROJECT)} would be committed"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) not installed")
def test_kustomize_renders_the_set_with_generated_config_into_valid_resources(tmp_path):
    overlay = tmp_path / "k8s"
    shutil.copytree(K8S, overlay)
    for example in (overlay / "secrets").glob("*.env.example"):
        shutil.copy(example, example.with_name(example.name.removesuffix(".example")))
    rendered = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr

    resources = k8s_documents(rendered.stdout)
    for doc in resources:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    by_kind = {
        (
            doc["kind"],
            doc["metadata"]["name"].rsplit("-", 1)[0]
            if doc["kind"] in ("ConfigMap", "Secret")
            else doc["metadata"]["name"],
        )
        for doc in resources
    }
    assert {
        ("ConfigMap", "prefect-gpu-job-template"),
        ("Secret", "mlflow-credentials"),
        ("Secret", "prefect-credentials"),
    } <= by_kind
    assert all(doc["metadata"].get("namespace") == "lstmops" for doc in resources if doc["kind"] != "Namespace")
    worker = next(
        doc for doc in resources if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "prefect-worker"
    )
    mounted = worker["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]
    template = next(doc for doc in resources if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == mounted)
    assert "nvidia.com/gpu" in template["data"]["gpu-job-template.json"]


def test_the_worker_starts_its_pool_from_the_gpu_job_template():
    template = json.loads((K8S / "gpu-job-template.json").read_text())
    assert "nvidia.com/gpu" in json.dumps(template["job_configuration"])
    worker = next(
        doc for doc in k8s_documents((K8S / "prefect-worker.yaml").read_text()) if doc["kind"] == "Deployment"
    )
    args = worker["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--type") + 1] == "kubernetes"
    assert args[args.index("--base-job-template") + 1] == "/etc/prefect/gpu-job-template.json"


# ---------------------------------------------------------------- compose

INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<named>[A-Za-z_]\w*))"
)
# Service keys of the compose specification that this file may use (a typo is an error).
SERVICE_KEYS = {
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "depends_on",
    "volumes",
    "ports",
    "healthcheck",
    "restart",
    "deploy",
    "profiles",
    "user",
    "working_dir",
    "networks",
    "labels",
    "secrets",
    "configs",
    "expose",
    "init",
    "stop_grace_period",
    "pull_policy",
}
DEPENDENCY_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def env_file(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$ rules; an unset required variable fails."""

    def value(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        name, op, arg = match["braced"] or match["named"], match["op"], match["arg"]
        if op in (":?", "?") and not env.get(name):
            raise AssertionError(f"compose needs {name}: {arg}")
        if op == ":-" and not env.get(name):
            return arg
        return env.get(name, "")

    return INTERPOLATION.sub(value, text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """infra/compose.yaml as compose resolves it with .env.example's values."""
    text = interpolate((INFRA / "compose.yaml").read_text(), env_file(INFRA / ".env.example"))
    return yaml.safe_load(text)


def command_text(service: dict[str, Any]) -> str:
    command = service.get("command", [])
    return " ".join(command) if isinstance(command, list) else command


def test_every_variable_the_compose_file_reads_is_in_env_example():
    used = {
        match["braced"] or match["named"]
        for match in INTERPOLATION.finditer((INFRA / "compose.yaml").read_text())
        if not match["escaped"]
    }
    assert used - set(env_file(INFRA / ".env.example")) == set()


def test_env_example_commits_no_secret_and_the_real_env_file_is_git_ignored():
    for key, value in env_file(INFRA / ".env.example").items():
        if SECRET_NAME.search(key) or key.endswith("SECRET_KEY"):
            assert PLACEHOLDER in value, f".env.example: {key} must be a {PLACEHOLDER} placeholder"
    assert git_ignored(INFRA / ".env")


def test_an_unset_secret_stops_compose_with_its_name():
    env = env_file(INFRA / ".env.example")
    del env["MLFLOW_ADMIN_PASSWORD"]
    with pytest.raises(AssertionError, match="MLFLOW_ADMIN_PASSWORD"):
        interpolate((INFRA / "compose.yaml").read_text(), env)


def test_every_reference_in_the_compose_file_resolves(compose):
    services, volumes = compose["services"], compose.get("volumes", {})
    used_volumes = set()
    for name, service in services.items():
        assert set(service) <= SERVICE_KEYS, f"{name}: unknown keys {set(service) - SERVICE_KEYS}"
        assert "image" in service or "build" in service, name
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert rule["condition"] in DEPENDENCY_CONDITIONS
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}, which has no healthcheck"
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (INFRA / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in volumes, f"{name} uses undeclared volume {source}"
                used_volumes.add(source)
        if "build" in service:
            build = service["build"]
            dockerfile = (INFRA / build["context"] / build["dockerfile"]).resolve()
            assert dockerfile.exists(), f"{name}: {dockerfile} missing"
            if "target" in build:
                assert re.search(rf"^FROM .+ AS {build['target']}$", dockerfile.read_text(), re.M), (
                    f"{name}: no stage {build['target']} in {dockerfile.name}"
                )
    assert used_volumes == set(volumes), f"declared but unused volumes: {set(volumes) - used_volumes}"


def test_the_team_profile_uses_postgres_the_object_store_and_authentication(compose):
    mlflow, prefect = compose["services"]["mlflow"], compose["services"]["prefect-server"]
    assert "--app-name basic-auth" in command_text(mlflow)
    assert "--artifacts-destination s3://mlflow-artifacts" in command_text(mlflow)
    assert mlflow["environment"]["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql+psycopg2://mlflow:")
    assert mlflow["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert prefect["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://prefect:")
    assert prefect["environment"]["PREFECT_SERVER_API_AUTH_STRING"]
    setup = command_text(compose["services"]["minio-setup"])
    assert "team/mlflow-artifacts" in setup and "team/dvc-store" in setup


def test_no_credential_is_passed_on_a_command_line(compose):
    secrets = {value for key, value in env_file(INFRA / ".env.example").items() if PLACEHOLDER in value}
    for name, service in compose["services"].items():
        command = command_text(service)
        assert not any(secret in command for secret in secrets), f"{name} has a credential in its command line"


def test_a_cpu_and_a_gpu_worker_serve_their_pools_and_the_gpu_one_reserves_an_nvidia_device(compose):
    cpu, gpu = compose["services"]["cpu-worker"], compose["services"]["gpu-worker"]
    assert "--pool cpu" in command_text(cpu) and "--pool gpu" in command_text(gpu)
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert any(device["driver"] == "nvidia" and "gpu" in device["capabilities"] for device in devices)
    for worker in (cpu, gpu):
        assert worker["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
        assert worker["environment"]["PREFECT_API_URL"] == "http://prefect-server:4200/api"
        assert (
            worker["environment"]["MLFLOW_TRACKING_USERNAME"]
            != compose["services"]["mlflow"]["environment"]["MLFLOW_AUTH_ADMIN_USERNAME"]
        ), "workers log in with their own account, not the admin's"


@pytest.mark.parametrize("dockerfile", ["Dockerfile.cpu", "Dockerfile.gpu"])
def test_images_run_as_a_non_root_user(dockerfile):
    text = (INFRA / "docker" / dockerfile).read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    runnable = [stage for stage in stages if re.search(r"^CMD ", stage, re.M)]
    assert runnable
    for stage in runnable:
        users = re.findall(r"^USER (\S+)", stage, re.M)
        assert users and users[-1] not in ("root", "0"), f"{dockerfile}: a stage runs as root"


def git_ignored(path: Path) -> bool:
    checked = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=PROJECT, capture_output=True)
    return checked.returncode == 0


def run_preflight(compose: dict[str, Any], env: dict[str, str]) -> subprocess.CompletedProcess:
    """The preflight one-shot's script, run by sh with the secrets compose would hand it."""
    preflight = compose["services"]["preflight"]
    script = preflight["command"][0]
    variables = {**preflight["environment"], **{k: v for k, v in env.items() if k in preflight["environment"]}}
    return subprocess.run(["/bin/sh", "-ec", script], env=variables, capture_output=True, text=True, timeout=30)


@pytest.mark.faults
def test_the_example_passwords_stop_the_stack_before_anything_holds_data(compose):
    refused = run_preflight(compose, env_file(INFRA / ".env.example"))

    assert refused.returncode == 1
    assert "change-me placeholders" in refused.stderr and "POSTGRES_PASSWORD" in refused.stderr
    assert "PREFECT_API_AUTH_STRING" in refused.stderr
    for data_service in ("postgres", "minio"):
        assert compose["services"][data_service]["depends_on"]["preflight"] == {
            "condition": "service_completed_successfully"
        }
    secrets = compose["services"]["preflight"]["environment"]["SECRET_NAMES"].split()
    assert len(secrets) == 9
    real = {name: f"{name.lower()}-Kx81q" for name in secrets}
    assert run_preflight(compose, real).returncode == 0
    one_left = {**real, "MLFLOW_WORKER_PASSWORD": "change-me-mlflow-worker"}
    assert "in: MLFLOW_WORKER_PASSWORD" in run_preflight(compose, one_left).stderr
