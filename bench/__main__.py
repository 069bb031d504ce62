"""`python -m bench [NAME ...] [--quick] [--skip NAME ...]`: the same as `python bench/run.py`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/'s scripts import each other by name
from run import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
