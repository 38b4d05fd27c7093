"""Reading the grader's results.json (Gradescope-shaped), status included.

The grader writes ``score`` (out of 20), ``tests[]`` (one per criterion), ``execution_time``,
``output``, ``output_format``, ``visibility`` and ``extra_data`` (with ``statut`` and
``reponses``). The status is the engine's :class:`~grader.engine.statuses.GradeStatus`, read
from ``extra_data.statut`` and never guessed from the French feedback: a document without
one (an old or foreign results.json) counts as « erreur », with :data:`NO_STATUS` as reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.batch.scale import CRITERIA, TOTAL_POINTS
from grader.engine.statuses import GradeStatus

# When two sources disagree (the files found, the grader's report), the worse one wins.
_SEVERITY = {status: rank for rank, status in enumerate(GradeStatus)}  # best to worst
NO_STATUS = (
    "results.json sans statut reconnu (extra_data.statut absent ou inconnu : ancien format ou "
    "autre correcteur) : compté « erreur », notes reprises telles quelles"
)


class ResultsError(ValueError):
    """A results file that is missing, not JSON, or not shaped like the grader's."""


@dataclass(frozen=True)
class TestResult:
    number: str
    name: str
    score: float
    max_score: float
    status: str  # "passed" / "failed"
    output: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class GradeReport:
    """One results.json, typed; ``document`` keeps every key, known or not."""

    score: float
    tests: tuple[TestResult, ...]
    statut: GradeStatus  # read from extra_data.statut, « erreur » when absent (see status_problem)
    execution_time: float | None
    output: str
    document: dict[str, Any] = field(repr=False)
    status_problem: str | None = None  # French, for the instructor: why the status is not the grader's

    @property
    def max_score(self) -> float:
        return sum(test.max_score for test in self.tests) or TOTAL_POINTS

    def test(self, number: str) -> TestResult | None:
        return next((test for test in self.tests if test.number == number), None)


def worse(*statuses: GradeStatus) -> GradeStatus:
    return max(statuses, key=_SEVERITY.__getitem__)


def read_status(document: Mapping[str, Any]) -> GradeStatus | None:
    """The status the grader wrote in ``extra_data.statut``; None if absent or unknown."""
    extra = document.get("extra_data")
    written = extra.get("statut") if isinstance(extra, dict) else None
    return next((status for status in GradeStatus if status.value == written), None)


def relocate(document: Mapping[str, Any], folder: str, shown: str = "") -> dict[str, Any]:
    """The document with the graded copy's path (a temporary folder) removed from the texts."""
    prefixes = [folder.rstrip("/\\") + sep for sep in ("/", "\\")]

    def clean(text: str) -> str:
        for prefix in prefixes:
            text = text.replace(prefix, shown)
        return text

    result = dict(document)
    if isinstance(result.get("output"), str):
        result["output"] = clean(result["output"])
    if isinstance(result.get("tests"), list):
        result["tests"] = [
            {**test, "output": clean(test["output"])}
            if isinstance(test, dict) and isinstance(test.get("output"), str)
            else test
            for test in result["tests"]
        ]
    return result


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResultsError(f"{where} : un nombre est attendu, trouvé {value!r}")
    return float(value)


def parse_results(document: object) -> GradeReport:
    if not isinstance(document, dict) or not isinstance(document.get("tests"), list):
        raise ResultsError("un objet JSON avec une liste « tests » est attendu")
    tests = []
    for index, raw in enumerate(document["tests"], start=1):
        if not isinstance(raw, dict):
            raise ResultsError(f"tests[{index}] : un objet est attendu, trouvé {raw!r}")
        tests.append(
            TestResult(
                number=str(raw.get("number", "")),
                name=str(raw.get("name", "")),
                score=_number(raw.get("score"), f"tests[{index}].score"),
                max_score=_number(raw.get("max_score"), f"tests[{index}].max_score"),
                status=str(raw.get("status", "failed")),
                output=str(raw.get("output", "")),
            )
        )
    statut = read_status(document)
    execution_time = document.get("execution_time")
    return GradeReport(
        score=_number(document.get("score"), "score"),
        tests=tuple(tests),
        statut=GradeStatus.ERROR if statut is None else statut,
        execution_time=float(execution_time) if isinstance(execution_time, int | float) else None,
        output=str(document.get("output", "")),
        document=dict(document),
        status_problem=NO_STATUS if statut is None else None,
    )


def read_results(path: Path) -> GradeReport:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ResultsError(f"{path.name} illisible : {error.strerror or error}") from error
    try:
        return parse_results(json.loads(text))
    except json.JSONDecodeError as error:
        raise ResultsError(f"{path.name} n'est pas du JSON valide : {error}") from error


def zero_results(message: str, statut: GradeStatus) -> dict[str, Any]:
    """A Gradescope-shaped document for a submission the grader could not mark: 0 everywhere."""
    return {
        "score": 0.0,
        "output": message,
        "tests": [
            {
                "number": criterion.id,
                "name": criterion.title,
                "score": 0.0,
                "max_score": criterion.points,
                "status": "failed",
                "output": message,
            }
            for criterion in CRITERIA
        ],
        "extra_data": {"statut": statut.value},
    }


def with_extra(document: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """A copy of ``document`` whose ``extra_data`` also holds ``extra`` (existing keys kept)."""
    merged = dict(document)
    current = merged.get("extra_data")
    merged["extra_data"] = {**(current if isinstance(current, dict) else {}), **extra}
    return merged
