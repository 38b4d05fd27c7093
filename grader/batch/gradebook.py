"""notes.csv: one line per student, in the batch's French CSV dialect (see spreadsheet)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from grader.batch.outcome import StudentOutcome
from grader.batch.scale import CRITERIA, TOTAL_POINTS
from grader.batch.spreadsheet import text_cell, write_rows
from grader.engine.french_numbers import fr_number

FILE_NAME = "notes.csv"


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


def row(outcome: StudentOutcome) -> list[str]:
    marks = []
    for criterion in CRITERIA:
        test = outcome.report.test(criterion.id)
        marks.append(fr_number(test.score, trim=True) if test else "")
    return [
        text_cell(outcome.student),
        fr_number(outcome.score, trim=True),
        *marks,
        outcome.statut,
        fr_number(outcome.elapsed, 1, trim=True),
        text_cell(outcome.folder),
        text_cell(" | ".join(outcome.comments)),
    ]


def write_gradebook(outcomes: Iterable[StudentOutcome], path: Path) -> None:
    write_rows(path, header(), (row(outcome) for outcome in outcomes))
