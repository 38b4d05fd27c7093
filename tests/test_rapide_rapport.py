"""Fast tier: synthetic check outcomes straight into the scoring and the French report.

No process, no grade: each test builds the outcomes the checks would give and asserts the
exact marks, lines and statuses the student reads.
"""

from __future__ import annotations

from pathlib import Path

from grader.engine import report
from grader.engine.criteria import CRITERIA
from grader.engine.outcomes import CheckOutcome, Kind
from grader.engine.plans import PartPlan
from grader.engine.reflection import Reflection, Status
from grader.engine.runs import GradeRun, PartRun, ScenarioRun
from grader.engine.sandbox import Protections
from grader.engine.worker.protocol import ScenarioEnding


def _outcome(
    criterion: str,
    kind: Kind = Kind.PASSED,
    weight: float = 1.0,
    message: str = "",
    *,
    title: str = "Vérification",
    todo: str = "",
    cause: str = "",
    notes: tuple[str, ...] = (),
) -> CheckOutcome:
    return CheckOutcome("test_synthétique", criterion, title, weight, kind, message, todo, cause, list(notes))


def _all_passed_but(criterion: str, *outcomes: CheckOutcome) -> list[CheckOutcome]:
    """One passed check for every other criterion, and ``outcomes`` for ``criterion``."""
    return [_outcome(c.id) for c in CRITERIA if c.id != criterion] + list(outcomes)


def _lines(console: str) -> list[str]:
    return console.split("\n")


def test_weighted_checks_give_a_partial_score_rounded_to_the_hundredth() -> None:
    outcomes = _all_passed_but(
        "sync.download",
        _outcome("sync.download", weight=2),
        _outcome("sync.download", Kind.LOST, 1, "3 image(s) sur 6.\nPiste : regardez la boucle."),
    )
    results = report.score_criteria(outcomes)
    download = next(r for r in results if r.criterion.id == "sync.download")
    assert (download.score, download.status) == (1.33, "failed"), (
        f"attendu 1,33/2 (2 poids sur 3) et le statut failed ; vu {download.score} et {download.status}"
    )
    total = report.total_score(results)
    assert total == 19.33, f"attendu une note totale de 19,33 ; vu {total}"


def test_console_shows_the_criterion_line_the_mark_and_what_was_lost() -> None:
    outcomes = _all_passed_but(
        "sync.download",
        _outcome("sync.download", weight=2),
        _outcome(
            "sync.download",
            Kind.LOST,
            1,
            "3 image(s) sur 6.\nPiste : regardez la boucle.",
            title="main() enregistre chaque image",
        ),
    )
    lines = _lines(report.render_console(report.score_criteria(outcomes), "rendu/"))
    expected = [
        "Correction de : rendu/",
        "",
        "Partie 1 : sync_downloader.py (requests)",
        "  ✗ sync.download      Téléchargement et sauvegarde des images                     1,33/2  à revoir",
        "  ✓ sync.session       Une seule requests.Session pour toutes les requêtes        1,5/1,5",
    ]
    assert lines[:5] == expected, f"attendu le début du rapport {expected} ; vu {lines[:5]}"
    tail = [
        "Note : 19,33/20",
        "",
        "Points perdus :",
        "",
        "■ sync.download — Téléchargement et sauvegarde des images",
        "  • main() enregistre chaque image : 3 image(s) sur 6.",
        "    Piste : regardez la boucle.",
    ]
    assert lines[-7:] == tail, f"attendu la fin du rapport {tail} ; vu {lines[-7:]}"


def test_every_criterion_not_done_lists_the_todos_in_order() -> None:
    outcomes = [
        _outcome(c.id, Kind.NOT_DONE, message="pas encore fait (TODO 3 : main)", todo="TODO 3 : main")
        for c in CRITERIA
    ]
    outcomes[0].todo = "TODO 1 : setup_logging"
    results = report.score_criteria(outcomes)
    lines = _lines(report.render_console(results, "skeleton/"))
    expected_line = (
        "  ✗ sync.session       Une seule requests.Session pour toutes les requêtes          0/1,5"
        "  pas encore fait"
    )
    assert expected_line in lines, f"attendu la ligne {expected_line!r} ; vu {lines[:6]}"
    tail = [
        "Note : 0/20",
        "",
        "Pas encore fait (14 critères) ; TODO rencontrés : TODO 1 : setup_logging, TODO 3 : main.",
        "Complétez-les dans l'ordre, puis relancez.",
    ]
    assert lines[-4:] == tail, f"attendu la fin du rapport {tail} ; vu {lines[-4:]}"
    status = report.grade_status(results)
    assert status == "incomplet", f"attendu le statut « incomplet » ; vu « {status} »"


