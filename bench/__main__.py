"""Run every `bench/bench_*.py` script in turn (`python -m bench`), each in its own process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main() -> int:
    """Run the bench scripts; the exit code is the first failure's, else 0."""
    status = 0
    for script in sorted(BENCH_DIR.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        rc = subprocess.call([sys.executable, str(script)], cwd=BENCH_DIR.parent)
        status = status or rc
    return status


if __name__ == "__main__":
    sys.exit(main())
