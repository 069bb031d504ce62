"""Screenshots of what a user opens after `make run`, taken with headless Chromium (not run in CI).

    python scripts/screenshots.py [--out screenshots/] [--model forecaster-DEMOB] [--port 5055]

Needs Debian's `chromium` (`apt-get install -y chromium`) and a store `make run` filled (the working
directory's `mlruns/`, or MLFLOW_TRACKING_URI). It:
1. starts `mlflow ui` on 127.0.0.1:<port> (stopped by its PID at the end, whatever happens);
2. starts `lstmops train <kind> --series <series> --no-register` in the background, with epochs and
   patience raised so that it is still training while the shots are taken (a shot of a page with
   charts takes up to a minute here), shoots its MLflow run page (status Running, epoch curves so
   far), then stops it by PID;
3. shoots the registered model's page and its version page in the MLflow UI;
4. writes the model's review report (`lstmops registry review`) and shoots it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not found:
        sys.exit("no chromium on PATH: apt-get install -y chromium")
    return found


def shoot(url: str, out: Path, *, wait_ms: int = 12000, size: str = "1500,1100") -> Path:
    """One PNG of `url` after `wait_ms` of page time (the MLflow UI renders with JavaScript; its metric
    charts draw only with every compositor stage run before the shot)."""
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--run-all-compositor-stages-before-draw",
            f"--window-size={size}",
            f"--virtual-time-budget={wait_ms}",
            f"--screenshot={out}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"  {out}  <- {url}")
    return out


def stop(process: subprocess.Popen, *, interrupt: bool = False) -> None:
    """Stop a process we started, by its PID: SIGINT first when `interrupt` (a training then ends its
    MLflow run as KILLED, as Ctrl-C would), then SIGTERM, then SIGKILL, 10 s apart."""
    if interrupt and process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_for(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def running_run(experiment: str, timeout: float = 180):
    """The first RUNNING run of `experiment` (the background training's), once it has logged an epoch."""
    import mlflow

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = mlflow.search_runs(
            experiment_names=[experiment], filter_string="attributes.status = 'RUNNING'", output_format="list"
        )
        if runs and any(key.startswith("epoch/") for key in runs[0].data.metrics):
            return runs[0]
        time.sleep(2)
    raise TimeoutError(f"no running run with epochs in {experiment} within {timeout:.0f} s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--model", default="forecaster-DEMOB")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--wait-s", type=float, default=10, help="training seconds before the live shot")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT / "src"))
    import mlflow

    from lstmops.tracking.store import configure_tracking

    uri = configure_tracking()
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MLFLOW_TRACKING_URI": uri}
    bin_dir = Path(sys.executable).parent
    ui_url = f"http://127.0.0.1:{args.port}"
    ui = subprocess.Popen(
        [str(bin_dir / "mlflow"), "ui", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(args.port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    training = None
    try:
        wait_for(f"{ui_url}/health")
        kind, series = args.model.split("-", 1)
        training = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lstmops.cli",
                "train",
                kind,
                "--series",
                series.replace("__", "/"),
                "--no-register",
                # long enough to be watched; stopped by PID once shot
                *("--set", "train.epochs=1000", "--set", f"models.{kind}.train.patience=1000"),
            ],
            env=env,
            cwd=Path.cwd(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        run = running_run(f"lstmops-{kind}")
        time.sleep(args.wait_s)
        base = f"{ui_url}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
        print(f"live run {run.info.run_name} ({run.info.run_id}):")
        shoot(base, args.out / "mlflow-run-live.png")
        shoot(f"{base}/model-metrics", args.out / "mlflow-run-live-metrics.png", wait_ms=60000)
        stop(training, interrupt=True)

        champion = mlflow.MlflowClient().get_registered_model(args.model).aliases.get("champion", "1")
        print("registry:")
        shoot(f"{ui_url}/#/models/{args.model}", args.out / "mlflow-model.png")
        shoot(f"{ui_url}/#/models/{args.model}/versions/{champion}", args.out / "mlflow-model-version.png")

        done = subprocess.run(
            [sys.executable, "-m", "lstmops.cli", "registry", "review", args.model],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        report = Path(done.stdout.strip().rsplit(" ", 1)[-1]).resolve()
        print("review report:")
        shoot(report.as_uri(), args.out / "review-report.png", wait_ms=3000, size="1300,2400")
    finally:
        if training is not None:
            stop(training, interrupt=True)
        stop(ui)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
