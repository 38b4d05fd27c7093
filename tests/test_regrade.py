"""Regrading a class after a fix of the grader: only the stale results, and what changed.

The grader is really run, from a copy of the kit whose one check is then edited by one line:
the copy's fingerprint changes as the kit's would, and so do the marks it gives.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from grader.batch import changes_report, cli
from grader.batch.changes import Reason, compare
from grader.batch.results import parse_results, zero_results
from grader.batch.run import RESULTS_DIR, run_batch
from grader.batch.runner import SubmissionGrade
from grader.engine.criteria import CRITERIA
from grader.engine.fingerprint import RESULTS_KEY, compute_fingerprint
from grader.engine.paths import KIT_ROOT
from grader.engine.statuses import GradeStatus
from tests.catalogue import CATALOGUE, SOLUTION_DIR, build_mutant

MOODLE = "_assignsubmission_file_"
KIT_FILES = ("grader", "pyproject.toml", "conftest.py", "poetry.lock")
# The one-line fix: the start of the batch is no longer required in the log.
CHECK = Path("grader/checks/test_logging.py")
BEFORE = "        first > 0 and last < len(lines) - 1,\n"
AFTER = "        last < len(lines) - 1,\n"


def _kit_copy(destination: Path) -> Path:
    destination.mkdir()
    for name in KIT_FILES:
        source = KIT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, destination / name)
    return destination


def _class(class_dir: Path) -> None:
    """Alpha: the solution; Bravo: no start line in the log (the fix helps him); Charlie: another fault."""
    shutil.copytree(SOLUTION_DIR, class_dir / f"Alpha Anne_1{MOODLE}", ignore=shutil.ignore_patterns("__*"))
    mutants = {m.name: m for m in CATALOGUE.mutants}
    build_mutant(mutants["async_sans_message_de_debut"], class_dir / f"Bravo Bob_2{MOODLE}")
    build_mutant(mutants["sync_mkdir_sans_exist_ok"], class_dir / f"Charlie Chloé_3{MOODLE}")


def _results(out_dir: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((out_dir / RESULTS_DIR).glob("*.json"))}


def _change_rows(out_dir: Path) -> list[dict[str, str]]:
    text = (out_dir / changes_report.FILE_NAME).read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def test_after_a_one_line_fix_only_stale_results_are_regraded_and_the_moved_marks_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    kit = _kit_copy(tmp_path / "kit")
    monkeypatch.setattr("grader.batch.runner.KIT_ROOT", kit)  # the grader runs from the copy

    def fingerprint() -> str:
        return compute_fingerprint(kit / "grader", kit / "poetry.lock")

    monkeypatch.setattr("grader.batch.run.grader_fingerprint", fingerprint)
    class_dir, out_dir = tmp_path / "promo", tmp_path / "notes"
    _class(class_dir)

    first = run_batch(class_dir, out_dir, jobs=2)
    marks = {o.student: o.score for o in first.outcomes}
    assert first.graded == 3, f"1re correction : 3 rendus corrigés attendus ; vu {first.graded}"
    assert marks["Alpha Anne"] == 20 and marks["Bravo Bob"] < 20, f"Attendu 20 et moins de 20 ; vu {marks}"
    written = json.loads((out_dir / RESULTS_DIR / "alpha-anne.json").read_text("utf-8"))
    old_fingerprint = fingerprint()
    assert written["extra_data"][RESULTS_KEY] == old_fingerprint, (
        f"Attendu l'empreinte du correcteur {old_fingerprint} dans results.json ; vu {written['extra_data']}"
    )

    assert cli.main([str(class_dir), "--out", str(out_dir), "--jobs", "2"]) == 0
    said = capsys.readouterr()
    shown = " ".join((said.err + said.out).split())  # rich wraps its lines at the terminal's width
    assert cli.NOTHING_TO_DO in shown, f"Sans changement : attendu « {cli.NOTHING_TO_DO} » ; vu {shown!r}"
    assert "0 corrigé(s), 3 repris" in said.out, f"Sans changement : rien recorrigé attendu ; vu {said.out!r}"

    check = kit / CHECK
    source = check.read_text("utf-8")
    assert source.count(BEFORE) == 1, f"Attendu une fois la ligne à corriger dans {CHECK}"
    check.write_text(source.replace(BEFORE, AFTER), encoding="utf-8")

    before = _results(out_dir)
    simulated = run_batch(class_dir, out_dir, simulation=True)
    reasons = {entry.submission.student: entry.reason for entry in simulated.planned}
    assert reasons == dict.fromkeys(marks, Reason.GRADER), (
        f"Simulation : les 3 rendus « correcteur modifié » attendus ; vu {reasons}"
    )
    assert simulated.graded == 0 and _results(out_dir) == before, "Simulation : rien corrigé ni écrit attendu"
    assert "3 rendu(s) sur 3 seraient corrigés" in cli.simulation_text(simulated.planned)

    fixed = run_batch(class_dir, out_dir, jobs=2)
    assert fixed.graded == 3, f"Après la correction du correcteur : 3 recorrigés attendus ; vu {fixed.graded}"
    moved = {o.student for o in fixed.outcomes if o.score != marks[o.student]}
    assert moved == {"Bravo Bob"}, f"Attendu seule la note de Bravo Bob changée ; vu {moved}"
    rows = _change_rows(out_dir)
    assert [row["Étudiant"] for row in rows] == ["Bravo Bob"], (
        f"changements.csv : attendu Bravo Bob seul ; vu {[row['Étudiant'] for row in rows]}"
    )
    assert "async.logging" in rows[0]["Critères modifiés"], f"Attendu le critère async.logging ; vu {rows[0]}"
    assert rows[0]["Raison"] == Reason.GRADER, f"Attendu la raison « correcteur modifié » ; vu {rows[0]}"
    page = fixed.report.read_text("utf-8")
    start = page.index(f"<h2>{changes_report.TITLE}</h2>")
    section = page[start : page.index("</section>", start)]
    assert "Bravo Bob" in section and "Alpha Anne" not in section and "Charlie" not in section, (
        "Rapport : attendu Bravo Bob seul dans « Notes modifiées depuis la dernière correction »"
    )

    again = run_batch(class_dir, out_dir, jobs=2)
    assert again.graded == 0, f"Relance sans changement : aucun recorrigé attendu ; vu {again.graded}"
    assert [row["Étudiant"] for row in _change_rows(out_dir)] == ["Bravo Bob"], (
        "Relance sans changement : attendu le changement de Bravo Bob toujours dans changements.csv"
    )


def test_the_fingerprint_follows_the_checks_the_lock_and_the_points_not_the_presentation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = _kit_copy(tmp_path / "kit")
    grader, lock = kit / "grader", kit / "poetry.lock"
    original = compute_fingerprint(grader, lock)
    assert compute_fingerprint(grader, lock) == original, "Attendu la même empreinte pour le même correcteur"

    def changed_by(path: Path, text: str) -> bool:
        before = path.read_bytes()
        path.write_text(path.read_text("utf-8") + text, encoding="utf-8")
        moved = compute_fingerprint(grader, lock) != original
        path.write_bytes(before)
        return moved

    assert changed_by(kit / CHECK, "\n# une ligne\n"), "Vérification modifiée : nouvelle empreinte attendue"
    assert changed_by(lock, "\n"), "poetry.lock modifié : nouvelle empreinte attendue"
    for shown in ("batch/report_html.py", "batch/gradebook.py", "batch/changes.py", "platforms/lockfile.py"):
        assert not changed_by(grader / shown, "\n# présentation\n"), (
            f"grader/{shown} ne fait que présenter les notes : empreinte inchangée attendue"
        )
    reweighted = tuple(replace(c, points=c.points + 1) if i == 0 else c for i, c in enumerate(CRITERIA))
    monkeypatch.setattr("grader.engine.fingerprint.CRITERIA", reweighted)
    assert compute_fingerprint(grader, lock) != original, "Barème modifié : nouvelle empreinte attendue"


def test_a_change_names_the_criteria_that_moved_and_nothing_when_nothing_moved() -> None:
    before = parse_results(zero_results("x", GradeStatus.GRADED))
    document = zero_results("x", GradeStatus.GRADED)
    document["tests"][0]["score"] = 2.0
    document["score"] = 2.0
    after = parse_results(document)
    assert compare(before, before, Reason.GRADER) is None, "Même résultat : aucun changement attendu"
    change = compare(before, after, Reason.GRADER)
    assert change is not None and (change.before, change.after) == (0.0, 2.0), f"Attendu 0 → 2 ; vu {change}"
    assert [c.id for c in change.criteria] == [document["tests"][0]["number"]], (
        f"Attendu le seul critère modifié ; vu {change.criteria}"
    )


def _graded_at_zero(folder: Path, results_path: Path, *, timeout: float, **_: object) -> SubmissionGrade:
    """Stands in for a real grade: every submission « à revoir », at 0."""
    report = parse_results(zero_results("à revoir", GradeStatus.GRADED))
    return SubmissionGrade(report, report.statut, 0.1, 0, None, "")


def test_each_stale_result_gets_its_reason_and_the_fresh_ones_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("grader.batch.run.grade_submission", _graded_at_zero)
    class_dir, out_dir = tmp_path / "promo", tmp_path / "notes"
    _class(class_dir)

    def reasons(force: bool = False) -> dict[str, Reason | None]:
        planned = run_batch(class_dir, out_dir, simulation=True, force=force).planned
        return {entry.submission.student: entry.reason for entry in planned}

    assert set(reasons().values()) == {Reason.NEW}, f"Jamais corrigés : « nouveau rendu » ; vu {reasons()}"
    run_batch(class_dir, out_dir, jobs=2)
    assert set(reasons().values()) == {None}, f"Rien de changé : aucune raison attendue ; vu {reasons()}"
    changed = class_dir / f"Bravo Bob_2{MOODLE}" / "sync_downloader.py"
    changed.write_text(changed.read_text("utf-8") + "\n# modifié\n", encoding="utf-8")
    old = out_dir / RESULTS_DIR / "charlie-chloe.json"
    document = json.loads(old.read_text("utf-8"))
    # A result written before the fingerprint existed: its resume key mixed in the kit's hash.
    del document["extra_data"][RESULTS_KEY]
    document["extra_data"]["cle_reprise"] = "0123456789abcdef0123456789abcdef"
    old.write_text(json.dumps(document), encoding="utf-8")
    expected = {"Alpha Anne": None, "Bravo Bob": Reason.SUBMISSION, "Charlie Chloé": Reason.GRADER}
    assert reasons() == expected, f"Attendu {expected} ; vu {reasons()}"
    assert reasons(force=True) == {**expected, "Alpha Anne": Reason.FORCED}, (
        f"--force : Alpha Anne « recorrection demandée », les autres inchangés ; vu {reasons(force=True)}"
    )


def test_a_namesake_who_takes_the_slug_of_a_graded_student_is_graded_not_given_their_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("grader.batch.run.grade_submission", _graded_at_zero)
    class_dir, out_dir = tmp_path / "promo", tmp_path / "notes"
    first = class_dir / f"Dupont Jean_124{MOODLE}"
    shutil.copytree(SOLUTION_DIR, first, ignore=shutil.ignore_patterns("__*"))
    run_batch(class_dir, out_dir, jobs=1)
    # A namesake hands in the same files later; sorted first, he now takes the slug « dupont-jean ».
    shutil.copytree(first, class_dir / f"Dupont Jean_123{MOODLE}")
    planned = run_batch(class_dir, out_dir, simulation=True).planned
    seen = {entry.submission.folder.name: (entry.submission.slug, entry.reason) for entry in planned}
    expected = {
        f"Dupont Jean_123{MOODLE}": ("dupont-jean", Reason.NEW),
        f"Dupont Jean_124{MOODLE}": ("dupont-jean-2", Reason.NEW),
    }
    assert seen == expected, (
        "Attendu : chaque homonyme corrigé pour lui-même (« nouveau rendu »), aucun ne reprend le "
        f"résultat de l'autre ; vu {seen}"
    )
    outcomes = run_batch(class_dir, out_dir, jobs=1).outcomes
    folders = sorted(outcome.folder for outcome in outcomes)
    assert folders == sorted(expected), f"Attendu un résultat par dossier ; vu {folders}"
