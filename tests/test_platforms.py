"""Platform adapters (grader/platforms/): Gradescope, GitHub Classroom, PrairieLearn.

Each converter is checked on real results files written by the grader, and each command
as the platform would run it: Gradescope's run_autograder unpacked from the zip, the
Classroom command with its GITHUB_OUTPUT, PrairieLearn's command on a results file.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from grader.batch.runner import grade_submission
from grader.batch.scale import CRITERION_IDS, TOTAL_POINTS
from grader.engine.french_numbers import fr_number
from grader.engine.paths import KIT_ROOT
from grader.platforms.classroom import to_classroom
from grader.platforms.gradescope import to_gradescope
from grader.platforms.gradescope_zip import build_zip
from grader.platforms.lockfile import pins
from grader.platforms.prairielearn import to_prairielearn
from tests.catalogue import CATALOGUE, SOLUTION_DIR, build_mutant
from tests.pristine import pristine_skeleton

MUTANTS = {mutant.name: mutant for mutant in CATALOGUE.mutants}
OUTPUT_FORMATS = {"text", "html", "simple_format", "md", "ansi"}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def _run(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=KIT_ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=240,
        check=False,
        **options,
    )


@pytest.fixture(scope="module")
def results_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real results.json files from the grader: solution, skeleton, one mutant."""
    root = tmp_path_factory.mktemp("resultats")
    folders = {
        "solution": SOLUTION_DIR,
        "skeleton": pristine_skeleton().folder,
        "sync_sans_mkdir": build_mutant(MUTANTS["sync_sans_mkdir"], root / "mutant"),
    }

    def grade(item: tuple[str, Path]) -> tuple[str, Path]:
        key, folder = item
        path = root / f"{key}.json"
        grade_submission(folder, path, timeout=120)
        return key, path

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(grade, folders.items()))


def check_gradescope_spec(document: dict[str, Any], where: str) -> None:
    """The fields Gradescope reads, with their types and allowed values."""
    assert isinstance(document.get("score"), float | int), f"{where} : « score » numérique attendu"
    assert isinstance(document.get("execution_time"), float | int), f"{where} : « execution_time » attendu"
    assert isinstance(document.get("output"), str) and document["output"], (
        f"{where} : « output » non vide attendu"
    )
    assert document.get("output_format") in OUTPUT_FORMATS, (
        f"{where} : output_format {document.get('output_format')}"
    )
    assert document.get("visibility") in VISIBILITIES, f"{where} : visibility {document.get('visibility')!r}"
    tests = document.get("tests")
    assert isinstance(tests, list) and len(tests) == len(CRITERION_IDS), f"{where} : 14 tests attendus"
    for test in tests:
        for key, kind in (("number", str), ("name", str), ("output", str), ("status", str)):
            assert isinstance(test.get(key), kind), (
                f"{where} : test sans « {key} » ({kind.__name__}) : {test}"
            )
        assert test["status"] in {"passed", "failed"}, f"{where} : status {test['status']!r}"
        assert 0 <= test["score"] <= test["max_score"], f"{where} : score hors de [0, max_score] : {test}"
        assert test.get("visibility", "visible") in VISIBILITIES, f"{where} : visibility de test {test}"
    total = round(sum(test["score"] for test in tests), 2)
    assert total == document["score"], f"{where} : somme des tests {total} ≠ score {document['score']}"


def test_the_gradescope_zip_holds_the_grader_and_the_scripts_but_no_solution(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "autograder.zip")
    with zipfile.ZipFile(path) as bundle:
        names = set(bundle.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in bundle.infolist()}
        requirements = bundle.read("requirements.txt").decode("utf-8")
        setup = bundle.read("setup.sh").decode("utf-8")
    for name in ("setup.sh", "run_autograder", "pyproject.toml", "poetry.lock", "grader/conftest.py"):
        assert name in names, f"Attendu {name} dans le zip ; vu {sorted(names)[:8]}…"
    for name in ("setup.sh", "run_autograder"):
        assert modes[name] & stat.S_IXUSR, f"Attendu {name} exécutable ; mode vu {oct(modes[name])}"
    leaks = sorted(
        n for n in names if n.startswith(("solution/", "skeleton/", "tests/")) or "__pycache__" in n
    )
    assert not leaks, f"Attendu : ni corrigé ni squelette ni tests dans le zip ; vu {leaks}"
    assert "python3.13" in setup and "--require-hashes" in setup, (
        "Attendu : Python 3.13 et des versions figées"
    )
    assert "pytest==" in requirements and "--hash=sha256:" in requirements, (
        "Attendu : pytest figé avec empreinte"
    )
    assert "matplotlib" not in requirements, "Attendu : le groupe optionnel plot exclu"


def test_requirements_come_from_the_lock_with_markers_for_main_and_dev_groups() -> None:
    locked = {pin.name: pin for pin in pins(KIT_ROOT / "poetry.lock")}
    for name in ("aiohttp", "requests", "pytest", "rich"):
        assert name in locked, f"Attendu {name} dans les dépendances figées ; vu {sorted(locked)[:10]}…"
    assert "matplotlib" not in locked, "Attendu : matplotlib (groupe plot) absent"
    colorama = locked.get("colorama")
    assert colorama is None or colorama.marker == 'sys_platform == "win32"', (
        f"Marqueur de colorama : {colorama}"
    )
    assert all(pin.hashes for pin in locked.values()), "Attendu : une empreinte au moins par paquet"


