"""Marks and feedback back into Moodle: the grading worksheet and the feedback-files zip.

The inputs are built the way Moodle builds them, and the outputs are read back the way Moodle
reads them: :func:`moodle_imports` and :func:`moodle_zip_imports` re-implement, in a few lines,
the parts of Moodle's importers that decide what is accepted (files cited on each). They were
written from Moodle's source (moodle/moodle), not from this kit's code.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest

from grader.batch import cli, moodle_sheet
from grader.batch.moodle_sheet import php_csv_line, read_worksheet
from grader.batch.outcome import StudentOutcome
from grader.batch.results import parse_results, zero_results
from grader.batch.runner import SubmissionGrade
from grader.engine.statuses import GradeStatus
from tests.catalogue import SOLUTION_DIR
from tests.test_batch import FILES

# The strings Moodle's importer compares the header with, in French (language pack « fr »,
# Moodle 3.10/3.11: assign.php, moodle.php, assignfeedback_comments.php, langconfig.php).
FRENCH = {
    "recordid": "Identifiant",
    "gradenoun": "Note",
    "lastmodifiedgrade": "Dernière modification (note)",
    "hiddenuser": "Participant",
    "assignfeedback_comments": "Feedback par commentaires",
    "decsep": ",",
}

# « Télécharger le formulaire d'évaluation » of a French Moodle, byte for byte as it writes it:
# BOM, comma, PHP fputcsv (a cell with a space, a comma or a quote is enclosed, quotes doubled),
# « \n » line ends (mod/assign/gradingtable.php, lib/openspout/src/Writer/CSV/Writer.php).
WORKSHEET = (
    '\ufeffIdentifiant,"Nom complet","Adresse de courriel",Statut,Note,"Note maximale",'
    '"La note peut être modifiée","Dernière modification (travail remis)",'
    '"Dernière modification (note)","Feedback par commentaires"\n'
    '"Participant 101","Jean Dupont",jean.dupont@etu.univ.fr,"Remis pour évaluation",,"20,00",Oui,'
    '"lundi 30 novembre 2026, 09:12",-,\n'
    '"Participant 102","Léa Martin",lea.martin@etu.univ.fr,"Remis pour évaluation",,"20,00",Oui,'
    '"lundi 30 novembre 2026, 10:05",-,\n'
    '"Participant 103","Anaïs O\'Neil",anais.oneil@etu.univ.fr,"Remis pour évaluation",,"20,00",Oui,'
    '"dimanche 29 novembre 2026, 23:58",-,\n'
    '"Participant 104","Hugo ""Le Grand"" Moreau",hugo.moreau@etu.univ.fr,"Aucun travail remis",,"20,00",'
    'Oui,-,-,"<p>Absent au TP.</p>\n<p>À rattraper.</p>"\n'
    '"Participant 105","Zoé Petit",zoe.petit@etu.univ.fr,"Remis pour évaluation",,"20,00",Oui,'
    '"lundi 30 novembre 2026, 08:30",-,\n'
).encode("utf-8")

# Students with a submission: Moodle's name in the folders, participant number, what they handed in.
SUBMITTED = {
    101: ("Jean Dupont", "parfait"),
    102: ("Léa Martin", "partiel"),
    103: ("Anaïs O'Neil", "plante"),
    105: ("Zoé Petit", "boucle"),
}


def moodle_download_zip(path: Path) -> None:
    """« Télécharger tous les travaux remis », as mod/assign/locallib.php download_submissions
    names it: clean_filename(fullname with « _ » as spaces . « _ » . participant number) .
    « _assignsubmission_file_ » / file name; an online text goes beside it."""
    with zipfile.ZipFile(path, "w") as bundle:
        for number, (name, kind) in SUBMITTED.items():
            folder = f"{name.replace('_', ' ')}_{number}_assignsubmission_file_"
            for file in FILES:
                content = (SOLUTION_DIR / file).read_text("utf-8") + f"\n# rendu : {kind}\n"
                bundle.writestr(f"{folder}/{file}", content)
        bundle.writestr("Léa Martin_102_assignsubmission_onlinetext_/onlinetext.html", "<p>voir fichiers</p>")


def _report(kind: str) -> tuple[GradeStatus, dict[str, object]]:
    document = zero_results("Gestion des erreurs : l'exception n'est pas rattrapée.", GradeStatus.GRADED)
    statut = {"plante": GradeStatus.ERROR, "boucle": GradeStatus.TIMED_OUT}.get(kind, GradeStatus.GRADED)
    lost = {"parfait": set(), "partiel": {"sync.errors", "async.concurrency"}}.get(kind)
    score = 0.0
    for test in document["tests"]:
        if lost is not None and test["number"] not in lost:
            test.update(score=test["max_score"], status="passed", output="")
        elif kind == "partiel" and test["number"] == "async.concurrency":
            test.update(score=1.0)
        elif kind == "plante" and test["number"].startswith("sync."):
            test.update(score=test["max_score"], status="passed", output="")
        score += float(test["score"])
    document["score"] = score
    document["extra_data"] = {"statut": statut.value}
    return statut, document


def fake_grader(folder: Path, results_path: Path, *, timeout: float, **_: object) -> SubmissionGrade:
    """Grades by the marker line each submission carries: no student code runs in these tests."""
    kind = re.search(r"# rendu : (\w+)", (folder / FILES[0]).read_text("utf-8"))
    assert kind is not None, f"Attendu une ligne « # rendu : … » dans {folder / FILES[0]}"
    statut, document = _report(kind.group(1))
    if statut == GradeStatus.TIMED_OUT:
        return SubmissionGrade(None, statut, timeout, None, "délai dépassé", "")
    report = parse_results(document)
    return SubmissionGrade(report, statut, 0.1, 0, None, "")


def _unformat_float(text: str, decsep: str) -> float | None:
    """lib/moodlelib.php unformat_float: trim, '' → null, spaces out, decsep → '.', PHP (float)."""
    text = text.strip()
    if text == "":
        return None
    text = text.replace(" ", "").replace(decsep, ".")
    number = re.match(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text)  # PHP reads the leading number
    return float(number.group(0)) if number else 0.0


def moodle_imports(
    data: bytes,
    participants: set[int],
    max_grade: float,
    strings: dict[str, str] = FRENCH,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> dict[int, dict[str, object]]:
    """What « Déposer un formulaire d'évaluation » would save, per participant number."""
    # lib/csvlib.class.php, csv_import_reader::load_csv_content (by default 'utf-8', 'comma').
    text = data.decode(encoding)
    text = text.removeprefix("\ufeff")
    text = re.sub(r"\r\n?", "\n", text).strip()
    records = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if row]
    columns = records[0]
    for row in records:
        assert len(row) == len(columns), f"Moodle refuserait la feuille (csvweirdcolumns) : {row}"
    # mod/assign/feedback/offline/importgradeslib.php, init(): exact header names.
    index = {
        name: columns.index(strings[name]) if strings[name] in columns else -1
        for name in ("recordid", "gradenoun", "lastmodifiedgrade", "assignfeedback_comments")
    }
    assert min(index["recordid"], index["gradenoun"], index["lastmodifiedgrade"]) >= 0, (
        f"Moodle refuserait la feuille (invalidgradeimport) : en-tête {columns}"
    )
    saved: dict[int, dict[str, object]] = {}
    for row in records[1:]:
        # next(): substr($idstr, strlen(get_string('hiddenuser', 'assign'))), then the user's id.
        number = int(row[index["recordid"]][len(strings["hiddenuser"]) :])
        if number not in participants:
            continue
        entry: dict[str, object] = {}
        # feedback/offline/locallib.php process_import_grades: skip an empty, negative or too high grade.
        grade = _unformat_float(row[index["gradenoun"]], strings["decsep"])
        if grade is not None and 0 <= grade <= max_grade:
            entry["grade"] = grade
        if index["assignfeedback_comments"] > 0:  # « if (!empty($details['index'])) »
            comment = row[index["assignfeedback_comments"]]
            if comment != "":  # « if ($newvalue != $oldvalue) », no comment saved before
                entry["comment"] = comment
        saved[number] = entry
    return saved


