"""One grade for watch mode, in a process started ahead of time (``python -m grader.tools.watch_runner``).

The watcher (:mod:`grader.tools.watch`) starts this process before it is needed: it imports
pytest, the grader's plugin, the checks and the supervisor, says « ready » and waits for its
job on standard input (one JSON line: target folder, parts, results file). It then grades
exactly as ``nox -s grade -- DOSSIER --partie …`` does (same plugin, same checks, same
workers), and answers one JSON line with each criterion's verdict. It grades once and exits.

Anything more on standard input, or its end (the watcher quit or died), cancels the grade:
no new worker starts, the running ones are killed (:func:`sandbox.cancel_every_grade`), and
the grade closes its isolation as usual before this process exits.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any

import pytest

import grader.conftest as plugin
from grader.checks.marks import scenarios_by_criterion
from grader.engine import imageserver, loopback, report, runs, sandbox, selection, supervisor
from grader.engine.paths import KIT_ROOT, PARTS, resolve_target

READY = "pret"
WARM_PREFIX = "correction-"  # the prefix supervisor.grade asks sandbox.isolation for
# Imported here, once, while the process waits: the grade itself then starts warm.
WARM_MODULES = (imageserver, supervisor)


def verdicts(results: list[report.CriterionResult]) -> list[dict[str, Any]]:
    """Each criterion's verdict as plain data: what the watch screen shows."""
    return [
        {
            "id": result.criterion.id,
            "title": result.criterion.title,
            "part": result.criterion.part,
            "score": result.score,
            "points": result.criterion.points,
            "passed": result.passed,
            "not_done": result.not_done,
            "feedback": [[title, message] for title, message, _ in result.feedback],
            "todos": result.todos,
        }
        for result in results
    ]


class _Collector(plugin.StartedGrade):
    """Hands the grade already under way to the grader's plugin, and reads the scored criteria
    once the plugin has finished (it stashes them)."""

    def __init__(self, grade: Future[runs.GradeRun], answer: IO[str]) -> None:
        super().__init__(grade)
        self.answer = answer
        self.answered = False

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        results = session.config.stash.get(plugin.RESULTS, None)
        if results is not None:  # answered at once: pytest's own teardown is nobody's wait
            send(self.answer, {"ok": True, "verdicts": verdicts(results)})
            self.answered = True


def _cancel_when_told(stream: IO[str]) -> None:
    stream.readline()  # a line or the end of the stream: either way, stop
    sandbox.cancel_every_grade()


def send(answer: IO[str], outcome: dict[str, Any]) -> None:
    answer.write(json.dumps(outcome, ensure_ascii=True) + "\n")
    answer.flush()


def grade(job: dict[str, Any], answer: IO[str]) -> None:
    """Runs the grader's pytest session on the job's folder and parts; answers the watcher."""
    arguments = [
        str(KIT_ROOT / "grader"),
        f"--rootdir={KIT_ROOT}",
        f"--target={job['target']}",
        f"--results={job['results']}",
        "-p",
        "no:cacheprovider",
    ]
    arguments += [f"--partie={part}" for part in job["parts"]]
    # Started now, with pytest's own start-up running meanwhile; the plugin checks the same
    # folder and selection as without it (the folder exists: the watcher checked it).
    target = resolve_target(job["target"])
    collector = _Collector(plugin.start_grading(target, selection.parse(job["parts"])), answer)
    code = pytest.main(arguments, plugins=[collector])
    if not collector.answered:
        send(answer, {"ok": False, "code": int(code)})


def _stay(signum: int, frame: object) -> None:
    """Ctrl-C is the watcher's to handle: it stops this process itself, in order."""


def main() -> int:
    # A Python handler, not SIG_IGN: the workers started from here get the default back.
    signal.signal(signal.SIGINT, _stay)
    # The report the plugin prints goes nowhere: the watcher draws its own screen from the
    # JSON answer, which goes through a copy of the original standard output.
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    with open(os.devnull, "w", encoding="utf-8") as nowhere:
        os.dup2(nowhere.fileno(), sys.stdout.fileno())
    scenarios_by_criterion()  # the check modules, imported now rather than during the grade
    # The grade's isolation and both parts' workers, ready before the student saves.
    sandbox.warm_up(WARM_PREFIX, list(PARTS), loopback.listeners_needed(loopback.server_specs(PARTS[0])))
    answer.write(READY + "\n")
    answer.flush()
    line = sys.stdin.readline()
    if not line.strip().startswith("{"):
        sandbox.cancel_every_grade()  # the watcher no longer needs this process
        return 0
    job = json.loads(line)
    threading.Thread(target=_cancel_when_told, args=(sys.stdin,), daemon=True).start()
    os.chdir(Path(job["cwd"]))
    grade(job, answer)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
