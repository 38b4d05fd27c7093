"""Grading one submission: the grader in a subprocess, killed with all its children at the deadline.

This is the only place that starts the grader. It never imports student code: it runs the
stable command ``pytest grader --target=DIR --results=FILE`` from the kit root, then reads
the results file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.batch.results import GradeReport, ResultsError, read_results
from grader.engine.paths import KIT_ROOT
from grader.engine.process_tree import NEW_GROUP_FLAGS, NEW_SESSION, kill_tree
from grader.engine.statuses import GradeStatus

DEFAULT_TIMEOUT = 90.0  # the grader stops itself after 50 s; this is for what it cannot stop
_LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class SubmissionGrade:
    """What grading one folder gave: the report, or why there is none."""

    report: GradeReport | None
    statut: GradeStatus
    elapsed: float
    returncode: int | None  # None: killed at the deadline
    problem: str | None  # French, for the instructor: why the report is missing or partial
    log_tail: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def grader_command(folder: Path, results_path: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "grader",
        f"--target={folder}",
        f"--results={results_path}",
        "-p",
        "no:cacheprovider",
    ]


def grader_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    env.update(
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONIOENCODING="utf-8",
    )
    env.update(extra or {})
    return env


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-_LOG_TAIL_LINES:])


def grade_submission(
    folder: Path,
    results_path: Path,
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
) -> SubmissionGrade:
    """Grades ``folder`` (its sync_downloader.py and async_downloader.py) into ``results_path``.

    ``env`` adds variables to the grader's environment; the grader's output goes to
    ``log_path`` (a file, not a pipe: a grandchild that outlives the grader cannot block us).
    """
    results_path.unlink(missing_ok=True)
    log_path = log_path or results_path.with_name(results_path.stem + ".log")
    start = time.perf_counter()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            grader_command(folder, results_path),
            cwd=KIT_ROOT,
            env=grader_environment(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=NEW_SESSION,  # killed with all its children: kill_tree
            creationflags=NEW_GROUP_FLAGS,
        )
        try:
            returncode: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            kill_tree(process)  # also ends what the grader left running behind it
            process.wait()
    elapsed = time.perf_counter() - start
    tail = _tail(log_path)
    if returncode is None:
        problem = f"la correction a dépassé le délai de {timeout:g} s : processus arrêté"
        return SubmissionGrade(None, GradeStatus.TIMED_OUT, elapsed, None, problem, tail)
    try:
        report = read_results(results_path)
    except ResultsError as error:
        problem = f"le correcteur n'a pas produit de résultats exploitables (code {returncode}) : {error}"
        return SubmissionGrade(None, GradeStatus.ERROR, elapsed, returncode, problem, tail)
    return SubmissionGrade(report, report.statut, elapsed, returncode, None, tail)
