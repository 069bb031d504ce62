"""Create an MLflow basic-auth account if it does not exist yet (the workers' own, non-admin identity).

Runs as an admin against a running server; everything comes from the environment, nothing from the
command line (which other processes on the host can read):
    MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD  (an admin)
    LSTMOPS_NEW_USERNAME / LSTMOPS_NEW_PASSWORD                               (the account to create)
An existing account is left as it is: change its password through MLflow's update-password API.
"""

from __future__ import annotations

import os
import sys

from mlflow.exceptions import RestException
from mlflow.server import get_app_client


def ensure_user(tracking_uri: str, username: str, password: str) -> bool:
    """True if the account was created, False if it already existed."""
    auth = get_app_client("basic-auth", tracking_uri=tracking_uri)
    try:
        auth.create_user(username=username, password=password)
    except RestException as err:
        if err.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return False
    return True


def main() -> int:
    missing = [
        name
        for name in (
            "MLFLOW_TRACKING_URI",
            "MLFLOW_TRACKING_USERNAME",
            "MLFLOW_TRACKING_PASSWORD",
            "LSTMOPS_NEW_USERNAME",
            "LSTMOPS_NEW_PASSWORD",
        )
        if not os.environ.get(name)
    ]
    if missing:
        print(f"ensure_user: set {', '.join(missing)}", file=sys.stderr)
        return 2
    username = os.environ["LSTMOPS_NEW_USERNAME"]
    created = ensure_user(os.environ["MLFLOW_TRACKING_URI"], username, os.environ["LSTMOPS_NEW_PASSWORD"])
    print(f"MLflow user {username!r} {'created' if created else 'already exists'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
