"""``python -m grader.tools.grade_command ARGS``: the grade as ``nox -s grade`` runs it.

It is ``python -m pytest grader ARGS`` (the grader's plugin, the same options), with two
differences:

- a plain grade (a folder that exists, whole or one part, no replay) starts its workers
  first, and pytest is imported once they are ready: its start-up then overlaps the scenarios;
- a Ctrl-C that comes while pytest is still importing ends with the same French line as a
  Ctrl-C during the grade, instead of Python's traceback.

Only the standard library and small engine modules are imported before that guard is in place.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader.engine import plans, selection
from grader.engine.paths import KIT_ROOT, resolve_target
from grader.engine.statuses import INTERRUPTED
from grader.engine.text import for_console

if TYPE_CHECKING:
    from grader.engine.runs import GradeRun

INTERRUPTED_EXIT = 2  # pytest's own ExitCode.INTERRUPTED, whatever the moment of the Ctrl-C

Runner = Callable[[list[str], "Future[GradeRun] | None"], int]
Starter = Callable[["EarlyGrade", Callable[[], None]], "Future[GradeRun]"]
# pytest is imported once the workers are started, or after this long whatever they do.
WORKERS_START_WAIT = 0.6


@dataclass(frozen=True)
class EarlyGrade:
    """A grade pytest does not need to start: its folder, and its scenarios (None: all)."""

    target: Path
    only: dict[str, frozenset[str]] | None = None


def early_grade(argv: Sequence[str]) -> EarlyGrade | None:
    """The grade to start before pytest, or None when the plugin must decide everything itself.

    A whole part (``--partie``) plays every scenario of that part (tests/test_rapide_selection.py
    checks that its criteria read no fewer). Some criteria (``--critere``), a replay and pytest's
    ``-k``/``-m`` are left to the plugin, as are a missing folder and an unknown part: it has the
    French messages.
    """
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--target")
    for option in ("--partie", "--critere", "--rejouer", "-k", "-m"):
        parser.add_argument(option, action="append")
    try:
        known, _ = parser.parse_known_args(list(argv))
    except SystemExit:  # an option without its value: pytest says so
        return None
    if any((known.critere, known.rejouer, known.k, known.m)) or not known.target:
        return None
    try:
        chosen = selection.parse(known.partie or ())
    except selection.UnknownSelection:
        return None
    target = resolve_target(known.target)
    if not target.is_dir():
        return None
    if chosen is None:
        return EarlyGrade(target)
    return EarlyGrade(target, {part: frozenset(plans.build(part).names) for part in chosen.parts})


def _pytest_main(arguments: list[str], started: Future[GradeRun] | None) -> int:
    import pytest  # here, under the guard: this import is most of the start-up

    import grader.conftest as plugin

    plugins = [plugin.StartedGrade(started)] if started is not None else []
    return int(pytest.main(arguments, plugins=plugins))


def _start_in_background(grade: EarlyGrade, workers_started: Callable[[], None]) -> Future[GradeRun]:
    from grader.engine import background

    return background.start_grade(grade.target, grade.only, workers_started)


def main(argv: Sequence[str], run: Runner = _pytest_main, start: Starter = _start_in_background) -> int:
    started = None
    try:
        early = early_grade(argv)
        if early is not None:
            workers = threading.Event()
            started = start(early, workers.set)
            # pytest's start-up is CPU work too: on two cores it slowed the workers' imports,
            # which the grade waits for, while the scenarios that follow mostly wait on the network.
            workers.wait(WORKERS_START_WAIT)
        return run([str(KIT_ROOT / "grader"), *argv], started)
    except KeyboardInterrupt:
        sys.stderr.write(for_console(INTERRUPTED + "\n", sys.stderr.encoding))
        return INTERRUPTED_EXIT
    finally:
        if started is not None:
            from grader.engine import background

            background.abandon(started)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
