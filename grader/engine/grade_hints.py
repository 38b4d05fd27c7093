"""The hints of one grade: which level each lost criterion gets, from the local history.

The levels themselves and their texts are in grader/engine/hints.py; the history in
grader/engine/history.py. Without a history (batch grading, platforms), every criterion
stays at level 1, unless ``--indices tous`` asks for every level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from grader.engine import hints, history
from grader.engine.report import CriterionResult, total_score

if TYPE_CHECKING:
    from grader.engine.runs import GradeRun


@dataclass(frozen=True)
class GradeHints:
    deeper: dict[str, list[str]] = field(default_factory=dict)  # levels 2 and 3, by criterion
    levels_line: str = ""  # how the hints deepen, said once in the report
    entry: history.Entry | None = None  # this grade's line for the history (None: none to write)


def for_grade(
    results: list[CriterionResult],
    grade_run: GradeRun | None,
    target: str,
    history_file: Path | None,
    show_all: bool,
    graded: bool,
) -> GradeHints:
    """The deeper hints of each lost criterion, the line that explains them, and this grade's
    history entry (only when there is a history and the grade finished)."""
    lost = [r for r in results if not r.passed and not r.not_done]
    use_history = history_file is not None and graded
    streaks: dict[str, int] = {}
    if use_history and history_file is not None:
        streaks = history.streaks(history.read(history_file), target, (r.criterion.id for r in lost))
    levels = {
        r.criterion.id: hints.MAX_LEVEL if show_all else hints.level_for(streaks.get(r.criterion.id, 1))
        for r in lost
    }
    deeper: dict[str, list[str]] = {}
    for result in lost:
        run = grade_run.parts.get(result.criterion.part) if grade_run is not None else None
        observed = [hints.observed_part(message) for _, message, _ in result.feedback]
        lines = hints.deeper_lines(
            result.criterion.id, levels[result.criterion.id], run.source if run else "", observed
        )
        if lines:
            deeper[result.criterion.id] = lines
    explained = history_file is not None or show_all
    line = hints.levels_line(levels.values(), show_all) if lost and explained else ""
    entry = None
    if use_history:
        entry = history.Entry(
            history.now(),
            target,
            total_score(results),
            tuple(r.criterion.id for r in lost),
            tuple(r.criterion.id for r in results if r.not_done),
        )
    return GradeHints(deeper, line, entry)
