"""notes.csv: one line per student, for LibreOffice and Excel in a French locale.

Semicolon separator, decimal comma, UTF-8 with a byte order mark (Excel then reads the
accents right), CRLF line ends. A cell that a spreadsheet would take for a formula is
prefixed with an apostrophe: a folder name is not a place to run code from.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from grader.batch.outcome import StudentOutcome
from grader.batch.scale import CRITERIA, TOTAL_POINTS
from grader.engine.french_numbers import fr_number

FILE_NAME = "notes.csv"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def header() -> list[str]:
    return [
        "Étudiant",
        f"Note /{fr_number(TOTAL_POINTS, trim=True)}",
        *(f"{criterion.id} /{fr_number(criterion.points, trim=True)}" for criterion in CRITERIA),
        "Statut",
        "Durée de correction (s)",
        "Dossier",
        "Commentaire",
    ]


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def row(outcome: StudentOutcome) -> list[str]:
    marks = []
    for criterion in CRITERIA:
        test = outcome.report.test(criterion.id)
        marks.append(fr_number(test.score, trim=True) if test else "")
    return [
        _text(outcome.student),
        fr_number(outcome.score, trim=True),
        *marks,
        outcome.statut,
        fr_number(outcome.elapsed, 1, trim=True),
        _text(outcome.folder),
        _text(" | ".join(outcome.comments)),
    ]


def write_gradebook(outcomes: Iterable[StudentOutcome], path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header())
        writer.writerows(row(outcome) for outcome in outcomes)
