"""« --partie » and « --critere » on real grades: which scenarios ran, the wording, results.json.

The scenarios that ran are read in the observations the grade records (--enregistrer).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.checks.marks import scenarios_by_criterion
from grader.engine import plans, recording
from grader.engine.evidence import LOOPBACK_SCENARIOS
from grader.engine.paths import KIT_ROOT
from tests.pristine import pristine_skeleton

TIMEOUT = 120


def _environment(encoding: str = "utf-8") -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    return env | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONIOENCODING": encoding}


def _grade(*arguments: str, encoding: str = "utf-8", nox: bool = False) -> subprocess.CompletedProcess[bytes]:
    command = (
        [sys.executable, "-m", "nox", "-s", "grade", "--", *arguments]
        if nox
        else [sys.executable, "-m", "pytest", "grader", *arguments]
    )
    return subprocess.run(
        command, cwd=KIT_ROOT, env=_environment(encoding), capture_output=True, timeout=TIMEOUT, check=False
    )


def test_one_criterion_runs_only_its_scenarios_and_marks_out_of_its_points(tmp_path: Path) -> None:
    results, observations = tmp_path / "results.json", tmp_path / "observations.json"
    done = _grade(
        "--target=solution",
        "--critere",
        "sync.errors",
        f"--results={results}",
        f"--enregistrer={observations}",
    )
    shown = done.stdout.decode("utf-8", errors="replace")
    expected_lines = [
        "Note partielle : 2/2, critère sync.errors seulement",
        "Cette note ne porte que sur le critère sync.errors : ce n'est pas la note du TP (sur 20). "
        "Pour la note complète : poetry run -- nox -s grade",
    ]
    missing = [line for line in expected_lines if line not in shown.splitlines()]
    assert done.returncode == 0 and not missing and "Partie 2" not in shown, (
        f"Attendu : code 0, les lignes {expected_lines} et rien de la partie 2 ; "
        f"vu le code {done.returncode}, absentes {missing}, sortie :\n{shown[-1500:]}"
    )
    document = json.loads(results.read_text(encoding="utf-8"))
    seen = (
        document["score"],
        [test["number"] for test in document["tests"]],
        document["extra_data"]["selection"],
    )
    assert seen[:2] == (2.0, ["sync.errors"]) and seen[2]["criteres"] == ["sync.errors"], (
        f"Attendu dans results.json : score 2, le seul critère sync.errors, et le champ selection ; vu {seen}"
    )
    grade_run = recording.load_recording(observations.read_text(encoding="utf-8")).grade_run
    played = {part: set(run.scenarios) for part, run in grade_run.parts.items()}
    declared = scenarios_by_criterion()["sync.errors"] | {str(s) for s in LOOPBACK_SCENARIOS}
    wanted = declared & plans.build("sync").names
    assert played == {"sync": wanted}, (
        f"Attendu : seuls les scénarios {sorted(wanted)} de la partie 1 ; vu {played}"
    )


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_a_part_is_graded_through_nox_on_any_console_encoding(encoding: str, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = _grade("solution", "--partie", "sync", f"--results={results}", encoding=encoding, nox=True)
    shown = (done.stdout + done.stderr).decode(encoding, errors="replace")
    assert done.returncode == 0 and "Note partielle : 9/9, partie 1 seulement" in shown, (
        f"Attendu ({encoding}) : « Note partielle : 9/9, partie 1 seulement » ; "
        f"vu le code {done.returncode} :\n{shown[-1500:]}"
    )
    assert "Traceback" not in shown and "Partie 2" not in shown, (
        f"Attendu ({encoding}) : ni trace ni partie 2 ; vu :\n{shown[-1500:]}"
    )
    selection = json.loads(results.read_text(encoding="utf-8"))["extra_data"]["selection"]
    assert selection["parties"] == ["sync"] and selection["points"] == 9.0, (
        f"Attendu : results.json dit la partie 1 seule (9 points) ; vu {selection}"
    )


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "ascii"])
def test_an_unknown_criterion_gets_the_list_of_valid_ones_in_french(encoding: str, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text("précédent", encoding="utf-8")
    done = _grade(
        "skeleton", "--critere", "sync.erreurs", f"--results={results}", encoding=encoding, nox=True
    )
    shown = (done.stdout + done.stderr).decode(encoding, errors="replace")
    title = {"utf-8": "Critère inconnu", "cp1252": "Critère inconnu", "ascii": "Critere inconnu"}[encoding]
    expected = [f"{title} : ", "sync.erreurs", "sync.errors", "async.concurrency"]
    missing = [text for text in expected if text not in shown]
    assert done.returncode != 0 and not missing and "Traceback" not in shown and "Note" not in shown, (
        f"Attendu ({encoding}) : un refus en français listant les critères, sans note ni trace ; "
        f"absents {missing}, vu le code {done.returncode} :\n{shown[-1500:]}"
    )
    assert results.read_text(encoding="utf-8") == "précédent", "Attendu : results.json laissé tel quel"


def test_a_partial_grade_never_enters_the_local_history(tmp_path: Path) -> None:
    history = tmp_path / "historique.jsonl"
    results = tmp_path / "results.json"
    skeleton = pristine_skeleton().folder  # the committed one: a student's completed copy would get 11/11
    done = _grade(
        f"--target={skeleton}", "--partie", "async", f"--results={results}", f"--historique={history}"
    )
    shown = done.stdout.decode("utf-8", errors="replace")
    assert done.returncode == 0 and "Note partielle : 0/11" in shown and not history.exists(), (
        "Attendu : une note partielle (0/11) et aucun historique écrit ; "
        f"vu le code {done.returncode}, historique présent : {history.exists()}, sortie :\n{shown[-800:]}"
    )
