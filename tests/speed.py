"""Times ``nox -s grade`` on the solution and on the skeleton (median of several runs)."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_grade(target: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "nox", "-s", "grade", "--", target, "--results=/dev/null"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description="Durée de « nox -s grade » (médiane).")
    parser.add_argument("--runs", type=int, default=7, help="lancements par cible (défaut : 7)")
    args = parser.parse_args()
    time_grade("solution")  # warm-up: bytecode caches
    for target in ("solution", "skeleton"):
        durations = [time_grade(target) for _ in range(args.runs)]
        shown = ", ".join(f"{d:.2f}" for d in durations)
        print(f"nox -s grade -- {target:<8} : médiane {statistics.median(durations):.2f} s ({shown})")


if __name__ == "__main__":
    main()
