"""« poetry run -- nox -s watch » end to end, as a student uses it.

The watcher runs through nox in a copy of the project (so that every process it starts can
be found by the copy's path), on the committed skeleton. A test saves the solution's part 1
over the skeleton's, waits for the new verdict (a generous bound, no timing asserted), then
sends Ctrl-C as a terminal does and checks the farewell and that nothing is left running.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from grader.engine.paths import KIT_ROOT
from grader.engine.text import for_console
from tests.pristine import pristine_skeleton
from tests.watch_driver import (
    GRADES_DONE,
    WatchProcess,
    edit,
    processes_mentioning,
    watch_command,
    watch_environment,
)

WAIT = 180.0  # generous: a loaded machine, and nox plus two grades
QUIT_WAIT = 60.0
PROJECT_FILES = ("noxfile.py", "pyproject.toml", "conftest.py")
PROJECT_FOLDERS = ("grader", "solution")
PORTABLE_SITE = "from tests.portable import remove_posix_apis\n\nremove_posix_apis()\n"


def _project(destination: Path) -> Path:
    """The project with the committed skeleton, copied as « travail/ » for the student to edit."""
    destination.mkdir()
    for name in PROJECT_FILES:
        shutil.copy2(KIT_ROOT / name, destination / name)
    for name in PROJECT_FOLDERS:
        shutil.copytree(KIT_ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
    (destination / "tests").mkdir()
    for name in ("__init__.py", "portable.py"):
        shutil.copy2(KIT_ROOT / "tests" / name, destination / "tests" / name)
    shutil.copytree(pristine_skeleton().folder, destination / "travail")
    return destination


def _watch(project: Path, encoding: str, portable: bool = False) -> WatchProcess:
    env = watch_environment(PYTHONIOENCODING=encoding, PYTHONPATH=str(project), TP_PROJET_TESTE=str(project))
    if portable:  # every Python of the kit started with this environment runs as on Windows
        site = project / "portable_site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(PORTABLE_SITE, encoding="utf-8")
        env["PYTHONPATH"] = os.pathsep.join([str(site), str(project)])
    return WatchProcess(watch_command(project / "travail"), project, env)


def _left_running(project: Path) -> list[str]:
    return processes_mentioning(str(project))


def _run_the_student_loop(project: Path, encoding: str, portable: bool = False) -> None:
    watcher = _watch(project, encoding, portable)
    try:
        first = watcher.wait_for(GRADES_DONE.format(count=1), WAIT, encoding)
        assert first, f"Attendu : un premier verdict ({encoding}) ; vu :\n{watcher.text(encoding)[-2000:]}"
        screen = watcher.text(encoding)
        expected = ["Note : 0/20", "pas encore fait", "Ctrl-C pour quitter"]
        missing = [line for line in expected if line not in screen]
        assert not missing, f"Attendu {expected} sur le premier écran ; absents {missing} :\n{screen[-2000:]}"
        seen = len(screen)
        edit(
            project / "travail" / "sync_downloader.py",
            (KIT_ROOT / "solution" / "sync_downloader.py").read_text(),
        )
        second = watcher.wait_for(GRADES_DONE.format(count=2), WAIT, encoding, after=seen)
        screen = watcher.text(encoding)[seen:]
        assert second and "Note : 9/20" in screen, (
            f"Attendu après l'enregistrement de la partie 1 : « Note : 9/20 » ; vu :\n{screen[-2000:]}"
        )
        # Only part 1 was graded again; part 2 kept its verdict (« pas encore fait », shown first).
        running = [line for line in screen.splitlines() if "(correction en cours" in line]
        assert running and all(line.startswith("Partie 1 ") for line in running), (
            f"Attendu : seule la partie 1 recorrigée ; vu les lignes en cours {running}"
        )
        first_lost = for_console("Premier critère à travailler : async.download", encoding)
        assert first_lost in screen and "pas encore corrigée" not in screen, (
            f"Attendu « {first_lost} » (la partie 2 garde son verdict) ; vu :\n{screen[-2000:]}"
        )
    finally:
        code = watcher.quit(QUIT_WAIT)
    shown = watcher.text(encoding)
    farewell = for_console("Dernière note : 9/20 (partie 1 : 9/9, partie 2 : 0/11).", encoding)
    assert code == 0 and farewell in shown and "Traceback" not in shown, (
        f"Attendu après Ctrl-C : le code 0, « {farewell} », aucune trace ; "
        f"vu le code {code} :\n{shown[-2000:]}"
    )
    left = _left_running(project)
    assert not left, (
        "Attendu : plus aucun processus de la correction après Ctrl-C ; encore là :\n" + "\n".join(left)
    )


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "ascii"])
def test_saving_a_part_regrades_it_and_ctrl_c_leaves_nothing_running(encoding: str, tmp_path: Path) -> None:
    _run_the_student_loop(_project(tmp_path / "projet"), encoding)


@pytest.mark.skipif(sys.platform == "win32", reason="simulation de Windows : inutile sous Windows")
def test_watch_mode_works_without_the_posix_apis_as_on_windows(tmp_path: Path) -> None:
    _run_the_student_loop(_project(tmp_path / "projet"), "cp1252", portable=True)


def test_a_missing_folder_is_named_in_french(tmp_path: Path) -> None:
    project = _project(tmp_path / "projet")
    watcher = WatchProcess(
        [sys.executable, "-m", "nox", "-s", "watch", "--", "travial"],
        project,
        watch_environment(PYTHONPATH=str(project)),
    )
    code = watcher.finish(QUIT_WAIT)
    shown = watcher.text()
    assert code not in (0, None) and "« travial » n'existe pas" in shown and "travail" in shown, (
        f"Attendu : le dossier inexistant nommé et « travail » proposé ; vu le code {code} :\n{shown[-1500:]}"
    )


def _endless(source: str) -> str:
    """``source`` whose main() loops forever, swallowing every exception (a grade of several seconds)."""
    start = source.index('    """', source.index("def main("))
    body = source.index("\n", source.index('"""', start + 7)) + 1
    loop = "    while True:\n        try:\n            pass\n        except BaseException:\n"
    loop += "            continue\n"
    return source[:body] + loop + source[body:]


