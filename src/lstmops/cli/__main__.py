"""`python -m lstmops.cli`."""

from lstmops.cli.main import main

main()
