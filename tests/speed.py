"""``nox -s speed``: how long a student waits for ``nox -s grade``, next to the start-up floor.

Times ``python -m nox -s grade -- TARGET`` (median of several runs) on four submissions:
the solution (whole, then its part 1 alone with ``--partie sync``), the untouched skeleton
(as committed, see tests/pristine.py), a half-finished one (the solution's part 1 with the
skeleton's part 2, as a student midway through the TP), and the worst case: both main() loop
forever (each part stopped plans.PART_BUDGET s after its start).
Next to them, the floor that no grader can beat: the interpreter alone, pytest collecting an
empty folder, and nox running pytest on an empty folder. Each grade is also given as a
multiple of that last floor. Everything runs as on a student's machine, where Python keeps
its bytecode caches (see NOT_ON_A_STUDENTS_MACHINE). Last, watch mode (``nox -s watch``) on
the solution: the time from saving part 1 to its new verdict on screen, the figure a student
feels while working.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.engine.french_numbers import fr_number, fr_seconds
from grader.engine.paths import KIT_ROOT
from tests.pristine import pristine_skeleton
from tests.watch_driver import GRADES_DONE, WatchProcess, edit, watch_command, watch_environment

QUIET_PYTEST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # as the grade session runs it
WATCH_WAIT = 120.0  # generous: a verdict that never comes stops the measure
EDIT_PAUSE = 5.0  # between two saves: the time a student takes to change a line, at least
FLOOR_NOXFILE = textwrap.dedent(
    """
    import sys

    import nox

    nox.options.default_venv_backend = "none"


    @nox.session
    def floor(session):
        env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        args = ["-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", "vide"]
        session.run(sys.executable, *args, external=True, env=env, success_codes=[5])
    """
)


@dataclass(frozen=True)
class Timing:
    label: str
    durations: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.durations)


def _time(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 5):  # 5: pytest found no test, expected for the floors
        tail = (done.stdout + done.stderr).decode("utf-8", errors="replace")[-600:]
        raise SystemExit(f"Échec de {' '.join(command)} (code {done.returncode}) :\n{tail}")
    return elapsed


# Set on some machines (this one, CI images); never by Poetry or PyCharm on a student's. With it,
# Python compiles nox, pytest and the grader at every start: the floors would hide that cost.
NOT_ON_A_STUDENTS_MACHINE = ("PYTHONDONTWRITEBYTECODE",)


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PYTEST_") and name not in NOT_ON_A_STUDENTS_MACHINE
    }
    return env | extra


def half_finished(destination: Path) -> Path:
    """The solution's sync_downloader.py with the untouched skeleton's async_downloader.py."""
    shutil.copytree(pristine_skeleton().folder, destination)
    shutil.copyfile(KIT_ROOT / "solution" / "sync_downloader.py", destination / "sync_downloader.py")
    return destination


def endless(destination: Path) -> Path:
    """The worst case: both main() loop forever, swallowing every exception."""
    destination.mkdir(parents=True)
    loop = (
        "    while True:\n"
        "        try:\n            pass\n"
        "        except BaseException:\n            continue\n"
    )
    for name in ("sync_downloader.py", "async_downloader.py"):
        text = (KIT_ROOT / "solution" / name).read_text(encoding="utf-8")
        start = text.index('    """', text.index("def main("))
        body = text.index("\n", text.index('"""', start + 7)) + 1
        (destination / name).write_text(text[:body] + loop + text[body:], encoding="utf-8")
    return destination


