"""One student's outcome in a batch: the grader's report plus what the batch found out.

It is stored as the student's results JSON (Gradescope-shaped, batch details under
``extra_data``), and read back from there when a re-run skips an unchanged submission.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.batch.changes import DOCUMENT_KEY, MarkChange, read_change
from grader.batch.results import GradeReport, ResultsError, parse_results, with_extra
from grader.engine.atomic import write_text_atomically
from grader.engine.fingerprint import RESULTS_KEY
from grader.engine.statuses import GradeStatus
from grader.engine.text import json_safe


@dataclass(frozen=True)
class StudentOutcome:
    student: str
    slug: str
    folder: str  # the submission folder's name in the class folder
    statut: GradeStatus
    report: GradeReport  # always present: zeros with an explanation when nothing could be graded
    comments: tuple[str, ...]  # what the batch noticed (renamed, missing, duplicate, timeout…)
    elapsed: float  # seconds spent grading (0 when nothing was graded)
    key: str  # the resume key: files + comments ("" : grade again next time)
    reused: bool = False  # taken from a previous run
    fingerprint: str = ""  # the grader that gave this mark (engine.fingerprint); "" : unknown
    change: MarkChange | None = None  # what this grade changed from the previous one

    @property
    def score(self) -> float:
        return self.report.score

    def document(self) -> dict[str, Any]:
        return with_extra(
            self.report.document,
            statut=self.statut,
            etudiant=self.student,
            dossier=self.folder,
            commentaires=list(self.comments),
            duree_correction=round(self.elapsed, 2),
            cle_reprise=self.key,
            **{RESULTS_KEY: self.fingerprint, DOCUMENT_KEY: self.change and self.change.document()},
        )


def write_json_atomically(path: Path, document: object) -> None:
    """``document`` as indented JSON, written by the engine's one atomic writer."""
    # File names from a submission may hold lone surrogates: cleaned, or encoding fails.
    write_text_atomically(path, json.dumps(json_safe(document), ensure_ascii=False, indent=2) + "\n")


def load_outcome(path: Path) -> StudentOutcome | None:
    """A previous run's outcome, or None if the file is missing or not ours."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        report = parse_results(document)
        extra = document["extra_data"]
        return StudentOutcome(
            student=str(extra["etudiant"]),
            slug=path.stem,
            folder=str(extra["dossier"]),
            statut=report.statut,
            report=report,
            comments=tuple(str(comment) for comment in extra["commentaires"]),
            elapsed=float(extra["duree_correction"]),
            key=str(extra["cle_reprise"]),
            reused=True,
            fingerprint=str(extra.get(RESULTS_KEY) or ""),
            change=read_change(extra),
        )
    except (OSError, ValueError, KeyError, TypeError, ResultsError):
        return None
