"""Flakiness check: grade the solution and the whole catalogue N times while both cores are busy.

Every run must give every folder the same mark on every criterion. Too slow for CI; run it
with ``nox -s flake`` (``-- --runs 5`` for a shorter pass).
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.catalogue import CATALOGUE, Grade, all_targets, grade_all


def _burn(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(i * i for i in range(10_000))


def _marks(grade: Grade) -> tuple[tuple[str, float], ...] | str:
    if not grade.ok:
        return f"pas de résultat : {grade.error}"
    return tuple(sorted((criterion, mark.score) for criterion, mark in grade.marks.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description="Les notes sont-elles stables sous charge ?")
    parser.add_argument("--runs", type=int, default=20, help="nombre de passes (défaut : 20)")
    parser.add_argument("--burners", type=int, default=2, help="processus qui occupent le CPU (défaut : 2)")
    args = parser.parse_args()
    targets = all_targets(CATALOGUE.mutants, CATALOGUE.variants)
    burners = [
        multiprocessing.Process(target=_burn, args=(24 * 3600,), daemon=True) for _ in range(args.burners)
    ]
    for burner in burners:
        burner.start()
    seen: dict[str, Counter[object]] = {key: Counter() for key in targets}
    start = time.perf_counter()
    try:
        for run in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory(prefix="flake-") as scratch:
                grades = grade_all(targets.values(), Path(scratch))
            for key, grade in grades.items():
                seen[key][_marks(grade)] += 1
            unstable_now = sorted(key for key, marks in seen.items() if len(marks) > 1)
            print(
                f"passe {run}/{args.runs} : {time.perf_counter() - start:.0f} s, "
                f"instables : {unstable_now or 'aucun'}"
            )
    finally:
        for burner in burners:
            burner.kill()
    unstable = {key: marks for key, marks in seen.items() if len(marks) > 1}
    print(f"\n{len(targets)} dossiers × {args.runs} passes, {args.burners} processus de charge.")
    for key, marks in sorted(unstable.items()):
        print(f"INSTABLE {key} : {dict(marks)}")
    print(
        "Résultat :",
        "notes identiques à chaque passe." if not unstable else f"{len(unstable)} dossier(s) instable(s).",
    )
    return 1 if unstable else 0


if __name__ == "__main__":
    raise SystemExit(main())
