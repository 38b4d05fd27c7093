"""Moodle's offline grading worksheet, filled with the marks and a short feedback comment.

The instructor downloads the worksheet from the assignment (« Télécharger le formulaire (ou la
feuille) d'évaluation »); this module writes a copy that « Déposer un formulaire d'évaluation »
accepts. What Moodle does, read in its source (moodle/moodle):

- writing (mod/assign/gradingtable.php in download mode, through dataformat/csv and
  lib/openspout/src/Writer/CSV/Writer.php): UTF-8 with a byte order mark, comma, PHP's
  ``fputcsv`` with ``"`` as enclosure, ``\\n`` line ends; ``fputcsv`` encloses a field that
  holds the delimiter, a quote, a space, a tab or a line break, and doubles the quotes;
- reading (mod/assign/feedback/offline/importgradeslib.php and lib/csvlib.class.php): the
  columns are found by their exact, localised header (« Identifiant », « Note », « Dernière
  modification (note) », and one column per feedback plugin, named after it); the participant
  number is what follows « Participant »; every row must have as many cells as the header;
  the grade goes through ``unformat_float`` (lib/moodlelib.php), which accepts a decimal point
  whatever the language (it only turns the language's separator into a point).

So the copy keeps every byte of the header and of the rows it does not change; only the grade
and feedback cells of the students who were graded are rewritten. The date column is kept as
downloaded: Moodle compares it with its own to refuse overwriting a grade changed since.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from grader.batch.discovery import participant_number
from grader.batch.outcome import StudentOutcome
from grader.batch.scale import TOTAL_POINTS
from grader.engine.french_numbers import fr_number
from grader.engine.statuses import GradeStatus

FILE_NAME = "moodle-feuille.csv"
# Headers as Moodle writes them (get_string in French, then English); several French
# wordings exist across Moodle versions for the feedback comments plugin.
ID_HEADERS = ("Identifiant", "Identifier")
GRADE_HEADERS = ("Note", "Grade")
MODIFIED_HEADERS = ("Dernière modification (note)", "Last modified (grade)")
MAX_HEADERS = ("Note maximale", "Maximum grade")
SCALE_HEADERS = ("Barème", "Scale")
COMMENT_HEADERS = ("Feedback par commentaires", "Commentaires de feedback", "Feedback comments")
# A mark from a grade stopped at the deadline may owe it to a busy machine: never sent.
REPORTED = frozenset({GradeStatus.GRADED, GradeStatus.INCOMPLETE, GradeStatus.ERROR})
FEEDBACK_FILE = "retour.html"
COMMENT_CRITERIA = 5  # the comment stays short: the full list is in retour.html
_PARTICIPANT = re.compile(r"(\d+)\s*$")
_PHP_ENCLOSED = (" ", "\t", "\r", "\n", '"')


class WorksheetError(ValueError):
    """A worksheet that cannot be filled (unreadable, not Moodle's): French message."""


@dataclass
class Worksheet:
    path: Path
    encoding: str  # "utf-8" or "cp1252" (a worksheet saved again by a spreadsheet)
    bom: bool
    delimiter: str
    newline: str
    header: list[str]
    rows: list[list[str]]
    lines: list[str]  # each data row exactly as read, to write untouched rows back byte for byte
    header_line: str
    id_column: int
    grade_column: int
    comment_column: int | None
    max_grade: float
    notes: list[str] = field(default_factory=list)  # French, for the console


@dataclass
class Filling:
    """What filling the worksheet did, for the console."""

    filled: list[str] = field(default_factory=list)
    without_submission: list[str] = field(default_factory=list)  # worksheet rows left as they were
    not_in_sheet: list[str] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)  # graded, but mark not sent (status)
    to_check: list[str] = field(default_factory=list)  # sent, but worth a look (« erreur »)


def php_csv_line(cells: Sequence[str], delimiter: str) -> str:
    """One line as PHP's fputcsv writes it (no escape character, as OpenSpout calls it)."""
    shown = []
    for cell in cells:
        if delimiter in cell or any(char in cell for char in _PHP_ENCLOSED):
            shown.append('"' + cell.replace('"', '""') + '"')
        else:
            shown.append(cell)
    return delimiter.join(shown)


def _find(header: list[str], names: Sequence[str]) -> int | None:
    cleaned = [cell.strip() for cell in header]
    return next((cleaned.index(name) for name in names if name in cleaned), None)


