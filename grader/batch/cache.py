"""Resuming: a submission is graded again only if its files, what was found, or the grader changed.

A previous result is reused when both its resume key (the submission's files and the batch's
comments on them) and its grader fingerprint (:mod:`grader.engine.fingerprint`) are the
current ones; anything else is stale, with the reason said to the instructor.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from grader.batch.changes import Reason
from grader.batch.discovery import Submission
from grader.batch.outcome import StudentOutcome, load_outcome
from grader.engine.fingerprint import GRADER_DIR

__all__ = ["GRADER_DIR", "Planned", "plan", "submission_key"]


def submission_key(submission: Submission) -> str:
    digest = hashlib.sha256()
    for name in sorted(submission.files):
        digest.update(f"\0{name}\0{submission.files[name].sha256}".encode())
    for comment in submission.comments:
        digest.update(f"\0{comment}".encode())
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Planned:
    """One submission, its previous result if any, and why it is graded (None: reused)."""

    submission: Submission
    key: str
    previous: StudentOutcome | None
    reason: Reason | None

    @property
    def stale(self) -> bool:
        return self.reason is not None


def _reason(previous: StudentOutcome | None, key: str, fingerprint: str, force: bool) -> Reason | None:
    if previous is None:
        return Reason.NEW
    if not previous.key:  # stopped at the deadline, or a failure of ours: never a final mark
        return Reason.UNFINISHED
    if not previous.fingerprint:  # written before results carried one: its key was computed otherwise
        return Reason.GRADER
    if previous.key != key:
        return Reason.SUBMISSION
    if previous.fingerprint != fingerprint:
        return Reason.GRADER
    return Reason.FORCED if force else None


def plan(
    submissions: list[Submission], results_dir: Path, fingerprint: str, *, force: bool = False
) -> list[Planned]:
    """What to grade, and why, given the results already in ``results_dir``."""
    planned = []
    for submission in submissions:
        key = submission_key(submission)
        previous = load_outcome(results_dir / f"{submission.slug}.json")
        if previous is not None and previous.folder != submission.folder.name:
            # Another folder's result: slugs shift when a namesake joins the class (« -2 »), and
            # the key hashes files only, so two identical submissions would share one result.
            previous = None
        planned.append(Planned(submission, key, previous, _reason(previous, key, fingerprint, force)))
    return planned
