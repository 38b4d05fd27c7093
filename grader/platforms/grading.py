"""Grading the one submission a platform hands us, and summing it up in French."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.batch.discovery import inspect_submission
from grader.batch.results import GradeReport, parse_results, zero_results
from grader.batch.run import grade_one
from grader.batch.runner import DEFAULT_TIMEOUT
from grader.batch.staging import StagingArea
from grader.engine.french_numbers import fr_number
from grader.engine.paths import KIT_ROOT
from grader.engine.statuses import GradeStatus
from grader.engine.text import one_line


def grade_folder(folder: Path, *, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Our results document for the submission in ``folder`` (files at its root or deeper).

    Never raises for a bad submission: missing files, bad encoding, crash or hang all give
    a document with a status and a comment. Only the copy of the files is graded.
    """
    folder = folder.resolve()
    submission = inspect_submission(folder, student=folder.name, slug="rendu")
    area = StagingArea([folder, KIT_ROOT])
    try:
        return grade_one(submission, "", area, timeout).document()
    finally:
        area.close()


def failure_document(message: str) -> dict[str, Any]:
    """What to hand the platform when even our own machinery failed (it must get a result)."""
    return zero_results(f"La correction automatique a échoué : {message}", GradeStatus.ERROR)


def comments(document: Mapping[str, Any]) -> list[str]:
    extra = document.get("extra_data")
    listed = extra.get("commentaires", []) if isinstance(extra, dict) else []
    # A comment may quote a submitted file's name: one line, never a fake « Note : ».
    return [one_line(comment) for comment in listed] if isinstance(listed, list) else []


def summary_lines(report: GradeReport, document: Mapping[str, Any]) -> list[str]:
    """A short French summary: mark, status, remarks about the files, criteria lost."""
    lines = [
        f"Note : {fr_number(report.score, trim=True)}/{fr_number(report.max_score, trim=True)} "
        f"(statut : {report.statut})",
    ]
    lines += [f"Remarque sur le rendu : {comment}" for comment in comments(document)]
    lost = [test for test in report.tests if not test.passed]
    if lost:
        lines.append(
            "Critères à revoir : "
            + ", ".join(
                f"{t.number} ({fr_number(t.score, trim=True)}/{fr_number(t.max_score, trim=True)})"
                for t in lost
            )
        )
    else:
        lines.append("Tous les critères sont validés.")
    return lines


def load(document: Mapping[str, Any]) -> GradeReport:
    return parse_results(dict(document))
