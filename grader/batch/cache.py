"""Resuming: a submission is graded again only if its files, what was found or the kit changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from grader.batch.discovery import Submission
from grader.engine.paths import KIT_ROOT

GRADER_DIR = KIT_ROOT / "grader"
# Files that only present the marks: changing them does not call for grading again.
PRESENTATION = (
    "batch/report_html.py",
    "batch/gradebook.py",
    "batch/moodle",  # moodle.py, moodle_sheet.py, moodle_zip.py: returning marks to Moodle
    "batch/cli.py",
    "batch/__main__.py",
    "platforms/",
)


def kit_fingerprint(grader_dir: Path = GRADER_DIR) -> str:
    """A hash of the grader's source files: a new grader version grades everything again."""
    digest = hashlib.sha256()
    for path in sorted(grader_dir.rglob("*.py")):
        relative = path.relative_to(grader_dir).as_posix()
        if "__pycache__" in path.parts or relative.startswith(PRESENTATION):
            continue
        digest.update(relative.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def submission_key(kit: str, submission: Submission) -> str:
    digest = hashlib.sha256(kit.encode())
    for name in sorted(submission.files):
        digest.update(f"\0{name}\0{submission.files[name].sha256}".encode())
    for comment in submission.comments:
        digest.update(f"\0{comment}".encode())
    return digest.hexdigest()[:32]
