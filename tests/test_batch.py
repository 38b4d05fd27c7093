"""Batch grading of a class (python -m grader.batch): discovery, isolation, resume, outputs."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.batch import gradebook, report_html
from grader.batch.discovery import expected_name, extract_archive, find_submissions, student_name
from grader.batch.outcome import StudentOutcome
from grader.batch.results import NO_STATUS, parse_results, zero_results
from grader.batch.run import BatchError, run_batch
from grader.batch.runner import SubmissionGrade, grade_submission
from grader.batch.scale import CRITERIA
from grader.engine.paths import KIT_ROOT
from grader.engine.statuses import GradeStatus
from tests.catalogue import SOLUTION_DIR
from tests.pristine import pristine_skeleton

FILES = ("sync_downloader.py", "async_downloader.py")
MOODLE = "_assignsubmission_file_"


def _submission(class_dir: Path, name: str, number: int) -> Path:
    folder = class_dir / f"{name}_{number}{MOODLE}"
    folder.mkdir(parents=True)
    return folder


def _copy_solution(folder: Path, names: dict[str, str] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for file in FILES:
        shutil.copyfile(SOLUTION_DIR / file, folder / (names or {}).get(file, file))


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _rows(csv_path: Path) -> dict[str, dict[str, str]]:
    text = csv_path.read_bytes().decode("utf-8-sig")
    return {row["Étudiant"]: row for row in csv.DictReader(io.StringIO(text), delimiter=";")}


ATTACK = """
import os as _os
import pathlib as _pathlib

# A submission that tries to spoil a classmate's work and the marks, at import time.
_CLASS, _OUT = _pathlib.Path({class_dir!r}), _pathlib.Path({out_dir!r})
_TARGETS = [*_CLASS.glob("**/*.py"), _OUT / "notes.csv", _OUT / "pirate.txt"]
_TARGETS.append(_OUT / "resultats" / "dupont-jean.json")
for _target in _TARGETS:
    try:
        _target.parent.mkdir(parents=True, exist_ok=True)
        _target.write_text("raise SystemExit('pirate')\\n")
    except OSError:
        pass
for _copy in _pathlib.Path(__file__).resolve().parents[2].glob("*/copie/*.py"):
    try:
        _os.chmod(_copy.parent, 0o700)
        _os.chmod(_copy, 0o600)
        _copy.write_text("raise SystemExit('pirate')\\n")
    except OSError:
        pass
