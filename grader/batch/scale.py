"""The grading scale, from the grader: the only place that knows where it lives."""

from __future__ import annotations

from grader.engine.criteria import CRITERIA

CRITERION_IDS: tuple[str, ...] = tuple(criterion.id for criterion in CRITERIA)
TITLES: dict[str, str] = {criterion.id: criterion.title for criterion in CRITERIA}
POINTS: dict[str, float] = {criterion.id: criterion.points for criterion in CRITERIA}
TOTAL_POINTS: float = sum(POINTS.values())

__all__ = ["CRITERIA", "CRITERION_IDS", "POINTS", "TITLES", "TOTAL_POINTS"]
