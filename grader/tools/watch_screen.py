"""The watch screen: the mark, one line per criterion, the first lost criterion in full, the status."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.engine import text
from grader.engine.criteria import PART_TITLES, TOTAL_POINTS
from grader.engine.french_numbers import fr_number
from grader.engine.paths import PART_FILES, PARTS, shown_path
from grader.tools.watch_files import POLL_DELAY_MS

CLEAR = "\x1b[2J\x1b[H"
RULE = "-" * 72


@dataclass
class PartVerdict:
    criteria: list[dict[str, Any]]
    at: str

    @property
    def score(self) -> float:
        return round(sum(float(c["score"]) for c in self.criteria) + 1e-9, 2)

    @property
    def points(self) -> float:
        return sum(float(c["points"]) for c in self.criteria)


@dataclass
class Screen:
    """What the watcher knows, and how it is drawn."""

    target: Path
    verdicts: dict[str, PartVerdict | None] = field(default_factory=lambda: dict.fromkeys(PARTS))
    running: tuple[str, ...] = ()
    failure: str = ""
    polling: str = ""  # why the watcher polls ('' with the system's events)
    grades: int = 0

    def mark(self) -> str:
        if any(verdict is None for verdict in self.verdicts.values()):
            return "Note : …"
        total = sum(verdict.score for verdict in self.verdicts.values() if verdict is not None)
        return f"Note : {fr_number(round(total + 1e-9, 2), trim=True)}/{fr_number(TOTAL_POINTS, trim=True)}"

    def lines(self) -> list[str]:
        shown = f"{shown_path(self.target)}{os.sep}"
        lines = [f"Correction en continu de {text.one_line(shown)}", ""]
        first_lost: dict[str, Any] | None = None
        for part in PARTS:
            verdict = self.verdicts[part]
            state = "  (correction en cours…)" if part in self.running else ""
            lines.append(f"{PART_TITLES[part]}{state}")
            if verdict is None:
                lines.append("  pas encore corrigée")
            else:
                for criterion in verdict.criteria:
                    lines.append("  " + _criterion_line(criterion))
                    if first_lost is None and not criterion["passed"]:
                        first_lost = criterion
            lines.append("")
        lines.append(self.mark())
        if self.failure:
            lines += ["", self.failure]
        if first_lost is not None:
            lines += ["", *_in_full(first_lost)]
        elif all(verdict is not None for verdict in self.verdicts.values()):
            lines += ["", "Tous les critères sont validés. Bravo !"]
        lines += ["", RULE, self.status()]
        return lines

    def status(self) -> str:
        files = " et ".join(PART_FILES.values())
        how = f"par scrutation toutes les {POLL_DELAY_MS} ms ({self.polling})" if self.polling else ""
        watched = f"Surveillés{' ' + how if how else ''} : {files}."
        done = f" Corrections faites : {self.grades}." if self.grades else ""
        return f"{watched}{done} Enregistrez un fichier pour le recorriger ; Ctrl-C pour quitter."


def _criterion_line(criterion: dict[str, Any]) -> str:
    points = f"{fr_number(criterion['score'], trim=True)}/{fr_number(criterion['points'], trim=True)}"
    if criterion["passed"]:
        mark, state = "✓", ""
    elif criterion["not_done"]:
        mark, state = "✗", "pas encore fait"
    else:
        mark, state = "✗", "à revoir"
    return f"{mark} {criterion['id']:<18} {criterion['title']:<58} {points:>7}  {state}".rstrip()


def _in_full(criterion: dict[str, Any]) -> list[str]:
    """The first criterion lost: what was observed, and the hint (each check that failed)."""
    lines = [f"■ Premier critère à travailler : {criterion['id']} — {criterion['title']}"]
    for title, message in criterion["feedback"]:
        block = text.multi_line(f"  • {title} : " + str(message).replace("\n", "\n    "))
        # As in the report: no line quoted from the student's run can pass for the mark line.
        lines += [text.defuse_marks(line) for line in block.split("\n")]
    return lines