def _autograder(tmp_path: Path) -> Path:
    root = tmp_path / "autograder"
    with zipfile.ZipFile(build_zip(tmp_path / "autograder.zip")) as bundle:
        bundle.extractall(root / "source")
    return root


def _submit(root: Path, key: str, tmp_path: Path) -> Path:
    """A Gradescope root for one submission, sharing the unpacked source."""
    case = tmp_path / key
    (case / "results").mkdir(parents=True)
    (case / "source").symlink_to(root / "source")
    submission = case / "submission"
    if key == "solution":
        shutil.copytree(SOLUTION_DIR, submission)  # files at the root
    elif key == "skeleton":
        shutil.copytree(pristine_skeleton().folder, submission)
    else:
        build_mutant(MUTANTS[key], submission / "mon_tp")  # files in one subfolder
    return case


def test_run_autograder_writes_a_valid_results_json_for_each_kind_of_submission(tmp_path: Path) -> None:
    root = _autograder(tmp_path)
    expected = {
        "solution": (20.0, "noté", set()),
        "skeleton": (0.0, "incomplet", set(CRITERION_IDS)),
        "sync_sans_mkdir": (None, "noté", {"sync.directory"}),
        "sync_erreur_de_syntaxe": (11.0, "erreur", {c for c in CRITERION_IDS if c.startswith("sync.")}),
    }

    def run(key: str) -> tuple[str, subprocess.CompletedProcess[str], Path]:
        case = _submit(root, key, tmp_path)
        env = dict(os.environ, AUTOGRADER_ROOT=str(case), AUTOGRADER_PYTHON=sys.executable)
        return key, _run(["bash", str(case / "source" / "run_autograder")], env=env), case

    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(run, expected))
    for key, completed, case in runs:
        results = case / "results" / "results.json"
        assert completed.returncode == 0, (
            f"{key} : code 0 attendu ; vu {completed.returncode} {completed.stderr}"
        )
        assert results.is_file(), f"{key} : results.json attendu ; journal : {completed.stdout}"
        document = json.loads(results.read_text("utf-8"))
        check_gradescope_spec(document, key)
        score, statut, lost = expected[key]
        failed = {test["number"] for test in document["tests"] if test["status"] == "failed"}
        if score is None:
            assert 0 < document["score"] < 20, f"{key} : note partielle attendue ; vue {document['score']}"
        else:
            assert document["score"] == score, f"{key} : note {score} attendue ; vue {document['score']}"
        assert document["extra_data"]["statut"] == statut, f"{key} : statut {statut} attendu ; vu {document}"
        assert failed == lost, f"{key} : critères perdus attendus {sorted(lost)} ; vus {sorted(failed)}"


def test_gradescope_conversion_keeps_marks_and_french_feedback(results_files: dict[str, Path]) -> None:
    document = json.loads(results_files["sync_sans_mkdir"].read_text("utf-8"))
    converted = to_gradescope(document, execution_time=3.2)
    check_gradescope_spec(converted, "mutant")
    mark = f"Note : {fr_number(float(document['score']), trim=True)}/20"
    assert mark in converted["output"] and "sync.directory" in converted["output"], (
        f"Attendu la note et le critère perdu dans « output » ; vu {converted['output']!r}"
    )


def _classroom(folder: Path, tmp_path: Path) -> dict[str, Any]:
    github_output = tmp_path / f"github_output_{folder.name}"
    completed = _run(
        [sys.executable, "-m", "grader.platforms.classroom", str(folder)],
        env=dict(os.environ, GITHUB_OUTPUT=str(github_output)),
    )
    assert completed.returncode == 0, f"Code 0 attendu ; vu {completed.returncode} : {completed.stderr}"
    line = github_output.read_text("utf-8").strip()
    assert line.startswith("result="), f"Attendu « result=… » dans GITHUB_OUTPUT ; vu {line[:40]!r}"
    decoded: dict[str, Any] = json.loads(base64.b64decode(line.removeprefix("result=")).decode("utf-8"))
    return decoded


def _check_classroom(result: dict[str, Any], where: str) -> None:
    assert result.get("version") == 1, f"{where} : version 1 attendue ; vu {result.get('version')!r}"
    assert result.get("max_score") == TOTAL_POINTS, (
        f"{where} : max_score 20 attendu ; vu {result.get('max_score')}"
    )
    assert len(result["tests"]) == len(CRITERION_IDS), f"{where} : 14 tests attendus"
    for test in result["tests"]:
        assert set(test) >= {"name", "status", "score", "message"}, f"{where} : champs manquants : {test}"
        assert test["status"] in {"pass", "fail", "error"}, f"{where} : status {test['status']!r}"


