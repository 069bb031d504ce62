"""The `lstmops` command line (`main`), with its `registry`, `score` and `monitor` commands."""

from lstmops.cli.main import app  # noqa: F401  the console script's entry point, `lstmops.cli:app`
