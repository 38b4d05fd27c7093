"""A grade run in a thread of its own, so that its workers start while pytest starts.

The supervisor's modules are imported in that thread too: the caller (pytest's plugin,
``grade_command`` before pytest is even imported, watch mode) goes on at once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.engine.runs import GradeRun

# How long a cancelled grade may take to close its isolation (kill its uid, remove its scratch).
CLOSING_LIMIT = 10.0


def start_grade(
    target: Path,
    only: Mapping[str, Collection[str]] | None = None,
    workers_started: Callable[[], None] | None = None,
) -> Future[GradeRun]:
    """Starts the grade of ``target`` (see :func:`supervisor.grade`); the future gives its run."""
    future: Future[GradeRun] = Future()

    def work() -> None:
        try:
            from grader.engine import supervisor

            future.set_result(supervisor.grade(target, only, workers_started))
        except BaseException as error:  # reported as a grade that could not finish
            future.set_exception(error)

    threading.Thread(target=work, name="supervisor", daemon=True).start()
    return future


def abandon(grade: Future[GradeRun]) -> None:
    """Stops a grade nobody will read (pytest refused its options), and lets it close cleanly."""
    if grade.done():
        return
    from grader.engine import sandbox

    sandbox.cancel_every_grade()
    with contextlib.suppress(TimeoutError):
        grade.exception(timeout=CLOSING_LIMIT)
