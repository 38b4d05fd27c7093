"""A whole class: snapshot every submission, grade the changed ones in parallel, write the outputs.

Order matters for safety: every submission is read (snapshot of its bytes) before any
student code runs, so a submission graded early cannot change what a classmate is graded
on; each grade reads its own fresh, read-only copy; the outputs are written by this process
only, and rewritten from memory at the end.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from grader.batch import changes_report, gradebook, report_html, similarity_report
from grader.batch.cache import Planned, plan
from grader.batch.changes import compare
from grader.batch.discovery import (
    EXPECTED_FILES,
    ArchiveError,
    Submission,
    extract_archive,
    find_submissions,
)
from grader.batch.outcome import StudentOutcome, write_json_atomically
from grader.batch.results import parse_results, relocate, worse, zero_results
from grader.batch.runner import DEFAULT_TIMEOUT, grade_submission
from grader.batch.staging import StagedCopy, StagingArea, remove_tree
from grader.engine.fingerprint import RESULTS_KEY, grader_fingerprint
from grader.engine.paths import KIT_ROOT
from grader.engine.statuses import GradeStatus

if TYPE_CHECKING:
    from grader.batch.similarity import Pair

RESULTS_DIR = "resultats"
SKELETON_DIR = KIT_ROOT / "skeleton"  # the code every student started from: never counted as shared


class BatchError(Exception):
    """The batch cannot start (bad folder, output inside the submissions…): French message."""


@dataclass
class BatchSummary:
    out_dir: Path
    outcomes: list[StudentOutcome]
    graded: int  # graded in this run
    reused: int  # skipped: unchanged since the previous run
    wall_time: float
    warnings: list[str] = field(default_factory=list)
    planned: list[Planned] = field(default_factory=list)  # every submission, and why it is graded
    simulation: bool = False  # nothing graded nor written: ``planned`` says what would be
    look_alike: int | None = None  # pairs of submissions above the threshold; None: not searched
    similarity_time: float = 0.0  # seconds spent comparing the submissions

    @property
    def gradebook(self) -> Path:
        return self.out_dir / gradebook.FILE_NAME

    @property
    def report(self) -> Path:
        return self.out_dir / report_html.FILE_NAME

    @property
    def changes(self) -> Path:
        return self.out_dir / changes_report.FILE_NAME

    @property
    def similarities(self) -> Path:
        return self.out_dir / similarity_report.FILE_NAME


Progress = Callable[[StudentOutcome], None]


def default_out_dir(source: Path) -> Path:
    name = source.stem if source.is_file() else source.name
    return source.parent / f"{name}-notes"


def _check_folders(source: Path, out_dir: Path) -> None:
    if not source.exists():
        raise BatchError(
            f"{source} n'existe pas : indiquez le dossier des rendus ou l'archive zip de Moodle."
        )
    if source.is_dir() and (out_dir == source or out_dir.is_relative_to(source)):
        raise BatchError(
            f"le dossier de sortie {out_dir} est dans le dossier des rendus {source} : "
            "choisissez-en un autre (--out), les rendus ne sont jamais modifiés."
        )
    if source.is_relative_to(out_dir):
        raise BatchError(f"le dossier des rendus {source} est dans le dossier de sortie {out_dir}.")
    if out_dir.is_relative_to(KIT_ROOT / "grader"):
        raise BatchError(f"le dossier de sortie {out_dir} est dans le correcteur : choisissez-en un autre.")


def _comment_for(grade_problem: str | None, statut: GradeStatus) -> list[str]:
    if grade_problem is None:
        return []
    return [grade_problem if statut != GradeStatus.TIMED_OUT else f"{grade_problem} (boucle infinie ?)"]


def _intact(copy: StagedCopy) -> bool:
    try:
        return copy.intact()
    except OSError:
        return False


def grade_safely(submission: Submission, key: str, area: StagingArea, timeout: float) -> StudentOutcome:
    """:func:`grade_one`, but a failure of ours (disk full…) marks this submission, not the batch."""
    try:
        return grade_one(submission, key, area, timeout)
    except Exception as error:
        message = f"erreur interne pendant la correction : {type(error).__name__} : {error}"
        report = parse_results(zero_results(message, GradeStatus.ERROR))
        comments = (*submission.comments, message)
        # No resume key: the next run tries again.
        return StudentOutcome(
            submission.student,
            submission.slug,
            submission.folder.name,
            GradeStatus.ERROR,
            report,
            comments,
            0.0,
            "",
        )


def grade_one(submission: Submission, key: str, area: StagingArea, timeout: float) -> StudentOutcome:
    comments = list(submission.comments)
    if not submission.gradable:
        message = "Aucun fichier à corriger : " + " ; ".join(submission.comments)
        statut = submission.statut or GradeStatus.INCOMPLETE
        return StudentOutcome(
            submission.student, submission.slug, submission.folder.name, statut,
            parse_results(zero_results(message, statut)), tuple(comments), 0.0, key,
        )  # fmt: skip
    copy = area.stage(submission)
    try:
        grade = grade_submission(
            copy.target, copy.results, timeout=timeout, env=area.environment(copy), log_path=copy.log
        )
        comments += _comment_for(grade.problem, grade.statut)
        statut = worse(grade.statut, submission.statut or grade.statut)
        if not _intact(copy):
            comments.append(
                "la copie corrigée a été modifiée pendant la correction : note non fiable, à revoir"
            )
            statut = GradeStatus.ERROR
        report = grade.report
        if report is not None:
            report = parse_results(relocate(report.document, str(copy.target)))
            # The reason comes from the status the grader wrote, never from its French feedback.
            if report.status_problem is not None:
                comments.append(report.status_problem)
            elif report.statut != GradeStatus.GRADED:
                comments.append(report.statut.meaning)
        if report is None:
            report = parse_results(zero_results(f"Rendu non noté : {' ; '.join(comments)}", statut))
        # A grade stopped at the deadline may owe it to a busy machine: the next run tries again.
        return StudentOutcome(
            submission.student, submission.slug, submission.folder.name, statut,
            report, tuple(comments), grade.elapsed, "" if grade.timed_out else key,
        )  # fmt: skip
    finally:
        area.release(copy)


def _originals_changed(submission: Submission) -> bool:
    """True if a file graded from the snapshot no longer has the same bytes in the class folder."""
    for found in submission.files.values():
        path = submission.folder / found.relative
        try:
            if hashlib.sha256(path.read_bytes()).hexdigest() != found.sha256:
                return True
        except OSError:
            return True
    return False


def _finished(outcome: StudentOutcome, planned: Planned, fingerprint: str) -> StudentOutcome:
    """``outcome`` with the grader that gave it and what it changed from the previous result."""
    extra = outcome.report.document.get("extra_data")
    written = extra.get(RESULTS_KEY) if isinstance(extra, dict) else None
    previous = planned.previous
    change = None
    if previous is not None and planned.reason is not None:
        change = compare(previous.report, outcome.report, planned.reason)
    return replace(
        outcome, fingerprint=written if isinstance(written, str) and written else fingerprint, change=change
    )


def run_batch(
    source: Path,
    out_dir: Path | None = None,
    *,
    jobs: int | None = None,
    force: bool = False,
    simulation: bool = False,
    threshold: float = similarity_report.DEFAULT_THRESHOLD,
    skeleton: Path = SKELETON_DIR,
    timeout: float = DEFAULT_TIMEOUT,
    on_start: Callable[[int, int], None] | None = None,
    on_done: Progress | None = None,
) -> BatchSummary:
    """Grades every submission of ``source`` (a folder, or a Moodle zip) into ``out_dir``.

    Only stale submissions are graded (see :mod:`~grader.batch.cache`); with ``simulation``,
    none is, nothing is written, and the summary's ``planned`` says what would be graded.
    Look-alike submissions are pairs above ``threshold`` (0 to 1); ``skeleton`` holds the code
    every student started from, which never counts as shared.
    ``on_start(total, to_grade)`` is called once the submissions are known, ``on_done`` after
    each one (graded or reused): the command line draws its progress bar with them.
    """
    start = time.perf_counter()
    source = source.resolve()
    out_dir = (out_dir or default_out_dir(source)).resolve()
    _check_folders(source, out_dir)
    area = StagingArea([source, out_dir, KIT_ROOT])
    warnings: list[str] = []
    try:
        class_dir = source
        if source.is_file():
            try:
                class_dir, skipped = extract_archive(source, area.base / "archive")
            except ArchiveError as error:
                raise BatchError(str(error)) from error
            warnings += [f"entrée de l'archive ignorée : {entry}" for entry in skipped]
        submissions = find_submissions(class_dir)  # every file is read now, before any grade
        results_dir = out_dir / RESULTS_DIR
        fingerprint = grader_fingerprint()
        planned = plan(submissions, results_dir, fingerprint, force=force)
        to_grade = [entry for entry in planned if entry.stale]
        outcomes: dict[str, StudentOutcome] = {
            entry.submission.slug: entry.previous
            for entry in planned
            if not entry.stale and entry.previous is not None
        }
        if simulation:
            return BatchSummary(
                out_dir, list(outcomes.values()), 0, len(outcomes), time.perf_counter() - start,
                warnings, planned, simulation=True,
            )  # fmt: skip
        out_dir.mkdir(parents=True, exist_ok=True)
        if on_start:
            on_start(len(submissions), len(to_grade))
        for outcome in outcomes.values():
            if on_done:
                on_done(outcome)
        lock = threading.Lock()
        workers = max(1, jobs or os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(grade_safely, entry.submission, entry.key, area, timeout): entry
                for entry in to_grade
            }
            for future in as_completed(futures):
                outcome = _finished(future.result(), futures[future], fingerprint)
                with lock:
                    outcomes[outcome.slug] = outcome
                    # Written at once, so that an interrupted batch resumes from here.
                    write_json_atomically(results_dir / f"{outcome.slug}.json", outcome.document())
                if on_done:
                    on_done(outcome)
        ordered = [outcomes[s.slug] for s in submissions]
        for submission in submissions:
            if _originals_changed(submission):
                warnings.append(
                    f"les fichiers de {submission.student} ({submission.folder.name}) ont changé pendant "
                    "la correction : la note porte sur la version lue au début ; relancez pour la nouvelle"
                )
        compared = time.perf_counter()
        pairs = look_alike(submissions, skeleton, threshold)
        compared = time.perf_counter() - compared
        sections = [
            changes_report.section(ordered),
            similarity_report.section(pairs, {o.slug: o.student for o in ordered}, threshold),
        ]
        _write_outputs(ordered, out_dir, source.stem if source.is_file() else source.name, sections)
        similarity_report.write_similarities(
            pairs,
            {o.slug: o.student for o in ordered},
            {o.slug: o.folder for o in ordered},
            out_dir / similarity_report.FILE_NAME,
        )
        return BatchSummary(
            out_dir,
            ordered,
            graded=len(to_grade),
            reused=len(submissions) - len(to_grade),
            wall_time=time.perf_counter() - start,
            warnings=warnings,
            planned=planned,
            look_alike=None if pairs is None else len(pairs),
            similarity_time=compared,
        )
    finally:
        area.close()


def _source_text(content: bytes) -> str:
    return content.decode("utf-8", errors="replace").removeprefix("\ufeff")


def look_alike(submissions: Sequence[Submission], skeleton: Path, threshold: float) -> list[Pair] | None:
    """The pairs of submissions whose parts look alike, compared part by part; None when the
    optional group « similarity » (copydetect, numpy) is not installed."""
    try:
        from grader.batch import similarity
    except ImportError:
        return None
    documents = {s.slug: {name: _source_text(f.content) for name, f in s.files.items()} for s in submissions}
    starter = {}
    for name in EXPECTED_FILES:
        try:
            starter[name] = (skeleton / name).read_text(encoding="utf-8")
        except OSError:  # no skeleton: nothing is left out, and the report says what it compares
            starter[name] = ""
    return similarity.compare_class(documents, EXPECTED_FILES, starter, threshold)


def _write_outputs(
    outcomes: Sequence[StudentOutcome], out_dir: Path, class_name: str, sections: Sequence[str] = ()
) -> None:
    """Everything is (re)written from memory: whatever was planted meanwhile is overwritten."""
    results_dir = out_dir / RESULTS_DIR
    expected = {f"{outcome.slug}.json" for outcome in outcomes}
    for outcome in outcomes:
        write_json_atomically(results_dir / f"{outcome.slug}.json", outcome.document())
    for stale in results_dir.glob("*.json"):  # a student who left the class folder
        if stale.name not in expected:
            stale.unlink()
    feedback = out_dir / report_html.FEEDBACK_DIR
    remove_tree(feedback)
    gradebook.write_gradebook(outcomes, out_dir / gradebook.FILE_NAME)
    changes_report.write_changes(outcomes, out_dir / changes_report.FILE_NAME)
    report_html.write_report(outcomes, out_dir, class_name, sections)