"""


@pytest.fixture
def malformed_class(tmp_path: Path) -> tuple[Path, Path]:
    """A class folder with every problem a real one has, and the output folder beside it."""
    class_dir, out_dir = tmp_path / "promo", tmp_path / "promo-notes"
    _copy_solution(_submission(class_dir, "Dupont Jean", 101) / "tp")  # correct, in a subfolder
    only_sync = _submission(class_dir, "Martin Léa", 102)
    shutil.copyfile(SOLUTION_DIR / FILES[0], only_sync / FILES[0])  # async file missing
    renamed = _submission(class_dir, "Bernard Paul", 103)
    _copy_solution(renamed, {FILES[0]: "Sync_Downloader.py", FILES[1]: "async_downloader (1).py"})
    latin1 = _submission(class_dir, "Petit Zoé", 104)
    _copy_solution(latin1)
    body = (SOLUTION_DIR / FILES[0]).read_bytes()
    (latin1 / FILES[0]).write_bytes("# Téléchargements\n".encode("latin-1") + body)
    hanging = _submission(class_dir, "Moreau Hugo", 105)
    _copy_solution(hanging)
    (hanging / FILES[0]).write_text("while True:\n    pass\n" + (SOLUTION_DIR / FILES[0]).read_text("utf-8"))
    attacker = _submission(class_dir, "Pirate Eve", 106)
    _copy_solution(attacker)
    attack = ATTACK.format(class_dir=str(class_dir), out_dir=str(out_dir))
    (attacker / FILES[0]).write_text(attack + (SOLUTION_DIR / FILES[0]).read_text("utf-8"), encoding="utf-8")
    return class_dir, out_dir


def test_a_malformed_class_grades_to_a_complete_gradebook_without_touching_any_submission(
    malformed_class: tuple[Path, Path],
) -> None:
    class_dir, out_dir = malformed_class
    before = _hashes(class_dir)
    command = [sys.executable, "-m", "grader.batch", str(class_dir), "--jobs", "2", "--timeout", "30"]
    completed = subprocess.run(
        command, cwd=KIT_ROOT, capture_output=True, text=True, encoding="utf-8", timeout=240, check=False
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"Attendu : code de sortie 0 ; vu {completed.returncode} :\n{output}"
    rows = _rows(out_dir / "notes.csv")
    expected_students = {
        "Dupont Jean",
        "Martin Léa",
        "Bernard Paul",
        "Petit Zoé",
        "Moreau Hugo",
        "Pirate Eve",
    }
    assert set(rows) == expected_students, (
        f"Attendu une ligne par étudiant {expected_students} ; vu {set(rows)}"
    )
    statuses = {name: row["Statut"] for name, row in rows.items()}
    expected_statuses = {
        "Dupont Jean": "noté",
        "Martin Léa": "incomplet",
        "Bernard Paul": "noté",
        "Petit Zoé": "erreur",
        "Moreau Hugo": "délai dépassé",
    }
    for name, statut in expected_statuses.items():
        assert statuses[name] == statut, f"{name} : statut attendu « {statut} », vu « {statuses[name]} »"
    for name in ("Dupont Jean", "Bernard Paul"):
        assert rows[name]["Note /20"] == "20", f"{name} : 20/20 attendu, vu {rows[name]['Note /20']}"
    assert "renommé" in rows["Bernard Paul"]["Commentaire"], (
        f"Attendu un commentaire sur les fichiers renommés ; vu « {rows['Bernard Paul']['Commentaire']} »"
    )
    assert "fichier manquant : async_downloader.py" in rows["Martin Léa"]["Commentaire"], (
        f"Attendu « fichier manquant » ; vu « {rows['Martin Léa']['Commentaire']} »"
    )
    assert "UTF-8" in rows["Petit Zoé"]["Commentaire"], (
        f"Attendu UTF-8 ; vu « {rows['Petit Zoé']['Commentaire']} »"
    )
    hang_comment = rows["Moreau Hugo"]["Commentaire"]
    assert "délai" in hang_comment or "tourne encore" in hang_comment, (
        f"Moreau Hugo : commentaire sur la boucle sans fin attendu ; vu « {hang_comment} »"
    )
    assert _hashes(class_dir) == before, "Attendu : aucun fichier des rendus modifié ; certains ont changé"
    assert not (out_dir / "pirate.txt").exists(), (
        "Attendu : rien d'écrit par un rendu dans le dossier de sortie"
    )
    dupont = json.loads((out_dir / "resultats" / "dupont-jean.json").read_text("utf-8"))
    assert dupont["score"] == 20, f"Attendu : le résultat de Dupont intact (20) ; vu {dupont.get('score')!r}"
    assert sorted(p.name for p in (out_dir / "resultats").iterdir()) == sorted(
        f"{slug}.json"
        for slug in ("dupont-jean", "martin-lea", "bernard-paul", "petit-zoe", "moreau-hugo", "pirate-eve")
    ), "Attendu : un fichier de résultats par étudiant, et rien d'autre"
    assert (out_dir / "rapport.html").is_file(), "Attendu : rapport.html dans le dossier de sortie"


def test_notes_csv_uses_semicolons_decimal_commas_and_a_byte_order_mark(tmp_path: Path) -> None:
    document = zero_results("rien", GradeStatus.GRADED)
    document["tests"][1].update(score=1.5, status="passed")
    document["score"] = 1.5
    outcome = StudentOutcome(
        '=HYPERLINK("x")', "x", "dossier", GradeStatus.GRADED, parse_results(document), ("a; b",), 3.25, "k"
    )
    path = tmp_path / "notes.csv"
    gradebook.write_gradebook([outcome], path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"Attendu : BOM UTF-8 en tête ; vu {raw[:3]!r}"
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[0].split(";")[:2] == ["Étudiant", "Note /20"], (
        f"Attendu « ; » comme séparateur ; vu {lines[0]!r}"
    )
    cells = next(csv.reader([lines[1]], delimiter=";"))
    assert cells[1] == "1,5" and cells[3] == "1,5", f"Attendu la virgule décimale (1,5) ; vu {cells[:4]}"
    assert cells[0].startswith("'="), f"Attendu une formule neutralisée par une apostrophe ; vu {cells[0]!r}"
    assert "3,2" in cells or "3,3" in cells, f"Attendu la durée avec une virgule décimale ; vu {cells}"


def _fake_grader(calls: list[Path]) -> object:
    def fake(folder: Path, results_path: Path, *, timeout: float, **_: object) -> SubmissionGrade:
        calls.append(folder)
        report = parse_results(zero_results("pas encore fait", GradeStatus.INCOMPLETE))
        return SubmissionGrade(report, report.statut, 0.1, 0, None, "")

    return fake


def test_the_status_is_read_from_extra_data_never_guessed_from_the_feedback() -> None:
    # Feedback that quotes a student's text can say anything: only extra_data.statut counts.
    misleading = "tourne encore après 3 s ; impossible d'importer ; pas encore fait ; erreur inattendue"
    for status in GradeStatus:
        report = parse_results(zero_results(misleading, status))
        assert report.statut is status and report.status_problem is None, (
            f"Attendu le statut écrit « {status} » ; vu « {report.statut} » ({report.status_problem})"
        )


def test_a_results_json_without_status_counts_as_an_error_with_its_reason() -> None:
    document = zero_results(
        "Pas encore fait : les fonctions lèvent encore NotImplementedError.", GradeStatus.GRADED
    )
    document["tests"][0].update(score=2.0, status="passed")
    document["score"] = 2.0
    for extra in ({}, {"statut": "inconnu"}, "pas un objet"):
        document["extra_data"] = extra
        report = parse_results(document)
        assert report.statut == "erreur", (
            f"extra_data {extra!r} : attendu « erreur » ; vu « {report.statut} »"
        )
        assert report.status_problem == NO_STATUS, (
            f"extra_data {extra!r} : attendu la raison « {NO_STATUS} » ; vu {report.status_problem!r}"
        )
        assert report.score == 2.0, f"extra_data {extra!r} : attendu la note gardée (2) ; vu {report.score}"
    del document["extra_data"]
    assert parse_results(document).statut == "erreur", "Sans extra_data : attendu « erreur »"


def test_a_status_other_than_graded_is_explained_from_the_status_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake(folder: Path, results_path: Path, *, timeout: float, **_: object) -> SubmissionGrade:
        report = parse_results(zero_results("Critère : rien à voir ici.", GradeStatus.TIMED_OUT))
        return SubmissionGrade(report, report.statut, 0.1, 0, None, "")

    monkeypatch.setattr("grader.batch.run.grade_submission", fake)
    class_dir = tmp_path / "promo"
    _copy_solution(_submission(class_dir, "Alpha Anne", 1))
    outcome = run_batch(class_dir, jobs=1).outcomes[0]
    assert outcome.statut == "délai dépassé", f"Attendu « délai dépassé » ; vu « {outcome.statut} »"
    assert GradeStatus.TIMED_OUT.meaning in outcome.comments, (
        f"Attendu le commentaire « {GradeStatus.TIMED_OUT.meaning} » ; vu {outcome.comments}"
    )


def test_a_rerun_skips_unchanged_submissions_and_regrades_changed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr("grader.batch.run.grade_submission", _fake_grader(calls))
    class_dir = tmp_path / "promo"
    for number, name in enumerate(("Alpha Anne", "Bravo Bob"), start=1):
        _copy_solution(_submission(class_dir, name, number))
    first = run_batch(class_dir, jobs=2)
    assert (first.graded, first.reused) == (2, 0), f"1er passage : 2 corrigés attendus ; vu {first.graded}"
    second = run_batch(class_dir, jobs=2)
    assert (second.graded, second.reused) == (0, 2), (
        f"2e passage sans changement : 0 corrigé, 2 repris attendus ; vu {second.graded}, {second.reused}"
    )
    changed = class_dir / f"Bravo Bob_2{MOODLE}" / FILES[1]
    changed.write_text(changed.read_text("utf-8") + "\n# modifié\n", encoding="utf-8")
    third = run_batch(class_dir, jobs=2)
    assert (third.graded, third.reused) == (1, 1), (
        f"Attendu 1 recorrigé, 1 repris ; vu {third.graded}, {third.reused}"
    )
    monkeypatch.setattr("grader.batch.run.grader_fingerprint", lambda: "nouvelle version du correcteur")
    fourth = run_batch(class_dir, jobs=2)
    assert fourth.graded == 2, f"Nouveau correcteur : tout recorriger attendu ; vu {fourth.graded} corrigé(s)"
    forced = run_batch(class_dir, jobs=2, force=True)
    assert forced.graded == 2, f"--force : tout recorriger attendu ; vu {forced.graded} corrigé(s)"
    assert len(calls) == 7, f"Attendu 7 corrections en tout ; vu {len(calls)}"


def test_obvious_renamings_are_accepted_and_unrelated_files_are_not() -> None:
    accepted = [
        "Sync_Downloader.py",
        "sync_downloader (1).py",
        "sync-downloader.py",
        "sync_downloader.py.txt",
    ]
    for name in accepted:
        assert expected_name(name) == ("sync_downloader.py", True), f"{name} : accepté comme renommé attendu"
    assert expected_name("async_downloader.py") == ("async_downloader.py", False), "Nom exact : non renommé"
    for name in ("sync.py", "downloader.py", "sync_downloader.pyc", "async_downloader_v2.py"):
        assert expected_name(name) is None, f"{name} : attendu ignoré, vu {expected_name(name)}"
    assert student_name(f"Le Gall Anaïs_8812{MOODLE}") == "Le Gall Anaïs", (
        "Nom Moodle : la partie avant _8812_"
    )


def test_duplicates_are_resolved_deterministically_and_links_refused(tmp_path: Path) -> None:
    class_dir = tmp_path / "promo"
    folder = _submission(class_dir, "Durand Max", 7)
    _copy_solution(folder / "v2")
    _copy_solution(folder / "v1")
    (folder / "brouillon").mkdir()
    shutil.copyfile(SOLUTION_DIR / FILES[0], folder / "brouillon" / FILES[0])
    linked = _submission(class_dir, "Lien Léo", 8)
    os.symlink(SOLUTION_DIR / FILES[0], linked / FILES[0])
    shutil.copyfile(SOLUTION_DIR / FILES[1], linked / FILES[1])
    durand, lien = find_submissions(class_dir)
    chosen = {name: found.relative for name, found in durand.files.items()}
    assert chosen == {FILES[0]: f"v1/{FILES[0]}", FILES[1]: f"v1/{FILES[1]}"}, (
        f"Attendu v1/ (paire complète) ; vu {chosen}"
    )
    assert any("3 fichiers candidats" in c for c in durand.comments), (
        f"Attendu le doublon signalé ; vu {durand.comments}"
    )
    assert FILES[0] not in lien.files, "Attendu : le lien symbolique n'est pas retenu"
    assert any("lien symbolique refusé" in c for c in lien.comments), f"Vu {lien.comments}"
    assert lien.statut == "incomplet", f"Attendu « incomplet » (fichier manquant) ; vu {lien.statut}"


def test_a_moodle_zip_is_extracted_safely(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for file in FILES:
            bundle.write(SOLUTION_DIR / file, f"Dupont Jean_5{MOODLE}/{file}")
        bundle.writestr("Dupont Jean_5_assignsubmission_onlinetext_/onlinetext.html", "<p>voir fichiers</p>")
        bundle.writestr("../evasion.py", "x = 1\n")
        link = zipfile.ZipInfo(f"Pirate Eve_6{MOODLE}/{FILES[0]}")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(link, "/etc/passwd")
    root, skipped = extract_archive(archive, tmp_path / "extrait")
    submissions = find_submissions(root)
    assert [s.student for s in submissions] == ["Dupont Jean"], f"Vu {[s.student for s in submissions]}"
    assert set(submissions[0].files) == set(FILES), (
        f"Attendu les deux fichiers ; vu {set(submissions[0].files)}"
    )
    assert any("onlinetext" in c for c in submissions[0].comments), (
        f"Attendu : le dossier « texte en ligne » du même étudiant signalé ; vu {submissions[0].comments}"
    )
    assert not (tmp_path / "evasion.py").exists(), "Attendu : aucune entrée extraite hors du dossier"
    assert len(skipped) == 2, f"Attendu 2 entrées ignorées (chemin hors archive, lien) ; vu {skipped}"


def test_the_output_folder_may_not_be_inside_the_submissions(tmp_path: Path) -> None:
    (tmp_path / "promo").mkdir()
    with pytest.raises(BatchError, match="dans le dossier des rendus"):
        run_batch(tmp_path / "promo", tmp_path / "promo" / "notes")


def test_a_grade_that_runs_too_long_is_stopped_at_the_deadline(tmp_path: Path) -> None:
    grade = grade_submission(pristine_skeleton().folder, tmp_path / "results.json", timeout=0.5)
    assert grade.statut == "délai dépassé", f"Attendu « délai dépassé » ; vu « {grade.statut} »"
    assert grade.report is None and grade.elapsed < 10, f"Attendu un arrêt rapide ; vu {grade.elapsed:.1f} s"


def _outcome(student: str, feedback: str, score: float) -> StudentOutcome:
    document = zero_results(feedback, GradeStatus.ERROR)
    document["score"] = score
    return StudentOutcome(
        student, "eleve", "dossier <b>", GradeStatus.ERROR, parse_results(document), ("<i>x</i>",), 1.0, "k"
    )


def test_the_report_escapes_everything_from_submissions_and_needs_no_network(tmp_path: Path) -> None:
    evil = "<script>alert('x')</script>"
    outcome = _outcome(evil, '<img src=x onerror="alert(1)">', 12.5)
    page = report_html.write_report([outcome], tmp_path, "promo <2026>").read_text("utf-8")
    student = (tmp_path / "retours" / "eleve.html").read_text("utf-8")
    for text in (page, student):
        assert "<script" not in text and "<img" not in text, "Attendu : aucune balise venue d'un rendu"
        assert "&lt;script&gt;" in text or "&lt;img" in text, "Attendu : le texte du rendu affiché, échappé"
        assert "http://" not in text and "https://" not in text, "Attendu : aucune ressource externe"
    assert page.count("<svg") == 2, f"Attendu 2 graphiques SVG en ligne ; vu {page.count('<svg')}"
    assert 'href="retours/eleve.html"' in page, "Attendu : un lien vers la page de retour de l'étudiant"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    _chromium() is None, reason="chromium absent : installez-le (apt-get install chromium), .ci/run le fait"
)
def test_the_report_renders_in_a_headless_browser(tmp_path: Path) -> None:
    outcomes = [_outcome(f"Étudiant {n}", f"retour {n % 3}", float(n)) for n in range(0, 21, 2)]
    page = report_html.write_report(outcomes, tmp_path, "promo")
    screenshot = tmp_path / "rapport.png"
    command = [
        str(_chromium()),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--screenshot={screenshot}",
        "--window-size=1280,2000",
        f"--user-data-dir={tmp_path / 'profil'}",
        page.as_uri(),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert screenshot.is_file(), f"Attendu une capture PNG ; chromium a dit : {completed.stderr[-800:]}"
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "Attendu un fichier PNG"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000), f"Attendu 1280×2000 ; vu {width}×{height}"
    assert len(data) > 30_000, f"Attendu une page non vide (plus de 30 ko de PNG) ; vu {len(data)} octets"


def _class_outcomes() -> list[StudentOutcome]:
    """Six students: student n gets the first n criteria right, and one of three feedback lines."""
    outcomes = []
    for n in range(6):
        document = zero_results(f"Gestion des erreurs : retour {n % 3}", GradeStatus.GRADED)
        for test in document["tests"][:n]:
            test.update(score=test["max_score"], status="passed", output="")
        document["score"] = float(sum(test["score"] for test in document["tests"]))
        outcomes.append(
            StudentOutcome(
                f"Élève {n}",
                f"eleve-{n}",
                "dossier",
                GradeStatus.GRADED,
                parse_results(document),
                (),
                1.0,
                "k",
            )
        )
    return outcomes


def _listed(page: str, opening: str) -> list[str]:
    """The students listed in the <details> block that starts with ``opening``."""
    start = page.index(opening)
    block = page[start : page.index("</details>", start)]
    return re.findall(r'<li><a href="retours/[^"]+">([^<]+)</a>', block)


def test_each_criterion_and_frequent_feedback_opens_onto_the_students_concerned(tmp_path: Path) -> None:
    page = report_html.write_report(_class_outcomes(), tmp_path, "promo").read_text("utf-8")
    third = CRITERIA[2]
    concerned = _listed(page, f"<b>{third.id}</b>")
    assert concerned == ["Élève 0", "Élève 1", "Élève 2"], (
        f"{third.id} : attendu les élèves 0 à 2 (ceux qui ne l'ont pas réussi) ; vu {concerned}"
    )
    said = _listed(page, "retour 1</pre>")
    assert said == ["Élève 1", "Élève 4"], f"« retour 1 » : attendu les élèves 1 et 4 ; vu {said}"
    last = CRITERIA[-1]
    assert f"<b>{last.id}</b> {last.title} · 6 étudiant(s)" in page, (
        "Attendu le compte des étudiants concernés"
    )


# Run inside a copy of the report: clicks like a reader, then applies the print rules to the
# screen (the CSSOM lets a media rule be rewritten), and writes what it saw into the DOM.
PROBE = """<script>
const seen = {};
const first = document.querySelector('details.qui');
const visible = (element) => element.checkVisibility();
seen.closedShown = visible(first.querySelector('li'));
first.querySelector('summary').click();
seen.openShown = visible(first.querySelector('li'));
seen.openNames = [...first.querySelectorAll('li a')].map((a) => a.textContent);
first.open = false;
for (const sheet of document.styleSheets) for (const rule of sheet.cssRules)
  if (rule.media && rule.media.mediaText === 'print') rule.media.mediaText = 'all';