def measure(runs: int, scratch: Path) -> tuple[list[Timing], list[Timing]]:
    empty = scratch / "plancher"
    (empty / "vide").mkdir(parents=True)
    (empty / "noxfile.py").write_text(FLOOR_NOXFILE, encoding="utf-8")
    python = sys.executable
    quiet = _environment(QUIET_PYTEST)
    floor_commands = [
        ("python -c pass", [python, "-c", "pass"], None),
        (
            "pytest sur un dossier vide",
            [python, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", "vide"],
            quiet,
        ),
        ("nox + pytest sur un dossier vide", [python, "-m", "nox", "-s", "floor"], None),
    ]
    targets: list[tuple[str, Path, list[str]]] = [
        ("solution/", KIT_ROOT / "solution", []),
        ("solution/, partie 1 seule", KIT_ROOT / "solution", ["--partie", "sync"]),
        ("skeleton/ intact", pristine_skeleton().folder, []),
        ("à moitié fait (partie 1 finie)", half_finished(scratch / "moitie"), []),
        ("pire cas : main() boucle sans fin", endless(scratch / "boucle"), []),
    ]
    results = scratch / "results.json"
    env = _environment({})
    grade = [python, "-m", "nox", "-s", "grade", "--"]
    # Warm-up: bytecode caches, file system caches.
    _time([*grade, str(KIT_ROOT / "solution"), f"--results={results}"], KIT_ROOT, env)
    floors = [
        Timing(label, [_time(command, empty, env_) for _ in range(runs)])
        for label, command, env_ in floor_commands
    ]
    grades = [
        Timing(
            label,
            [
                _time([*grade, str(folder), *options, f"--results={results}"], KIT_ROOT, env)
                for _ in range(runs)
            ],
        )
        for label, folder, options in targets
    ]
    return floors, grades


def measure_watch(runs: int, scratch: Path) -> Timing:
    """Watch mode on a finished submission: from the save of part 1 to its new verdict on screen."""
    folder = scratch / "continu"
    shutil.copytree(KIT_ROOT / "solution", folder)
    watched = folder / "sync_downloader.py"
    original = watched.read_text(encoding="utf-8")
    env = {
        name: value for name, value in watch_environment().items() if name not in NOT_ON_A_STUDENTS_MACHINE
    }
    watcher = WatchProcess(watch_command(folder, through_nox=False), KIT_ROOT, env)
    durations = []
    try:
        if not watcher.wait_for(GRADES_DONE.format(count=1), WATCH_WAIT):
            raise SystemExit(f"Mode continu : première correction jamais affichée :\n{watcher.text()[-600:]}")
        time.sleep(EDIT_PAUSE)  # the next runner prepares once a grade ends, while the student edits
        for run in range(1, runs + 1):
            seen = len(watcher.text())
            start = time.perf_counter()
            edit(watched, f"{original}\n# modification {run}\n")
            if not watcher.wait_for(GRADES_DONE.format(count=run + 1), WATCH_WAIT, after=seen):
                raise SystemExit(f"Mode continu : verdict jamais affiché :\n{watcher.text()[-600:]}")
            durations.append(time.perf_counter() - start)
            time.sleep(EDIT_PAUSE)
    finally:
        watcher.quit(60)
    return Timing("mode continu : enregistrement → verdict (partie finie)", durations)


def report(floors: list[Timing], grades: list[Timing], runs: int, watch: Timing | None = None) -> list[str]:
    floor = floors[-1].median
    width = max(len(timing.label) for timing in floors + grades)
    lines = [f"Plancher de démarrage (médiane de {runs} lancement(s)) :"]
    lines += [f"  {t.label:<{width}} : {fr_seconds(t.median)}" for t in floors]
    lines += ["", f"poetry run -- nox -s grade -- DOSSIER (médiane de {runs} lancement(s)) :"]
    for timing in grades:
        shown = ", ".join(fr_number(d) for d in timing.durations)
        ratio = f"×{fr_number(timing.median / floor, 1)}"
        median = fr_seconds(timing.median)
        lines.append(f"  {timing.label:<{width}} : {median}  ({ratio} le plancher nox + pytest ; {shown})")
    if watch is not None:
        solution = grades[0].median
        shown = ", ".join(fr_number(d) for d in watch.durations)
        lines += [
            "",
            f"poetry run -- nox -s watch -- DOSSIER (médiane de {len(watch.durations)} enregistrement(s)) :",
            f"  {watch.label} : {fr_seconds(watch.median)}  (objectif : 1 s au plus ; "
            f"×{fr_number(watch.median / floor, 1)} le plancher nox + pytest, "
            f"×{fr_number(watch.median / solution, 2)} la correction complète de solution/ ; {shown})",
        ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nox -s speed",
        description="Durée de « nox -s grade » (médiane), à côté du plancher de démarrage, et délai "
        "entre un enregistrement et son verdict en mode continu (nox -s watch).",
    )
    parser.add_argument("--runs", type=int, default=7, help="lancements par mesure (défaut : 7)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tp-vitesse-") as scratch:
        floors, grades = measure(args.runs, Path(scratch))
        watch = measure_watch(args.runs, Path(scratch))
    print("\n".join(report(floors, grades, args.runs, watch)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