def _number(text: str) -> float | None:
    try:
        return float(text.replace("\u00a0", "").replace(" ", "").replace(",", "."))
    except ValueError:
        return None


def _split_records(text: str) -> list[str]:
    """The text of each record (a quoted cell may hold line breaks), without its line end."""
    records: list[str] = []
    current: list[str] = []
    quoted = False
    for line in text.split("\n"):  # never str.splitlines: it also cuts at U+2028, \x0c…
        current.append(line)
        quoted ^= line.count('"') % 2 == 1
        if not quoted:
            records.append("\n".join(current).removesuffix("\r"))
            current = []
    if current:
        records.append("\n".join(current).removesuffix("\r"))
    return records


def read_worksheet(path: Path) -> Worksheet:
    """The worksheet as Moodle wrote it, with the columns this kit fills located."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise WorksheetError(f"feuille d'évaluation {path} illisible : {error.strerror or error}") from error
    bom = raw.startswith(codecs.BOM_UTF8)
    body = raw[len(codecs.BOM_UTF8) :] if bom else raw
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = body.decode("cp1252"), "cp1252"
        except UnicodeDecodeError as error:
            raise WorksheetError(
                f"{path.name} n'est ni en UTF-8 ni en Windows-1252 : retéléchargez la feuille depuis Moodle."
            ) from error
    newline = "\r\n" if "\r\n" in text else "\n"
    records = [record for record in _split_records(text) if record.strip()]
    if not records:
        raise WorksheetError(f"{path.name} est vide : retéléchargez la feuille d'évaluation depuis Moodle.")
    delimiter = max((",", ";", "\t"), key=records[0].count)
    header = next(csv.reader(io.StringIO(records[0], newline=""), delimiter=delimiter))
    rows = [next(csv.reader(io.StringIO(record, newline=""), delimiter=delimiter)) for record in records[1:]]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise WorksheetError(
                f"{path.name}, ligne {number} : {len(row)} colonne(s) au lieu de {len(header)} ; "
                "Moodle refuserait la feuille : retéléchargez-la sans la modifier."
            )
    located = {
        "identifiant": _find(header, ID_HEADERS),
        "note": _find(header, GRADE_HEADERS),
        "date de modification de la note": _find(header, MODIFIED_HEADERS),
    }
    missing = [name for name, column in located.items() if column is None]
    if missing:
        raise WorksheetError(
            f"{path.name} n'est pas une feuille d'évaluation de devoir Moodle : colonne(s) "
            f"{', '.join(missing)} introuvable(s) (attendu par exemple « {ID_HEADERS[0]} », "
            f"« {GRADE_HEADERS[0]} », « {MODIFIED_HEADERS[0]} ») ; en-tête lu : {' | '.join(header)}"
        )
    if _find(header, SCALE_HEADERS) is not None:
        raise WorksheetError(
            f"{path.name} : ce devoir est noté avec un barème (échelle), pas sur des points ; "
            "choisissez « Point » comme type de note dans les réglages du devoir."
        )
    sheet = Worksheet(
        path, encoding, bom, delimiter, newline, header, rows, records[1:], records[0],
        id_column=located["identifiant"] or 0,
        grade_column=located["note"] or 0,
        comment_column=_find(header, COMMENT_HEADERS),
        max_grade=TOTAL_POINTS,
    )  # fmt: skip
    max_column = _find(header, MAX_HEADERS)
    maxima = [_number(row[max_column]) for row in rows if max_column is not None and row[max_column]]
    if maxima and maxima[0] is not None and maxima[0] > 0:
        sheet.max_grade = maxima[0]
    if sheet.max_grade != TOTAL_POINTS:
        sheet.notes.append(
            f"le devoir est noté sur {fr_number(sheet.max_grade, trim=True)} dans Moodle : notes /"
            f"{fr_number(TOTAL_POINTS, trim=True)} converties (règle de trois)"
        )
    if sheet.comment_column is None:
        sheet.notes.append(
            "pas de colonne de commentaires dans la feuille : seules les notes seront importées ; "
            "activez « Feedback par commentaires » dans les réglages du devoir, puis retéléchargez la feuille"
        )
    if encoding != "utf-8" or delimiter != ",":
        sheet.notes.append(
            f"feuille réenregistrée par un tableur : à l'import, choisissez le séparateur "
            f"« {delimiter} » et le codage {'UTF-8' if encoding == 'utf-8' else 'WINDOWS-1252'}"
        )
    return sheet


def participant_of(cell: str) -> int | None:
    """« Participant 12345 » → 12345 (the importer strips the localised word « Participant »)."""
    match = _PARTICIPANT.search(cell)
    return int(match.group(1)) if match else None


def moodle_grade(score: float, max_grade: float) -> str:
    """The mark on Moodle's scale, with a decimal point: ``unformat_float`` reads it in any language."""
    return f"{score * max_grade / TOTAL_POINTS:.2f}"