seen.printShown = [...document.querySelectorAll('details.qui li')].map(visible);
seen.printHint = visible(document.querySelector('.ecran'));
document.body.dataset.vu = JSON.stringify(seen);
</script>"""


@pytest.mark.skipif(
    _chromium() is None, reason="chromium absent : installez-le (apt-get install chromium), .ci/run le fait"
)
def test_in_a_browser_a_click_shows_the_students_and_the_print_view_unfolds_everything(
    tmp_path: Path,
) -> None:
    page = report_html.write_report(_class_outcomes(), tmp_path, "promo")
    probe = tmp_path / "sonde.html"
    probe.write_text(page.read_text("utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    command = [
        str(_chromium()), "--headless", "--no-sandbox", "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profil'}", "--dump-dom", probe.as_uri(),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r'data-vu="([^"]*)"', completed.stdout)
    assert found, f"Attendu le résultat de la sonde dans le DOM ; chromium a dit : {completed.stderr[-800:]}"
    seen = json.loads(html.unescape(found.group(1)))
    assert not seen["closedShown"] and seen["openShown"], (
        f"Attendu : liste cachée, puis visible après le clic ; vu {seen}"
    )
    assert seen["openNames"] == ["Élève 0"], f"Attendu Élève 0 pour le 1er critère ; vu {seen['openNames']}"
    assert seen["printShown"] and all(seen["printShown"]), (
        f"Vue d'impression : attendu toutes les listes dépliées ; vu {seen['printShown']}"
    )
    assert not seen["printHint"], "Vue d'impression : attendu l'aide à l'écran masquée"


def test_a_moodle_zip_is_graded_into_a_notes_folder_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr("grader.batch.run.grade_submission", _fake_grader(calls))
    archive = tmp_path / "TP asyncio-groupe A.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for number, name in enumerate(("Dupont Jean", "Martin Léa"), start=1):
            for file in FILES:
                bundle.write(SOLUTION_DIR / file, f"{name}_{number}{MOODLE}/{file}")
    summary = run_batch(archive, jobs=2)
    out_dir = tmp_path / "TP asyncio-groupe A-notes"
    assert summary.out_dir == out_dir, (
        f"Attendu le dossier {out_dir.name} à côté du zip ; vu {summary.out_dir}"
    )
    assert sorted(p.name for p in (out_dir / "resultats").iterdir()) == [
        "dupont-jean.json",
        "martin-lea.json",
    ], f"Attendu un résultat par étudiant ; vu {sorted(p.name for p in (out_dir / 'resultats').iterdir())}"
    assert len(calls) == 2 and all(not str(c).startswith(str(tmp_path)) for c in calls), (
        f"Attendu 2 corrections de copies hors du dossier des rendus ; vu {calls}"
    )


def test_a_failure_of_the_batch_itself_marks_one_submission_and_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(folder: Path, results_path: Path, *, timeout: float, **_: object) -> SubmissionGrade:
        raise OSError(28, "plus de place sur le disque")

    monkeypatch.setattr("grader.batch.run.grade_submission", broken)
    class_dir = tmp_path / "promo"
    _copy_solution(_submission(class_dir, "Dupont Jean", 1))
    first = run_batch(class_dir, jobs=1)
    outcome = first.outcomes[0]
    assert outcome.statut == "erreur", f"Attendu le statut « erreur » ; vu « {outcome.statut} »"
    assert any("plus de place" in c for c in outcome.comments), f"Attendu la cause ; vu {outcome.comments}"
    calls: list[Path] = []
    monkeypatch.setattr("grader.batch.run.grade_submission", _fake_grader(calls))
    second = run_batch(class_dir, jobs=1)
    assert second.graded == 1, (
        f"Attendu : le rendu en erreur interne recorrigé ; vu {second.graded} corrigé(s)"
    )


def test_without_the_optional_similarity_group_the_class_is_graded_and_the_report_says_how_to_add_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import grader.batch

    monkeypatch.setattr("grader.batch.run.grade_submission", _fake_grader([]))
    monkeypatch.delattr(grader.batch, "similarity", raising=False)
    monkeypatch.setitem(sys.modules, "grader.batch.similarity", None)  # as if copydetect were absent
    class_dir = tmp_path / "promo"
    for number, name in enumerate(("Alpha Anne", "Bravo Bob"), start=1):
        _copy_solution(_submission(class_dir, name, number))
    summary = run_batch(class_dir, jobs=2)
    assert summary.graded == 2 and summary.look_alike is None, (
        f"Attendu : 2 rendus corrigés, recherche de ressemblances non faite ; vu {summary.graded}, "
        f"{summary.look_alike}"
    )
    page = summary.report.read_text("utf-8")
    assert "poetry install --with similarity" in page, "Attendu : le rapport dit comment l'installer"
    assert not summary.similarities.exists(), "Attendu : pas de similarites.csv sans recherche"
