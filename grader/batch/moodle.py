"""Back into Moodle: the filled grading worksheet and the feedback-files zip, with what to tell."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from grader.batch import moodle_sheet, moodle_zip
from grader.batch.discovery import participant_number
from grader.batch.outcome import StudentOutcome


def _listed(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" et {len(names) - limit} autre(s)" if len(names) > limit else "")


def export(
    outcomes: Sequence[StudentOutcome],
    out_dir: Path,
    class_name: str,
    sheet: moodle_sheet.Worksheet | None,
) -> tuple[list[str], list[str]]:
    """Writes what Moodle can import; returns (what was written, what to look at), in French."""
    done: list[str] = []
    warnings: list[str] = []
    if any(participant_number(outcome.folder) is not None for outcome in outcomes):
        path = out_dir / moodle_zip.FILE_NAME
        written, left_out = moodle_zip.write_feedback_zip(outcomes, path, class_name)
        done.append(f"Fichiers de feedback pour Moodle : {path} ({written} {moodle_sheet.FEEDBACK_FILE})")
        if left_out:
            warnings.append(f"pas de {moodle_sheet.FEEDBACK_FILE} pour : {_listed(left_out)}")
    if sheet is None:
        return done, warnings
    filling = moodle_sheet.fill_worksheet(sheet, outcomes)
    path = out_dir / moodle_sheet.FILE_NAME
    moodle_sheet.write_worksheet(sheet, path)
    done.append(
        f"Feuille d'évaluation pour Moodle : {path} ({len(filling.filled)} note(s) remplie(s), "
        f"{len(filling.without_submission)} ligne(s) sans rendu laissée(s) telle(s) quelle(s))"
    )
    warnings += sheet.notes
    if filling.held_back:
        warnings.append(
            "note non reportée dans la feuille (à corriger à la main ou à relancer) : "
            + _listed(filling.held_back)
        )
    if filling.to_check:
        warnings.append(
            "note reportée, statut autre que « noté » : à regarder avant l'import : "
            + _listed(filling.to_check)
        )
    if filling.not_in_sheet:
        warnings.append(
            f"rendu(s) absent(s) de la feuille (autre groupe ? feuille d'un autre devoir ?) : "
            f"{_listed(filling.not_in_sheet)}"
        )
    return done, warnings
