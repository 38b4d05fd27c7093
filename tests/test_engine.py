"""The grading engine: broken, hanging or nosy submissions never crash, hang or reach out,
and the grade does not depend on POSIX-only APIs."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.engine.criteria import CRITERIA, TOTAL_POINTS
from grader.engine.paths import KIT_ROOT
from grader.engine.worker.aioresponses_compat import fix_needed
from grader.engine.worker.logs import LoggingState
from tests.catalogue import CATALOGUE, Grade, build_mutant, grade, in_network_namespace
from tests.pristine import pristine_skeleton

SYNC_CRITERIA = {
    "sync.download",
    "sync.session",
    "sync.directory",
    "sync.errors",
    "sync.logging",
    "sync.timing",
}


def _submission(tmp_path: Path, file: str, old: str, new: str) -> Path:
    folder = tmp_path / "rendu"
    shutil.copytree(KIT_ROOT / "solution", folder, ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"extrait attendu une fois dans {file}, vu {text.count(old)} fois"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return folder


def _graded(tmp_path: Path, file: str, old: str, new: str) -> Grade:
    result = grade("garde", _submission(tmp_path, file, old, new), tmp_path / "correction")
    assert result.ok, f"attendu un résultat du correcteur, vu : {result.problem()}"
    return result


def test_syntax_error_costs_its_part_only_and_names_file_and_line(tmp_path: Path) -> None:
    result = _graded(tmp_path, "sync_downloader.py", "def main(", "def main(:")
    assert result.lost == SYNC_CRITERIA, f"attendu la perte des critères sync.*, vu {sorted(result.lost)}"
    output = result.marks["sync.download"].output
    line = next(
        number
        for number, text in enumerate((KIT_ROOT / "solution/sync_downloader.py").read_text().splitlines(), 1)
        if text.startswith("def main(")
    )
    assert f"sync_downloader.py, ligne {line}" in output, (
        f"attendu le fichier et la ligne {line}, vu : {output}"
    )


@pytest.mark.skipif(not in_network_namespace(["true"]), reason="unshare -n indisponible : test réseau sauté")
def test_network_access_is_blocked_and_reported(tmp_path: Path) -> None:
    nosy = (
        "logger = logging.getLogger(__name__)\n"
        "try:\n"
        '    requests.get("https://www.python.org/", timeout=5)\n'
        "except requests.RequestException:\n"
        "    pass\n"
    )
    folder = _submission(tmp_path, "sync_downloader.py", "logger = logging.getLogger(__name__)\n", nosy)
    # In a network namespace with loopback only: even a guard failure could not leave the machine.
    result = grade("garde", folder, tmp_path / "correction", isolated_network=True)
    assert result.ok, f"attendu un résultat du correcteur, vu : {result.problem()}"
    outputs = "\n".join(mark.output for mark in result.marks.values())
    assert "www.python.org" in outputs and "refusé" in outputs, (
        f"attendu une remarque sur l'accès réseau bloqué, vu : {outputs[:500]}"
    )
    assert result.score == 20, f"attendu 20/20 (l'accès bloqué ne coûte rien ici), vu {result.score}"


def test_student_code_runs_in_a_scratch_folder(tmp_path: Path) -> None:
    marker = "trace-du-correcteur.txt"
    result = _graded(
        tmp_path,
        "sync_downloader.py",
        "    output_dir.mkdir(parents=True, exist_ok=True)\n",
        f"    output_dir.mkdir(parents=True, exist_ok=True)\n    Path({marker!r}).write_text('x')\n",
    )
    assert result.score == 20, f"attendu 20/20 (le fichier en plus est sans effet), vu {result.score}"
    left = [
        path for path in (KIT_ROOT, KIT_ROOT / "grader", tmp_path / "correction") if (path / marker).exists()
    ]
    assert not left, f"attendu aucun fichier laissé hors du dossier temporaire, vu {left}"


def test_sys_exit_in_main_does_not_end_the_grading(tmp_path: Path) -> None:
    result = _graded(
        tmp_path,
        "async_downloader.py",
        "    output_dir.mkdir(parents=True, exist_ok=True)\n",
        "    output_dir.mkdir(parents=True, exist_ok=True)\n    raise SystemExit(1)\n",
    )
    assert len(result.marks) == len(CRITERIA) and "sync.download" not in result.lost, (
        f"attendu les {len(CRITERIA)} critères notés et la partie 1 intacte, vu {sorted(result.lost)} perdus"
    )
    assert "a appelé sys.exit(1)" in result.marks["async.download"].output, (
        f"attendu l'appel à sys.exit nommé, vu : {result.marks['async.download'].output}"
    )


def test_results_follow_the_gradescope_format(tmp_path: Path) -> None:
    result = grade("solution", KIT_ROOT / "solution", tmp_path)
    document = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert document["score"] == TOTAL_POINTS and len(document["tests"]) == len(CRITERIA), (
        f"attendu {TOTAL_POINTS:g}/20 et {len(CRITERIA)} critères ; vu {document['score']}, "
        f"{len(document['tests'])} entrées"
    )
    expected_keys = {"score", "execution_time", "output", "output_format", "visibility", "tests"}
    assert expected_keys <= set(document), f"attendu au moins {sorted(expected_keys)}, vu {sorted(document)}"
    assert document["extra_data"]["statut"] == "noté", f"statut vu : {document['extra_data']}"
    for entry in document["tests"]:
        assert set(entry) == {"number", "name", "score", "max_score", "status", "output"}, (
            f"clés vues : {sorted(entry)}"
        )
        assert entry["status"] == "passed" and entry["score"] == entry["max_score"], f"entrée vue : {entry}"
    assert result.ok


def test_a_loop_that_swallows_every_exception_is_stopped_and_located(tmp_path: Path) -> None:
    endless = (
        "    while True:\n"
        "        try:\n"
        "            sum(range(1000))\n"
        "        except BaseException:  # the student's over-broad except\n"
        "            continue\n"
    )
    start = time.perf_counter()
    result = _graded(
        tmp_path, "async_downloader.py", "    output_dir.mkdir(parents=True, exist_ok=True)\n", endless
    )
    elapsed = time.perf_counter() - start
    assert elapsed < 15, f"attendu une correction bornée (moins de 15 s), vu {elapsed:.1f} s"
    assert not any(c.startswith("sync.") for c in result.lost), (
        f"attendu la partie 1 intacte, vu {sorted(result.lost)}"
    )
    output = result.marks["async.download"].output
    assert "main, ligne" in output, f"attendu la ligne de la boucle dans main, vu : {output}"


def test_logging_state_is_restored_after_student_changes() -> None:
    root = logging.getLogger()
    named = logging.getLogger("etudiant.test")
    before = (list(root.handlers), root.level, named.propagate)
    state = LoggingState.capture()
    logging.basicConfig(level=logging.DEBUG, force=True)
    named.propagate = False
    named.addHandler(logging.StreamHandler())
    logging.disable(logging.CRITICAL)
    state.restore()
    after = (list(root.handlers), root.level, named.propagate)
    assert after == before and not named.handlers and logging.root.manager.disable == 0, (
        f"attendu l'état initial {before}, vu {after}, handlers {named.handlers}"
    )


PORTABLE_MUTANTS = ("sync_sans_mkdir", "async_await_dans_la_boucle", "sync_boucle_infinie")


@pytest.mark.parametrize("key", ["solution", "skeleton", *PORTABLE_MUTANTS])
def test_marks_are_the_same_without_posix_only_apis(key: str, tmp_path: Path) -> None:
    """As on Windows: no SIGALRM, setitimer, alarm, pthread_sigmask, fork nor resource module."""
    mutants = {mutant.name: mutant for mutant in CATALOGUE.mutants}
    if key in mutants:
        folder = build_mutant(mutants[key], tmp_path / "dossier")
        expected = mutants[key].loses
    elif key == "solution":
        folder, expected = KIT_ROOT / key, frozenset()
    else:  # the committed skeleton, whatever the working copy holds
        folder, expected = pristine_skeleton().folder, frozenset(_all_criteria())
    result = grade(key, folder, tmp_path / "correction", portable=True)
    assert result.ok, f"attendu un résultat du correcteur sans API POSIX, vu : {result.problem()}"
    assert result.lost == expected, (
        f"{key} sans API POSIX : attendu la perte de {sorted(expected)}, vu {sorted(result.lost)}"
    )


def _all_criteria() -> list[str]:
    from grader.engine.criteria import CRITERIA

    return [criterion.id for criterion in CRITERIA]


def test_aioresponses_fix_is_on_while_upstream_is_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    import aiohttp
    from aioresponses.core import RequestMatch

    major_minor = tuple(int(part) for part in aiohttp.__version__.split(".")[:2])
    if major_minor >= (3, 14):
        assert fix_needed(), "attendu le correctif actif sous aiohttp ≥ 3.14 avec aioresponses 0.7.9"
    fixed_upstream = RequestMatch._build_response

    def build_like_a_fixed_release(self: RequestMatch, *args: object, **kwargs: object) -> object:
        return None

    fix_needed.cache_clear()
    monkeypatch.setattr(RequestMatch, "_build_response", build_like_a_fixed_release)
    try:
        assert not fix_needed(), (
            "attendu le correctif désactivé quand aioresponses sait construire la réponse"
        )
    finally:
        monkeypatch.setattr(RequestMatch, "_build_response", fixed_upstream)
        fix_needed.cache_clear()


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_the_report_prints_on_a_console_that_is_not_utf8(tmp_path: Path, encoding: str) -> None:
    """Windows uses cp1252 when the output is a pipe or a file (Git Bash, « > note.txt »)."""
    environment = {**os.environ, "PYTHONIOENCODING": encoding, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "grader",
        "--target=solution",
        f"--results={tmp_path / 'r.json'}",
    ]
    done = subprocess.run(
        command, cwd=KIT_ROOT, env=environment, capture_output=True, timeout=120, check=False
    )
    shown = done.stdout.decode(encoding)
    errors = done.stderr.decode(encoding, "replace")
    assert "Traceback" not in shown + errors and "Note : 20/20" in shown, (
        f"Attendu : le rapport affiché en {encoding}, sans trace, avec « Note : 20/20 » ; "
        f"vu :\n{shown[-800:]}"
    )


def test_a_folder_that_does_not_exist_is_named_with_the_folders_that_could_be_meant(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text("précédent", encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "grader", "--target=skeletn", f"--results={results}"]
    done = subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True, timeout=60, check=False)
    shown = done.stdout + done.stderr
    assert "« skeletn » n'existe pas" in shown and "skeleton" in shown.split("Vouliez-vous dire", 1)[-1], (
        f"Attendu : le dossier inexistant nommé et « skeleton » proposé ; vu :\n{shown[-600:]}"
    )
    assert results.read_text(encoding="utf-8") == "précédent", (
        "Attendu : results.json laissé tel quel quand rien n'a été corrigé ; vu : fichier réécrit."
    )


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (read in /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid):
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Ctrl-C simulé par SIGINT (Linux)")
def test_an_interrupted_grade_gives_no_mark_and_keeps_the_previous_results(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text("précédent", encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "grader", "--target=solution", f"--results={results}"]
    # As « nox -s grade » runs it: no plugin autoloaded (anyio's, brought by watchfiles, slows the start).
    quiet = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    process = subprocess.Popen(
        command,
        cwd=KIT_ROOT,
        env=quiet,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    # Ctrl-C once the grade is under way (a worker runs), however slow the machine is today.
    deadline = time.monotonic() + 60
    while not _children(process.pid) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGINT)
    shown, _ = process.communicate(timeout=60)
    assert "Correction interrompue" in shown and "Note :" not in shown, (
        f"Attendu : « Correction interrompue » et aucune note ; vu :\n{shown[-600:]}"
    )
    assert results.read_text(encoding="utf-8") == "précédent", (
        "Attendu : le results.json précédent laissé tel quel ; vu : fichier réécrit."
    )


def test_pytest_selection_options_are_refused_in_french(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pytest", "grader", "--target=solution", "-k", "logging"]
    command.append(f"--results={tmp_path / 'results.json'}")
    done = subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True, timeout=60, check=False)
    shown = done.stdout + done.stderr
    assert "ne s'appliquent pas au correcteur" in shown and "Note :" not in shown, (
        f"Attendu : un refus en français, sans note partielle ; vu :\n{shown[-600:]}"
    )
