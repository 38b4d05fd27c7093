"""Flakiness check: grade the solution and the whole catalogue N times while both cores are busy.

Every run must give every folder the same mark on every criterion. Each pass forces another
order in which the mocked replies of part 2 reach the student's tasks (grader/engine/worker/
mocks.py): by arrival, failures first, failures last, last arrived first. A mark that depends
on which reply comes first (a folder created at the first success, an error page handled
before it…) therefore shows up as unstable here. Too slow for CI; run it with
``nox -s flake`` (``-- --runs 4`` for one pass per order, ``-- --cas async`` for the cases
whose key contains « async » only).
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections import Counter
from pathlib import Path

from grader.engine.plans import REPLY_ORDER_VARIABLE
from grader.engine.worker.protocol import ReplyOrder
from tests.catalogue import CATALOGUE, Grade, all_targets, grade_all

REPLY_ORDERS = tuple(str(order) for order in ReplyOrder)


def _burn(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(i * i for i in range(10_000))


def _marks(grade: Grade) -> tuple[tuple[str, float], ...] | str:
    if not grade.ok:
        return f"pas de résultat : {grade.error}"
    return tuple(sorted((criterion, mark.score) for criterion, mark in grade.marks.items()))


def _differing(marks: set[object], every: Counter[object]) -> str:
    """The criteria whose score moved between passes, with the scores seen under one order."""
    tables = [dict(m) for m in every if isinstance(m, tuple)]
    moving = sorted({c for table in tables for c in table if len({t.get(c) for t in tables}) > 1})
    here = [dict(m) for m in marks if isinstance(m, tuple)]
    problems = [m for m in marks if isinstance(m, str)]
    shown = ", ".join(f"{c} = {sorted({t.get(c, 0.0) for t in here})}" for c in moving)
    return "; ".join([shown or "mêmes notes", *map(str, problems)])


def order_of_pass(run: int, orders: list[str]) -> str:
    """The reply order forced on pass ``run`` (from 1): the orders in turn."""
    return orders[(run - 1) % len(orders)]


def main() -> int:
    parser = argparse.ArgumentParser(description="Les notes sont-elles stables sous charge ?")
    parser.add_argument("--runs", type=int, default=20, help="nombre de passes (défaut : 20)")
    parser.add_argument("--burners", type=int, default=2, help="processus qui occupent le CPU (défaut : 2)")
    parser.add_argument(
        "--ordres",
        default=",".join(REPLY_ORDERS),
        help=f"ordres des réponses simulées, un par passe à tour de rôle (défaut : {','.join(REPLY_ORDERS)})",
    )
    parser.add_argument(
        "--cas", default="", help="ne corriger que les dossiers dont le nom contient ce texte"
    )
    args = parser.parse_args()
    orders = [order for order in args.ordres.split(",") if order]
    unknown = sorted(set(orders) - set(REPLY_ORDERS))
    if unknown or not orders:
        parser.error(
            f"ordres inconnus : {unknown or 'aucun ordre'} (ordres possibles : {', '.join(REPLY_ORDERS)})"
        )
    targets = {
        key: target
        for key, target in all_targets(CATALOGUE.mutants, CATALOGUE.variants).items()
        if args.cas in key
    }
    burners = [
        multiprocessing.Process(target=_burn, args=(24 * 3600,), daemon=True) for _ in range(args.burners)
    ]
    for burner in burners:
        burner.start()
    seen: dict[str, Counter[object]] = {key: Counter() for key in targets}
    by_order: dict[str, dict[str, set[object]]] = {key: {} for key in targets}
    start = time.perf_counter()
    try:
        for run in range(1, args.runs + 1):
            order = order_of_pass(run, orders)
            with tempfile.TemporaryDirectory(prefix="flake-") as scratch:
                grades = grade_all(targets.values(), Path(scratch), environment={REPLY_ORDER_VARIABLE: order})
            for key, grade in grades.items():
                marks = _marks(grade)
                seen[key][marks] += 1
                by_order[key].setdefault(order, set()).add(marks)
            unstable_now = sorted(key for key, marks in seen.items() if len(marks) > 1)
            print(
                f"passe {run}/{args.runs} (réponses : {order}) : {time.perf_counter() - start:.0f} s, "
                f"instables : {unstable_now or 'aucun'}"
            )
    finally:
        for burner in burners:
            burner.kill()
    unstable = {key: marks for key, marks in seen.items() if len(marks) > 1}
    print(
        f"\n{len(targets)} dossiers × {args.runs} passes, {args.burners} processus de charge, "
        f"ordres des réponses : {', '.join(orders)}."
    )
    for key in sorted(unstable):
        print(f"INSTABLE {key} :")
        for order, seen_marks in by_order[key].items():
            print(f"    réponses {order} : {_differing(seen_marks, unstable[key])}")
    print(
        "Résultat :",
        "notes identiques à chaque passe." if not unstable else f"{len(unstable)} dossier(s) instable(s).",
    )
    return 1 if unstable else 0


if __name__ == "__main__":
    raise SystemExit(main())
