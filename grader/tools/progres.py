"""``nox -s progres``: the local history of grades, in French: marks over time, and what each
grade gained or lost compared with the previous grade of the same folder.

It only reads ``.correction/historique.jsonl`` (written by ``nox -s grade``); lines it cannot
read are skipped and counted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from grader.engine import history
from grader.engine.criteria import CRITERIA, TOTAL_POINTS
from grader.engine.french_numbers import fr_number
from grader.engine.text import for_console, one_line
from grader.tools.french_cli import FrenchArgumentParser

DEFAULT_SHOWN = 20
MAX_TARGET_CHARS = 40
ORDER = {criterion.id: index for index, criterion in enumerate(CRITERIA)}


def _sorted(criteria: set[str] | frozenset[str]) -> list[str]:
    return sorted(criteria, key=ORDER.__getitem__)


def _when(entry: history.Entry) -> str:
    return datetime.fromisoformat(entry.time).strftime("%d/%m %H:%M")


def _mark(value: float) -> str:
    return f"{fr_number(value, trim=True)}/{fr_number(TOTAL_POINTS, trim=True)}"


def _change(entry: history.Entry, before: history.Entry | None) -> str:
    if before is None:
        return "première correction de ce dossier"
    difference = entry.mark - before.mark
    sign = "+" if difference > 0 else "-" if difference < 0 else ""
    pieces = [f"{sign}{fr_number(abs(difference), trim=True)}"]
    gained, lost = entry.passed - before.passed, before.passed - entry.passed
    if gained:
        pieces.append(f"réussis : {', '.join(_sorted(gained))}")
    if lost:
        pieces.append(f"de nouveau perdus : {', '.join(_sorted(lost))}")
    if not gained and not lost:
        pieces.append("mêmes critères réussis")
    return " ; ".join(pieces)


def _skipped(count: int) -> list[str]:
    return [f"({count} ligne(s) illisible(s) ignorée(s) dans {history.HISTORY_NAME}.)"] if count else []


def render(entries: Sequence[history.Entry], skipped: int = 0, shown: int = DEFAULT_SHOWN) -> str:
    """The history as French lines: one per grade (the ``shown`` latest), then where things stand."""
    if not entries:
        lines = ["Aucune correction dans l'historique pour l'instant : lancez poetry run -- nox -s grade"]
        lines += _skipped(skipped)
        return "\n".join(lines)
    previous: dict[str, history.Entry] = {}
    rows: list[tuple[history.Entry, str]] = []
    for entry in entries:
        rows.append((entry, _change(entry, previous.get(entry.target))))
        previous[entry.target] = entry
    kept = rows[-shown:]
    lines = [f"Vos corrections ({len(entries)} au total, les {len(kept)} dernières) :", ""]
    width = max(len(one_line(entry.target, MAX_TARGET_CHARS)) for entry, _ in kept)
    for entry, change in kept:
        target = one_line(entry.target, MAX_TARGET_CHARS).ljust(width)
        lines.append(f"  {_when(entry)}  {target}  {_mark(entry.mark):>8}  {change}")
    lines.append("")
    for target, last in previous.items():
        best = max(entry.mark for entry in entries if entry.target == target)
        left = _sorted(set(last.lost))
        todo = _sorted(set(last.not_done))
        name = one_line(target, MAX_TARGET_CHARS)
        lines.append(f"{name} : dernière note {_mark(last.mark)}, meilleure {_mark(best)}.")
        if left:
            lines.append(f"  À revoir : {', '.join(left)}")
        if todo:
            lines.append(f"  Pas encore faits : {', '.join(todo)}")
        if not left and not todo:
            lines.append("  Tous les critères sont réussis.")
    return "\n".join(lines + _skipped(skipped))


def main(argv: Sequence[str] | None = None, path: Path = history.HISTORY_FILE) -> int:
    parser = FrenchArgumentParser(
        prog="nox -s progres --",
        description="Affiche l'historique local de vos corrections (nox -s grade) : notes, critères "
        "gagnés et perdus d'une correction à l'autre.",
    )
    parser.add_argument(
        "--toutes",
        action="store_true",
        help=f"toutes les corrections (par défaut : les {DEFAULT_SHOWN} dernières)",
    )
    parser.add_argument(
        "--fichier",
        type=Path,
        default=path,
        help=f"l'historique à lire (par défaut : {history.HISTORY_NAME})",
    )
    arguments = parser.parse_args(argv)
    entries, skipped = history.read_counting(arguments.fichier)
    shown = len(entries) if arguments.toutes else DEFAULT_SHOWN
    output = render(entries, skipped, max(shown, 1)) + "\n"
    sys.stdout.write(for_console(output, getattr(sys.stdout, "encoding", None)))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