def test_the_classroom_command_hands_the_reporter_a_base64_result(tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        solution, skeleton = pool.map(
            lambda folder: _classroom(folder, tmp_path), (SOLUTION_DIR, pristine_skeleton().folder)
        )
    _check_classroom(solution, "solution")
    _check_classroom(skeleton, "squelette")
    assert solution["status"] == "pass", f"Solution : status « pass » attendu ; vu {solution['status']!r}"
    assert sum(t["score"] for t in solution["tests"]) == 20, "Solution : somme des scores 20 attendue"
    assert any(t["score"] == 1.5 for t in solution["tests"]), "Attendu : des demi-points conservés (1,5)"
    assert skeleton["status"] == "fail", f"Squelette : status « fail » attendu ; vu {skeleton['status']!r}"
    assert sum(t["score"] for t in skeleton["tests"]) == 0, "Squelette : somme des scores 0 attendue"


def test_classroom_conversion_of_a_real_results_file(results_files: dict[str, Path]) -> None:
    result = to_classroom(json.loads(results_files["sync_sans_mkdir"].read_text("utf-8")))
    _check_classroom(result, "mutant")
    failed = [test["name"] for test in result["tests"] if test["status"] == "fail"]
    assert result["status"] == "fail" and len(failed) == 1, f"Attendu 1 test échoué ; vus {failed}"


def test_the_prairielearn_command_writes_score_fraction_and_tests(
    results_files: dict[str, Path], tmp_path: Path
) -> None:
    for key, path in results_files.items():
        score = round(json.loads(path.read_text("utf-8"))["score"] / 20, 4)
        out = tmp_path / f"pl-{key}.json"
        completed = _run(
            [sys.executable, "-m", "grader.platforms.prairielearn", str(results_files[key]), str(out)]
        )
        assert completed.returncode == 0, f"{key} : code 0 attendu ; vu {completed.stderr}"
        document = json.loads(out.read_text("utf-8"))
        assert document["gradable"] is True, f"{key} : gradable attendu ; vu {document['gradable']!r}"
        assert document["score"] == score, (
            f"{key} : score {score} (note / 20) attendu ; vu {document['score']}"
        )
        assert score == {"solution": 1.0, "skeleton": 0.0}.get(key, score), f"{key} : score {score} inattendu"
        assert isinstance(document["message"], str) and "Note" in document["message"], (
            f"{key} : message {document}"
        )
        for test in document["tests"]:
            assert set(test) >= {"name", "points", "max_points", "message", "output"}, (
                f"{key} : champs : {test}"
            )
            assert 0 <= test["points"] <= test["max_points"], f"{key} : points hors bornes : {test}"


def test_prairielearn_marks_an_unreadable_results_file_as_not_gradable(tmp_path: Path) -> None:
    broken = tmp_path / "results.json"
    broken.write_text("pas du JSON", encoding="utf-8")
    out = tmp_path / "pl.json"
    completed = _run([sys.executable, "-m", "grader.platforms.prairielearn", str(broken), str(out)])
    document = json.loads(out.read_text("utf-8"))
    assert completed.returncode == 0 and document["gradable"] is False, (
        f"gradable=false attendu ; vu {document}"
    )
    assert to_prairielearn(json.loads(json.dumps({"score": 0, "tests": []})))["score"] == 0.0, (
        "Score 0 attendu"
    )


def test_the_scripts_in_the_gradescope_zip_are_valid_bash(tmp_path: Path) -> None:
    root = _autograder(tmp_path)
    for name in ("setup.sh", "run_autograder"):
        completed = _run(["bash", "-n", str(root / "source" / name)])
        assert completed.returncode == 0, (
            f"{name} : syntaxe bash valide attendue ; bash -n dit : {completed.stderr}"
        )


def test_the_classroom_workflow_feeds_the_reporter_from_one_grading_step() -> None:
    import yaml  # type: ignore[import-untyped, unused-ignore]

    from grader.platforms.classroom import RUNNER_ID

    workflow = yaml.safe_load((KIT_ROOT / ".github" / "workflows" / "classroom.yml").read_text("utf-8"))
    assert "push" in workflow["on"], f"Attendu un déclenchement sur push ; vu {workflow['on']}"
    assert workflow["permissions"].get("checks") == "write", (
        f"Attendu checks: write ; vu {workflow['permissions']}"
    )
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    uses = [step.get("uses", "") for step in steps]
    assert any(u.startswith("actions/checkout@") for u in uses), f"Attendu actions/checkout ; vu {uses}"
    grading = [step for step in steps if "grader.platforms.classroom" in step.get("run", "")]
    assert len(grading) == 1 and grading[0]["id"] == RUNNER_ID, (
        f"Attendu une étape id={RUNNER_ID} ; vu {grading}"
    )
    reporter = next(
        s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-grading-reporter@")
    )
    assert reporter["with"]["runners"] == RUNNER_ID, f"Attendu runners: {RUNNER_ID} ; vu {reporter['with']}"
    variable = f"{RUNNER_ID.upper()}_RESULTS"
    assert f"steps.{RUNNER_ID}.outputs.result" in reporter["env"][variable], (
        f"Attendu {variable} ; vu {reporter['env']}"
    )
