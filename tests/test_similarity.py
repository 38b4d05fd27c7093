"""Look-alike submissions: a disguised copy is found, honest work sharing the skeleton is not."""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import subprocess
from html import escape
from pathlib import Path

import pytest

from grader.batch import similarity_report
from grader.batch.cli import threshold
from grader.batch.results import parse_results, zero_results
from grader.batch.run import run_batch
from grader.batch.runner import SubmissionGrade
from grader.batch.similarity_report import DEFAULT_THRESHOLD
from grader.engine.statuses import GradeStatus
from tests.catalogue import SOLUTION_DIR
from tests.look_alike import FILES, disguised_copy, honest_files
from tests.pristine import pristine_skeleton

MOODLE = "_assignsubmission_file_"
pytest.importorskip(
    "copydetect", reason="groupe Poetry optionnel « similarity » absent : poetry install --with similarity"
)
from copydetect import compare_files  # noqa: E402  (after the skip: the group is optional)

from grader.batch.similarity import (  # noqa: E402
    Fingerprint,
    boilerplate_hashes,
    compare_class,
    covered_matrix,
)


def _skeleton() -> dict[str, str]:
    return {name: (pristine_skeleton().folder / name).read_text(encoding="utf-8") for name in FILES}


def _solution() -> dict[str, str]:
    return {name: (SOLUTION_DIR / name).read_text(encoding="utf-8") for name in FILES}


def _found(documents: dict[str, dict[str, str]]) -> set[tuple[str, str, str]]:
    return {(p.part, p.first, p.second) for p in compare_class(documents, FILES, _skeleton())}


def test_a_copy_disguised_by_renaming_and_reordering_is_found_in_each_part() -> None:
    copy = disguised_copy()
    assert all(copy[name] != _solution()[name] for name in FILES), "Attendu une copie modifiée"
    found = _found({"original": _solution(), "copie": copy, "honnete": honest_files()})
    expected = {(name, "copie", "original") for name in FILES}
    assert found == expected, f"Attendu la paire copie/original dans chaque partie, seule ; vu {found}"


def test_two_honest_submissions_that_share_only_the_skeleton_are_not_paired() -> None:
    found = _found({"honnete": honest_files(), "solution": _solution()})
    assert not found, f"Attendu aucune paire entre deux rendus écrits séparément ; vu {found}"


def test_the_skeleton_itself_never_counts_as_shared() -> None:
    skeleton = _skeleton()
    found = _found({"a": dict(skeleton), "b": dict(skeleton), "c": honest_files()})
    assert not found, f"Attendu : deux squelettes intacts ne sont pas « très proches » ; vu {found}"
    without = compare_class({"a": dict(skeleton), "b": dict(skeleton)}, FILES, {}, DEFAULT_THRESHOLD)
    assert len(without) == 2, (
        f"Témoin : sans squelette déclaré, deux squelettes font une paire par partie ; vu {without}"
    )


def test_the_all_pairs_comparison_gives_copydetects_own_figures() -> None:
    name = FILES[1]
    boilerplate = boilerplate_hashes(name, _skeleton()[name])
    texts = [_solution()[name], disguised_copy()[name], honest_files()[name], _skeleton()[name]]
    prints = [Fingerprint.of(name, text, boilerplate) for text in texts]
    covered = covered_matrix(prints)
    for a, first in enumerate(prints):
        for b, second in enumerate(prints):
            if a != b:
                overlap, _, _ = compare_files(first.code, second.code)
                assert covered[a, b] == overlap, (
                    f"Fichiers {a} et {b} : attendu les {overlap} caractères partagés de copydetect ; "
                    f"vu {covered[a, b]}"
                )


def _fake_grader(folder: Path, results_path: Path, *, timeout: float, **_: object) -> SubmissionGrade:
    document = zero_results("à revoir", GradeStatus.GRADED)
    document["score"] = 12.5
    report = parse_results(document)
    return SubmissionGrade(report, report.statut, 0.1, 0, None, "")


def _class(class_dir: Path) -> None:
    shutil.copytree(SOLUTION_DIR, class_dir / f"Alpha Anne_1{MOODLE}", ignore=shutil.ignore_patterns("__*"))
    others = {f"Bravo Bob_2{MOODLE}": disguised_copy(), f"Charlie Chloé_3{MOODLE}": honest_files()}
    for folder, files in others.items():
        (class_dir / folder).mkdir(parents=True)
        for name, text in files.items():
            (class_dir / folder / name).write_text(text, encoding="utf-8")


def test_the_class_report_and_csv_show_the_pair_side_by_side_and_no_mark_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("grader.batch.run.grade_submission", _fake_grader)
    class_dir = tmp_path / "promo"
    _class(class_dir)
    summary = run_batch(class_dir, tmp_path / "notes", jobs=2, skeleton=pristine_skeleton().folder)
    scores = {o.student: o.score for o in summary.outcomes}
    assert scores == dict.fromkeys(("Alpha Anne", "Bravo Bob", "Charlie Chloé"), 12.5), (
        f"Attendu les notes du correcteur, inchangées par la similarité ; vu {scores}"
    )
    text = summary.similarities.read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    pairs = sorted((row["Partie"], row["Étudiant 1"], row["Étudiant 2"]) for row in rows)
    assert pairs == sorted((name, "Alpha Anne", "Bravo Bob") for name in FILES), (
        f"similarites.csv : attendu Alpha Anne et Bravo Bob dans chaque partie, seuls ; vu {pairs}"
    )
    page = summary.report.read_text("utf-8")
    section = page[page.index(f"<h2>{similarity_report.TITLE}</h2>") :]
    assert escape(similarity_report.WARNING) in section, "Attendu l'avertissement : une piste, pas une preuve"
    assert section.count('<div class="cote">') == 2 and "<mark>" in section, (
        "Attendu deux vues côte à côte, passages partagés surlignés"
    )
    assert "Charlie" not in section, "Attendu : le rendu honnête absent des rendus très proches"
    for external in ("<script", "<link", " src=", "@import"):
        assert external not in page, f"Attendu une page autonome, sans ressource externe ; vu « {external} »"


def test_the_report_with_its_look_alike_section_renders_in_a_headless_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium absent : installez-le (apt-get install chromium), .ci/run le fait")
    monkeypatch.setattr("grader.batch.run.grade_submission", _fake_grader)
    _class(tmp_path / "promo")
    summary = run_batch(tmp_path / "promo", tmp_path / "notes", jobs=2, skeleton=pristine_skeleton().folder)
    dumped = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profil'}",
         "--dump-dom", summary.report.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    dom = dumped.stdout
    assert similarity_report.TITLE in dom and dom.count("<mark>") >= 2, (
        f"Attendu la section et ses surlignages dans la page rendue ; chromium a dit : {dumped.stderr[-600:]}"
    )


def test_the_threshold_is_read_as_a_percentage_or_a_fraction() -> None:
    assert threshold("60") == pytest.approx(0.6), f"--seuil 60 : attendu 0,6 ; vu {threshold('60')}"
    assert threshold("0,5") == pytest.approx(0.5), f"--seuil 0,5 : attendu 0,5 ; vu {threshold('0,5')}"
    for wrong in ("0", "150", "beaucoup"):
        with pytest.raises(argparse.ArgumentTypeError):
            threshold(wrong)
