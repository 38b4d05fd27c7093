"""Fast tier: each golden's recorded observations, judged again by the real grader, in this process.

``pytest grader --rejouer=observations.json`` runs the real checks, corroboration, scoring and
report on a recorded grade, without starting any process; its results.json, normalized, must
be the golden's exactly (tests/goldens). To record the goldens again after a deliberate change
of the grader: ``poetry run -- python -m tests.goldens --refresh``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.engine import recording
from tests.goldens import (
    GOLDEN_MUTANTS,
    GOLDENS,
    KIT_ROOT,
    Golden,
    differences,
    normalized,
    read_json,
    replay_arguments,
)

REFRESH = "poetry run -- python -m tests.goldens --refresh"


def _replay(golden: Golden, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Judges the golden's observations with ``pytest grader --rejouer`` in this process."""
    results = tmp_path / "results.json"
    monkeypatch.chdir(KIT_ROOT)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # as nox -s grade: no plugin needed
    code = pytest.main(replay_arguments(golden.observations, results))
    assert code == pytest.ExitCode.OK, (
        f"attendu le code 0 du correcteur rejouant {golden.key} ; vu le code {code!r}"
    )
    assert results.is_file(), f"attendu {results} écrit par le correcteur rejoué ; vu aucun fichier"
    return results


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda golden: golden.key)
def test_replayed_observations_give_the_golden_results(
    golden: Golden, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = read_json(golden.results)
    seen = normalized(read_json(_replay(golden, tmp_path, monkeypatch)))
    found = differences(expected, seen)
    assert not found, (
        f"attendu pour {golden.key} le results.json de tests/goldens (normalisé) ; vu "
        f"{len(found)} différence(s) :\n" + "\n".join(found[:12]) + "\n"
        f"Si le changement du correcteur est voulu : {REFRESH} {golden.key}"
    )


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda golden: golden.key)
def test_golden_observations_read_back_to_the_same_text(golden: Golden) -> None:
    text = golden.observations.read_text(encoding="utf-8")
    loaded = recording.load_recording(text)
    again = recording.dump_grade_run(loaded.grade_run, loaded.answer)
    assert json.loads(again) == json.loads(text), (
        f"attendu les observations de {golden.key} relues puis réécrites à l'identique ; "
        "vu un texte différent"
    )


def test_goldens_cover_solution_skeleton_and_a_mutant_per_outcome() -> None:
    keys = [golden.key for golden in GOLDENS]
    expected = ["solution", "skeleton", *(f"mutant-{name}" for name in GOLDEN_MUTANTS)]
    assert keys == expected, f"attendu les goldens {expected} ; vu {keys}"
    missing = [g.key for g in GOLDENS if not (g.observations.is_file() and g.results.is_file())]
    assert not missing, (
        f"attendu observations.json et results.json dans chaque dossier de tests/goldens ; "
        f"manquants pour {missing} ({REFRESH})"
    )


def test_solution_golden_is_full_marks_and_skeleton_golden_is_zero() -> None:
    marks = {golden.key: read_json(golden.results)["score"] for golden in GOLDENS[:2]}
    assert marks == {"solution": 20.0, "skeleton": 0.0}, (
        f"attendu 20 pour le corrigé et 0 pour le squelette dans les goldens ; vu {marks}"
    )


@pytest.mark.parametrize("golden", [g for g in GOLDENS if g.mutant], ids=lambda golden: golden.key)
def test_mutant_golden_loses_exactly_the_criteria_it_declares(golden: Golden) -> None:
    assert golden.mutant is not None
    tests = read_json(golden.results)["tests"]
    lost = sorted(test["number"] for test in tests if test["status"] != "passed")
    assert lost == sorted(golden.mutant.loses), (
        f"attendu les critères perdus {sorted(golden.mutant.loses)} pour {golden.key} ; vu {lost}"
    )