def test_a_crash_is_explained_once_then_named_by_its_short_cause() -> None:
    crash = "main() a levé ZeroDivisionError : division by zero (main, ligne 70)"
    message = f"{crash}\nPiste : lisez le message ci-dessus."
    outcomes = [
        _outcome(c.id)
        if c.part == "async"
        else _outcome(c.id, Kind.BROKEN, message=message, cause=crash, title="main() fonctionne")
        for c in CRITERIA
    ]
    results = report.score_criteria(outcomes)
    lines = _lines(report.render_console(results, "rendu/"))
    first = lines.index("■ sync.download — Téléchargement et sauvegarde des images")
    expected = [
        "  • main() fonctionne : main() a levé ZeroDivisionError : division by zero (main, ligne 70)",
        "    Piste : lisez le message ci-dessus.",
        "",
        "■ sync.session — Une seule requests.Session pour toutes les requêtes",
        "  • main() fonctionne : main() a levé ZeroDivisionError : division by zero (main, ligne 70) "
        "(détails plus haut)",
    ]
    assert lines[first + 1 : first + 6] == expected, (
        f"attendu le plantage détaillé une fois puis sa cause courte {expected} ; "
        f"vu {lines[first + 1 : first + 6]}"
    )
    status = report.grade_status(results)
    assert status == "erreur", f"attendu le statut « erreur » ; vu « {status} »"


def test_notes_are_listed_without_points_lost() -> None:
    note = "refusé par le correcteur, qui travaille hors ligne et isolé : connexion à example.org"
    outcomes = _all_passed_but("sync.download", _outcome("sync.download", weight=2, notes=(note,)))
    results = report.score_criteria(outcomes)
    lines = _lines(report.render_console(results, "solution/"))
    expected = ["Note : 20/20", "", "Remarques (sans perte de points) :", f"  • sync.download : {note}"]
    assert lines[-4:] == expected, f"attendu la note et la remarque {expected} ; vu {lines[-4:]}"


def test_criterion_without_any_check_is_lost_and_says_so() -> None:
    results = report.score_criteria([_outcome(c.id) for c in CRITERIA if c.id != "async.files"])
    files = next(r for r in results if r.criterion.id == "async.files")
    expected = [("Critère", "aucune vérification n'a tourné pour ce critère", "")]
    assert (files.score, files.feedback) == (0.0, expected), (
        f"attendu 0 point et le retour {expected} ; vu {files.score} et {files.feedback}"
    )


def _grade_run(ending: ScenarioEnding) -> GradeRun:
    part = PartRun("sync", PartPlan("sync", (), {}), Path("correction/sync"), load={"status": "ok"})
    part.scenarios["main"] = ScenarioRun("main", Path("correction/sync/main"), ending=ending)
    return GradeRun(Path("rendu"), {"sync": part}, Protections(), 1.0)


def test_a_hung_scenario_makes_the_status_time_exceeded() -> None:
    results = report.score_criteria([_outcome(c.id) for c in CRITERIA])
    answer = Reflection(Status.MISSING)
    endings = (ScenarioEnding.HUNG, ScenarioEnding.SKIPPED, ScenarioEnding.REPORTED)
    statuses = [report.extra_data(results, _grade_run(e), answer)["statut"] for e in endings]
    expected = ["délai dépassé", "délai dépassé", "noté"]
    assert statuses == expected, f"attendu les statuts {expected} (bloqué, sauté, normal) ; vu {statuses}"


def test_report_of_a_grade_ends_with_the_reflection_and_the_protections() -> None:
    results = report.score_criteria([_outcome(c.id) for c in CRITERIA])
    answer = Reflection(Status.WRITTEN, "L'asynchrone attend en même temps.", 5)
    lines = _lines(report.render_console(results, "solution/", _grade_run(ScenarioEnding.REPORTED), answer))
    expected = [
        "Question de réflexion (non notée) : réponse écrite, 5 mots ; appuyez-la sur vos propres "
        "chiffres de « poetry run -- nox -s demo -- skeleton ».",
        "",
        "Protections actives : processus séparé (interpréteur isolé, copie des fichiers, entrée "
        "standard vide) ; garde d'audit Python (messages clairs, seconde couche) ; arrêt de tous "
        "les processus de la correction à l'échéance.",
    ]
    assert lines[-3:] == expected, f"attendu la réflexion puis les protections {expected} ; vu {lines[-3:]}"
