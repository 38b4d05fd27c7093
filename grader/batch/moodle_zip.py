"""The feedback files for « Déposer plusieurs fichiers de feedback dans un ZIP »: one retour.html each.

Moodle's importer (mod/assign/feedback/file/importziplib.php, ``is_valid_filename_for_import``)
splits every folder of a path on « _ » (at most 5 pieces) and takes the first folder whose
pieces read « nom complet _ numéro de participant _ type de plugin _ plugin [_ reste] », with a
participant it knows and a plugin of the assignment. The folders of « Télécharger tous les
travaux remis » have that shape (mod/assign/locallib.php, ``download_submissions``: the full
name with « _ » turned into spaces, the participant number, « assignsubmission_file_ »), so
each student's page goes into the very folder their submission came from.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

from grader.batch import report_html
from grader.batch.discovery import participant_number
from grader.batch.moodle_sheet import FEEDBACK_FILE, REPORTED
from grader.batch.outcome import StudentOutcome

FILE_NAME = "moodle-retours.zip"


def write_feedback_zip(
    outcomes: Sequence[StudentOutcome], path: Path, class_name: str
) -> tuple[int, list[str]]:
    """Writes the zip; returns how many pages it holds and who was left out (French, with why)."""
    left_out: list[str] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    written = 0
    stamp = time.localtime()[:6]
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for outcome in outcomes:
            if participant_number(outcome.folder) is None:
                left_out.append(f"{outcome.student} (dossier sans numéro de participant Moodle)")
                continue
            if outcome.statut not in REPORTED:
                left_out.append(f"{outcome.student} ({outcome.statut})")
                continue
            entry = zipfile.ZipInfo(f"{outcome.folder}/{FEEDBACK_FILE}", date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            page = report_html.student_page(outcome, class_name, standalone=True)
            bundle.writestr(entry, page.encode("utf-8"))
            written += 1
    temporary.replace(path)
    return written, left_out