def feedback_comment(outcome: StudentOutcome) -> str:
    """The short feedback (HTML, as Moodle stores comments): mark, lost criteria, where the rest is."""
    total = fr_number(TOTAL_POINTS, trim=True)
    paragraphs = [f"Note de la correction automatique : {fr_number(outcome.score, trim=True)}/{total}."]
    lost = [test for test in outcome.report.tests if not test.passed]
    if lost:
        shown = [
            f"{test.name} [{test.number}] : "
            f"{fr_number(test.score, trim=True)}/{fr_number(test.max_score, trim=True)}"
            for test in lost[:COMMENT_CRITERIA]
        ]
        more = (
            f" ; et {len(lost) - COMMENT_CRITERIA} autre(s) critère(s)"
            if len(lost) > COMMENT_CRITERIA
            else ""
        )
        paragraphs.append(f"Points perdus : {' ; '.join(shown)}{more}.")
    else:
        paragraphs.append("Tous les critères sont réussis.")
    if outcome.statut != GradeStatus.GRADED:
        paragraphs.append(f"Statut : {outcome.statut.meaning}.")
    paragraphs.append(f"Le détail de chaque critère est dans le fichier de feedback {FEEDBACK_FILE}.")
    # PHP's fgetcsv, which Moodle reads with, takes a backslash as an escape character.
    return "".join(f"<p>{escape(text, quote=False)}</p>" for text in paragraphs).replace("\\", "&#92;")


def fill_worksheet(sheet: Worksheet, outcomes: Sequence[StudentOutcome]) -> Filling:
    """Writes grade and comment into the rows of the students graded (matched on participant number)."""
    filling = Filling()
    by_number: dict[int, StudentOutcome] = {}
    for outcome in outcomes:
        number = participant_number(outcome.folder)
        if number is None:
            filling.not_in_sheet.append(f"{outcome.student} (dossier sans numéro de participant Moodle)")
        else:
            by_number[number] = outcome
    seen: set[int] = set()
    for row in sheet.rows:
        number = participant_of(row[sheet.id_column])
        if number is None or number not in by_number:
            filling.without_submission.append(row[sheet.id_column])
            continue
        outcome = by_number[number]
        seen.add(number)
        if outcome.statut not in REPORTED:
            filling.held_back.append(f"{outcome.student} ({outcome.statut})")
            continue
        row[sheet.grade_column] = moodle_grade(outcome.score, sheet.max_grade)
        if sheet.comment_column is not None:
            row[sheet.comment_column] = feedback_comment(outcome)
        filling.filled.append(outcome.student)
        if outcome.statut != GradeStatus.GRADED:
            filling.to_check.append(f"{outcome.student} ({outcome.statut})")
    unmatched = [(number, missing) for number, missing in by_number.items() if number not in seen]
    filling.not_in_sheet += [f"{missing.student} (participant {number})" for number, missing in unmatched]
    return filling


def write_worksheet(sheet: Worksheet, path: Path) -> None:
    """The worksheet back, in its own encoding, delimiter and line ends; untouched rows byte for byte."""
    lines = [sheet.header_line]
    for original, row in zip(sheet.lines, sheet.rows, strict=True):
        unchanged = next(csv.reader(io.StringIO(original, newline=""), delimiter=sheet.delimiter)) == row
        lines.append(original if unchanged else php_csv_line(row, sheet.delimiter))
    text = "".join(line + sheet.newline for line in lines)
    data = text.encode(sheet.encoding, errors="xmlcharrefreplace")  # comments are HTML
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes((codecs.BOM_UTF8 if sheet.bom else b"") + data)
    temporary.replace(path)
