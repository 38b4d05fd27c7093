"""changements.csv and the report's « Notes modifiées depuis la dernière correction » section."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from grader.batch.changes import CriterionChange, MarkChange
from grader.batch.outcome import StudentOutcome
from grader.batch.scale import TOTAL_POINTS
from grader.batch.spreadsheet import text_cell, write_rows
from grader.engine.french_numbers import fr_number

FILE_NAME = "changements.csv"
TITLE = "Notes modifiées depuis la dernière correction"


def changed(outcomes: Sequence[StudentOutcome]) -> list[tuple[StudentOutcome, MarkChange]]:
    """The students whose last grade changed their mark or a criterion, by name."""
    found = [(outcome, outcome.change) for outcome in outcomes if outcome.change is not None]
    return sorted(found, key=lambda pair: pair[0].student.casefold())


def _mark(value: float | None) -> str:
    return "—" if value is None else fr_number(value, trim=True)


def criterion_text(change: CriterionChange) -> str:
    """« sync.errors 2 → 0 »."""
    return f"{change.id} {_mark(change.before)} → {_mark(change.after)}"


def header() -> list[str]:
    total = fr_number(TOTAL_POINTS, trim=True)
    return [
        "Étudiant",
        f"Ancienne note /{total}",
        f"Nouvelle note /{total}",
        "Écart",
        "Critères modifiés",
        "Raison",
        "Dossier",
    ]


def _gap(change: MarkChange) -> str:
    gap = change.after - change.before
    return ("+" if gap > 0 else "") + fr_number(gap, trim=True)


def write_changes(outcomes: Sequence[StudentOutcome], path: Path) -> None:
    rows = [
        [
            text_cell(outcome.student),
            _mark(change.before),
            _mark(change.after),
            _gap(change),  # a number of ours, « +0,5 » or « -2 »: no formula to fear
            " ; ".join(criterion_text(c) for c in change.criteria),
            change.reason,
            text_cell(outcome.folder),
        ]
        for outcome, change in changed(outcomes)
    ]
    write_rows(path, header(), rows)


def section(outcomes: Sequence[StudentOutcome]) -> str:
    """The HTML section: one line per student whose mark moved, or a sentence saying none did."""
    pairs = changed(outcomes)
    if not pairs:
        body = "<p>Aucune note n'a changé lors des dernières corrections.</p>"
    else:
        rows = "".join(
            f"<tr><td>{escape(outcome.student)}</td>"
            f"<td class=num>{_mark(change.before)} → <b>{_mark(change.after)}</b></td>"
            f"<td>{escape(' ; '.join(criterion_text(c) for c in change.criteria)) or '—'}</td>"
            f"<td class=comment>{escape(change.reason)}</td></tr>"
            for outcome, change in pairs
        )
        body = (
            f"<p class=comment>{len(pairs)} étudiant(s) dont la dernière correction a changé la note "
            f"ou un critère (détail dans {FILE_NAME}).</p>"
            "<table><tr><th>étudiant</th><th class=num>note /20</th><th>critères modifiés</th>"
            f"<th>raison</th></tr>{rows}</table>"
        )
    return f'<section id="notes-modifiees"><h2>{TITLE}</h2>{body}</section>'
