"""The grader against its catalogue: each mutant loses exactly what it declares, variants get 20/20.

Every folder is graded once per session (see the ``grades`` fixture in conftest.py); the
tests below only read those results.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.catalogue import (
    CATALOGUE,
    CRITERION_IDS,
    SKELETON_KEY,
    SOLUTION_KEY,
    CatalogueError,
    Feedback,
    Grade,
    Mutant,
    Variant,
    build_mutant,
    build_variant,
    full_marks,
)

MIN_MUTANTS = 30
MIN_VARIANTS = 7
MIN_MUTANTS_PER_CRITERION = 2
HANG_BOUND_SECONDS = 30.0  # a hanging part stops after about 6 s: this is a wide margin

MUTANTS = CATALOGUE.mutants
VARIANTS = CATALOGUE.variants
WORKING_MUTANTS = [mutant for mutant in MUTANTS if mutant.broken is None]
HANGING_MUTANTS = [mutant for mutant in MUTANTS if mutant.broken == "boucle infinie"]


def needs(*keys: str) -> pytest.MarkDecorator:
    """The folders whose grades the test reads: each is graded once per session."""
    return pytest.mark.grades(*keys)


def _graded(grades: dict[str, Grade], key: str) -> Grade:
    result = grades[key]
    assert result.ok, f"{key} : attendu un résultat du correcteur, obtenu : {result.problem()}"
    return result


def _ids(criteria: frozenset[str] | set[str]) -> str:
    return ", ".join(sorted(criteria)) or "aucun"


# --- the catalogue itself ------------------------------------------------------------------


def test_catalogue_files_are_well_formed() -> None:
    problems = "\n".join(CATALOGUE.errors)
    assert not CATALOGUE.errors, f"Attendu : des mutants et variantes bien formés ; erreurs :\n{problems}"


def test_catalogue_has_enough_mutants_and_variants() -> None:
    assert len(MUTANTS) >= MIN_MUTANTS and len(VARIANTS) >= MIN_VARIANTS, (
        f"Attendu : au moins {MIN_MUTANTS} mutants et {MIN_VARIANTS} variantes ; "
        f"trouvé {len(MUTANTS)} mutants et {len(VARIANTS)} variantes."
    )


def test_every_edit_applies_to_exactly_one_place_of_the_solution(tmp_path: Path) -> None:
    failures = []
    for mutant in MUTANTS:
        try:
            build_mutant(mutant, tmp_path / "mutants" / mutant.name)
        except CatalogueError as error:
            failures.append(str(error))
    for variant in VARIANTS:
        try:
            build_variant(variant, tmp_path / "variants" / variant.name)
        except CatalogueError as error:
            failures.append(str(error))
    assert not failures, "Attendu : chaque « old » présent une seule fois ; vu :\n" + "\n\n".join(failures)


def test_catalogue_covers_every_criterion_at_least_twice() -> None:
    counts = Counter(criterion for mutant in WORKING_MUTANTS for criterion in mutant.loses)
    thin = {criterion: counts[criterion] for criterion in CRITERION_IDS if counts[criterion] < 2}
    assert not thin, (
        f"Attendu : chaque critère perdu par au moins {MIN_MUTANTS_PER_CRITERION} mutants qui se "
        f"chargent et s'exécutent (hors « broken ») ; critères trop peu couverts : {thin}."
    )


# --- the solution and the skeleton ---------------------------------------------------------


@needs(SOLUTION_KEY)
def test_solution_scores_full_marks(grades: dict[str, Grade]) -> None:
    solution = _graded(grades, SOLUTION_KEY)
    assert solution.score == full_marks() and not solution.lost, (
        f"Attendu : solution/ à {full_marks():g}/{full_marks():g} ; obtenu {solution.score:g}, "
        f"critères perdus : {_ids(solution.lost)}\n{solution.feedback(solution.lost)}"
    )


@needs(SKELETON_KEY)
def test_untouched_skeleton_scores_zero_and_every_criterion_says_not_done(
    grades: dict[str, Grade],
) -> None:
    skeleton = _graded(grades, SKELETON_KEY)
    assert skeleton.score == 0, f"Attendu : skeleton/ à 0/{full_marks():g} ; obtenu {skeleton.score:g}."
    missing = sorted(set(CRITERION_IDS) - set(skeleton.marks))
    assert not missing, f"Attendu : une note par critère dans results.json ; absents : {missing}."
    not_said = {
        criterion: mark.output
        for criterion, mark in skeleton.marks.items()
        if "Pas encore fait" not in mark.output
    }
    assert not not_said, (
        "Attendu : « Pas encore fait » dans la sortie de chaque critère du squelette ; "
        f"autres sorties : {not_said}"
    )


@needs(SKELETON_KEY)
def test_untouched_skeleton_never_causes_an_unexpected_error(grades: dict[str, Grade]) -> None:
    skeleton = _graded(grades, SKELETON_KEY)
    texts = {
        "console": skeleton.stdout + skeleton.stderr,
        **{f"results.json {m.id}": m.output for m in skeleton.marks.values()},
        **{f"checks.json {c.check}": c.message for c in skeleton.checks},
    }
    seen = {where: text for where, text in texts.items() if "erreur inattendue" in text}
    assert not seen, f"Attendu : aucune « erreur inattendue » pour le squelette ; vu dans : {seen}"


# --- mutants -------------------------------------------------------------------------------


@pytest.mark.parametrize("mutant", [pytest.param(m, id=m.name, marks=needs(m.key)) for m in MUTANTS])
def test_mutant_loses_exactly_its_declared_criteria(mutant: Mutant, grades: dict[str, Grade]) -> None:
    result = _graded(grades, mutant.key)
    extra, kept = result.lost - mutant.loses, mutant.loses - result.lost
    assert not extra and not kept, (
        f"Mutant {mutant.name} ({mutant.description})\n"
        f"Attendu : perd exactement {_ids(mutant.loses)} et garde tous ses points ailleurs.\n"
        f"Vu : perd {_ids(result.lost)} (note {result.score:g}/{full_marks():g}).\n"
        f"Perdus en trop : {_ids(extra)}\n{result.feedback(extra)}\n"
        f"Déclarés mais non perdus : {_ids(kept)}"
    )


@pytest.mark.parametrize("mutant", [pytest.param(m, id=m.name, marks=needs(m.key)) for m in HANGING_MUTANTS])
def test_hanging_submission_is_graded_well_under_a_minute(mutant: Mutant, grades: dict[str, Grade]) -> None:
    result = grades[mutant.key]
    assert not result.timed_out and result.elapsed < HANG_BOUND_SECONDS, (
        f"Mutant {mutant.name} (boucle infinie) : attendu une correction terminée en moins de "
        f"{HANG_BOUND_SECONDS:g} s ; vu {result.elapsed:.1f} s"
        + (" (processus arrêté par le test)" if result.timed_out else "")
        + "."
    )
    _graded(grades, mutant.key)


@needs(SOLUTION_KEY, *(m.key for m in WORKING_MUTANTS))
def test_every_grader_check_is_failed_by_at_least_one_mutant(grades: dict[str, Grade]) -> None:
    solution = _graded(grades, SOLUTION_KEY)
    checks = [check.check for check in solution.checks]
    assert checks, "Attendu : la liste des vérifications (checks.json) de la solution ; vu : liste vide."
    failed: set[str] = set()
    for mutant in WORKING_MUTANTS:
        result = grades[mutant.key]
        failed.update(check.check for check in result.failed_checks())
    uncaught = [check for check in checks if check not in failed]
    assert uncaught == [], (
        "Attendu : chaque vérification du correcteur échoue pour au moins un mutant qui se charge "
        f"et s'exécute ; vérifications qu'aucun mutant ne fait échouer : {uncaught}"
    )


# --- variants ------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", [pytest.param(v, id=v.name, marks=needs(v.key)) for v in VARIANTS])
def test_variant_scores_full_marks(variant: Variant, grades: dict[str, Grade]) -> None:
    result = _graded(grades, variant.key)
    assert result.score == full_marks() and not result.lost, (
        f"Variante {variant.name} ({variant.description or 'fichiers complets'})\n"
        f"Attendu : {full_marks():g}/{full_marks():g} ; vu {result.score:g}, critères perdus : "
        f"{_ids(result.lost)}\n{result.feedback(result.lost)}"
    )


# --- feedback said word for word -----------------------------------------------------------


def _feedback_cases() -> list[object]:
    cases = [(m.key, m.name, m.feedback) for m in MUTANTS if m.feedback]
    cases += [(v.key, v.name, v.feedback) for v in VARIANTS if v.feedback]
    return [pytest.param(key, feedback, id=name, marks=needs(key)) for key, name, feedback in cases]


@pytest.mark.parametrize(("key", "feedback"), _feedback_cases())
def test_report_says_the_declared_feedback_word_for_word(
    key: str, feedback: tuple[Feedback, ...], grades: dict[str, Grade]
) -> None:
    result = _graded(grades, key)
    wrong = [expected for expected in feedback if result.said(expected) == expected.absent]
    shown = "\n".join(
        f"  - {'jamais' if e.absent else 'mot pour mot'} sous {e.criterion} : « {e.text} »" for e in wrong
    )
    criteria = {e.criterion for e in wrong} - {"*"} or set(result.marks)
    assert not wrong, f"{key} : attendu dans le rapport :\n{shown}\nVu :\n{result.feedback(criteria)}"