def test_a_new_save_cancels_the_grade_in_progress_and_a_burst_gives_one_verdict(tmp_path: Path) -> None:
    project = _project(tmp_path / "projet")
    watched = project / "travail" / "sync_downloader.py"
    solution = (KIT_ROOT / "solution" / "sync_downloader.py").read_text(encoding="utf-8")
    watcher = _watch(project, "utf-8")
    try:
        assert watcher.wait_for(GRADES_DONE.format(count=1), WAIT), f"vu :\n{watcher.text()[-2000:]}"
        seen = len(watcher.text())
        edit(watched, _endless(solution))
        assert watcher.wait_for("(correction en cours", WAIT, after=seen), f"vu :\n{watcher.text()[-2000:]}"
        time.sleep(1.0)  # the endless main() now runs in a worker
        seen = len(watcher.text())
        for version in range(5):  # a burst of saves, as an editor that saves on every keystroke
            edit(watched, f"{solution}\n# version {version}\n")
            time.sleep(0.02)
        assert watcher.wait_for(GRADES_DONE.format(count=2), WAIT, after=seen), (
            f"Attendu : un verdict après la rafale ; vu :\n{watcher.text()[-2000:]}"
        )
        screen = watcher.text()[seen:]
        assert "Note : 9/20" in screen and "boucle infinie" not in screen, (
            "Attendu : le verdict de la dernière version (9/20), pas celui de la boucle ; "
            f"vu :\n{screen[-2000:]}"
        )
        time.sleep(3.0)
        later = watcher.text()[seen:]
        assert GRADES_DONE.format(count=3) not in later, (
            f"Attendu : une seule correction pour la rafale ; vu :\n{later[-2000:]}"
        )
    finally:
        code = watcher.quit(QUIT_WAIT)
    left = _left_running(project)
    assert code == 0 and not left, f"Attendu : code 0 et plus aucun processus ; vu {code} et :\n" + "\n".join(
        left
    )