def moodle_zip_imports(data: bytes, participants: set[int]) -> dict[int, list[str]]:
    """mod/assign/feedback/file/importziplib.php is_valid_filename_for_import: the file name
    each participant would get as feedback file (files extracted under « /import/ »)."""
    plugins = {("assignsubmission", "file"), ("assignsubmission", "onlinetext"), ("assignfeedback", "file")}
    imported: dict[int, list[str]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        for info in bundle.infolist():
            name = info.filename.rsplit("/", 1)[-1]
            if info.is_dir() or name.startswith((".", "~")):
                continue
            parts = ("/import/" + info.filename).split("/")
            while parts:
                info_parts = parts.pop(0).split("_", 4)  # explode('_', $pathpart, 5)
                if len(info_parts) < 4 or not info_parts[1].isdigit():
                    continue
                if int(info_parts[1]) not in participants or tuple(info_parts[2:4]) not in plugins:
                    continue
                rest = info_parts[4] if len(info_parts) == 5 else ""
                imported.setdefault(int(info_parts[1]), []).append("/".join([rest, *parts]))
                break
    return imported


@pytest.fixture
def graded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """A class downloaded from Moodle, graded with the worksheet: the output folder."""
    monkeypatch.setattr("grader.batch.run.grade_submission", fake_grader)
    archive, sheet, out = tmp_path / "TP asyncio.zip", tmp_path / "feuille.csv", tmp_path / "notes"
    moodle_download_zip(archive)
    sheet.write_bytes(WORKSHEET)
    code = cli.main([str(archive), "--moodle-feuille", str(sheet), "--jobs", "1", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, f"Attendu : code de sortie 0 ; vu {code} :\n{captured.out}{captured.err}"
    (out / "console.txt").write_text(captured.out + captured.err, encoding="utf-8")
    return out


def test_the_filled_worksheet_is_what_moodles_importer_reads_back(graded: Path) -> None:
    data = (graded / moodle_sheet.FILE_NAME).read_bytes()
    saved = moodle_imports(data, participants={101, 102, 103, 104, 105}, max_grade=20.0)
    grades = {number: entry.get("grade") for number, entry in saved.items()}
    expected = {101: 20.0, 102: 17.0, 103: 9.0, 104: None, 105: None}
    assert grades == expected, f"Notes importées attendues {expected} ; vu {grades}"
    comments = {number: str(entry.get("comment", "")) for number, entry in saved.items()}
    assert "Tous les critères sont réussis" in comments[101], f"Commentaire de 101 : vu {comments[101]!r}"
    for lost in ("[sync.errors] : 0/2", "[async.concurrency] : 1/2", "17/20"):
        assert lost in comments[102], f"Attendu « {lost} » dans le commentaire de 102 ; vu {comments[102]!r}"
    assert "retour.html" in comments[102], f"Attendu le renvoi vers retour.html ; vu {comments[102]!r}"
    assert comments[104] == "<p>Absent au TP.</p>\n<p>À rattraper.</p>" and comments[105] == "", (
        f"Attendu : commentaire existant gardé (104, sans rendu), rien au délai (105) ; vu {comments}"
    )


def test_the_worksheet_keeps_moodles_header_encoding_and_untouched_rows_byte_for_byte(graded: Path) -> None:
    data = (graded / moodle_sheet.FILE_NAME).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), f"Attendu le BOM UTF-8 de Moodle ; vu {data[:3]!r}"
    assert b"\r\n" not in data, "Attendu les fins de ligne « \\n » de Moodle ; vu « \\r\\n »"
    original, filled = WORKSHEET.decode("utf-8").split("\n"), data.decode("utf-8").split("\n")
    assert filled[0] == original[0], f"Attendu l'en-tête intact ; vu {filled[0]!r}"
    for number in (4, 5, 6):  # 104 (no submission, a comment on two lines) and 105 (timed out)
        assert filled[number] == original[number], (
            f"Attendu la ligne {number} intacte ;\nvu     {filled[number]!r}\nau lieu {original[number]!r}"
        )
    row = next(csv.reader([filled[2]]))
    assert row[4] == "17.00" and row[7] == "lundi 30 novembre 2026, 10:05", (
        f"Attendu la note 17.00 et la date de Moodle gardée ; vu {row}"
    )
    assert filled[2].startswith('"Participant 102","Léa Martin",'), (
        f"Attendu l'identifiant intact ; vu {filled[2]}"
    )


def test_the_console_names_who_was_held_back_or_should_be_checked(graded: Path) -> None:
    console = (graded / "console.txt").read_text("utf-8")
    for expected in (
        "3 note(s) remplie(s)",
        "1 ligne(s) sans rendu",
        "non reportée",
        "Zoé Petit (délai dépassé)",
        "à regarder avant l'import : Anaïs O'Neil (erreur)",
    ):
        assert expected in " ".join(console.split()), f"Attendu « {expected} » à la console ; vu :\n{console}"


def test_the_feedback_zip_is_what_moodles_zip_importer_attributes(graded: Path) -> None:
    data = (graded / "moodle-retours.zip").read_bytes()
    imported = moodle_zip_imports(data, participants={101, 102, 103, 104, 105})
    expected = {101: ["/retour.html"], 102: ["/retour.html"], 103: ["/retour.html"]}
    assert imported == expected, f"Fichiers de feedback attribués attendus {expected} ; vu {imported}"
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        names = bundle.namelist()
        page = bundle.read("Anaïs O'Neil_103_assignsubmission_file_/retour.html").decode("utf-8")
        flags = {
            info.filename: info.flag_bits & 0x800 for info in bundle.infolist() if not info.filename.isascii()
        }
    assert flags and all(flags.values()), f"Attendu les noms accentués marqués UTF-8 dans le zip ; vu {flags}"
    assert len(names) == 3, f"Attendu 3 retour.html (ni 104 sans rendu, ni 105 au délai) ; vu {names}"
    assert "Anaïs O&#x27;Neil" in page and "sync.errors" in page, "Attendu le retour complet de l'étudiante"
    for external in ("http://", "https://", "src=", "<link", "<script", 'href="'):
        assert external not in page, f"Attendu une page autonome, sans « {external} » ; trouvé"


def test_php_csv_line_encloses_the_cells_fputcsv_encloses() -> None:
    cells = ["Participant 12", "x", 'dit "oui"', "", "20,00", "a\tb", "ligne\nsuivante", "-"]
    expected = '"Participant 12",x,"dit ""oui""",,"20,00","a\tb","ligne\nsuivante",-'
    assert php_csv_line(cells, ",") == expected, f"Attendu {expected!r} ; vu {php_csv_line(cells, ',')!r}"


def _outcome(number: int, score: float) -> StudentOutcome:
    document = zero_results("rien", GradeStatus.GRADED)
    document["score"] = score
    folder = f"Élève {number}_{number}_assignsubmission_file_"
    report = parse_results(document)
    return StudentOutcome(
        f"Élève {number}", f"eleve-{number}", folder, GradeStatus.GRADED, report, (), 1.0, "k"
    )


def test_an_assignment_out_of_100_gets_the_mark_converted(tmp_path: Path) -> None:
    sheet_path = tmp_path / "feuille.csv"
    sheet_path.write_bytes(WORKSHEET.replace(b'"20,00"', b'"100,00"'))
    sheet = read_worksheet(sheet_path)
    moodle_sheet.fill_worksheet(sheet, [_outcome(101, 14.5)])
    moodle_sheet.write_worksheet(sheet, tmp_path / "sortie.csv")
    saved = moodle_imports((tmp_path / "sortie.csv").read_bytes(), {101}, max_grade=100.0)
    assert saved[101].get("grade") == 72.5, f"Attendu 14,5/20 → 72,5/100 ; vu {saved[101]}"
    comment = str(saved[101].get("comment"))
    assert comment.count(" : 0/") == 5 and "et 9 autre(s) critère(s)" in comment, (
        f"Attendu un commentaire court : 5 critères perdus nommés, puis « et 9 autre(s) » ; vu {comment!r}"
    )
    assert any("sur 100" in note for note in sheet.notes), (
        f"Attendu la conversion signalée ; vu {sheet.notes}"
    )


def test_a_file_that_is_not_a_worksheet_is_refused_before_any_grade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr("grader.batch.run.grade_submission", lambda *a, **k: calls.append(a[0]))
    archive, sheet = tmp_path / "TP.zip", tmp_path / "notes.csv"
    moodle_download_zip(archive)
    sheet.write_text("Étudiant;Note /20\nDupont Jean;12\n", encoding="utf-8")
    code = cli.main([str(archive), "--moodle-feuille", str(sheet), "--jobs", "1"])
    error = capsys.readouterr().err
    assert code == 2 and not calls, f"Attendu : refus (code 2) avant toute correction ; vu {code}, {calls}"
    assert "n'est pas une feuille d'évaluation de devoir Moodle" in " ".join(error.split()), (
        f"Attendu un message clair en français ; vu {error}"
    )


def test_a_worksheet_saved_again_by_a_spreadsheet_keeps_its_separator_and_encoding(tmp_path: Path) -> None:
    # Excel in French saves with « ; », Windows-1252, CRLF, no BOM, and quotes only when needed.
    original = WORKSHEET.decode("utf-8").removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(original, newline="")))
    resaved = io.StringIO(newline="")
    csv.writer(resaved, delimiter=";", lineterminator="\r\n").writerows(rows)
    sheet_path = tmp_path / "feuille.csv"
    sheet_path.write_bytes(resaved.getvalue().encode("cp1252"))
    sheet = read_worksheet(sheet_path)
    moodle_sheet.fill_worksheet(sheet, [_outcome(102, 12.5)])
    moodle_sheet.write_worksheet(sheet, tmp_path / "sortie.csv")
    data = (tmp_path / "sortie.csv").read_bytes()
    saved = moodle_imports(data, {101, 102}, max_grade=20.0, encoding="cp1252", delimiter=";")
    assert saved[102].get("grade") == 12.5 and "grade" not in saved[101], (
        f"Attendu 12,5 pour 102 et rien pour 101 ; vu {saved}"
    )
    assert data.count(b"\r\n") == len(rows) and not data.startswith(b"\xef\xbb\xbf"), (
        "Attendu les fins de ligne CRLF et l'absence de BOM de la feuille réenregistrée"
    )
    assert any("« ; »" in note and "WINDOWS-1252" in note for note in sheet.notes), (
        f"Attendu les réglages à choisir à l'import ; vu {sheet.notes}"
    )
