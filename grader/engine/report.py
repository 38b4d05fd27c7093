"""Turning check outcomes into marks, a French console report and a Gradescope results.json."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from grader.engine.criteria import CRITERIA, PART_TITLES, TOTAL_POINTS, Criterion


class Kind(Enum):
    PASSED = "passed"
    LOST = "lost"  # the check saw a wrong behaviour
    NOT_DONE = "not_done"  # NotImplementedError: a TODO left
    BROKEN = "broken"  # the module does not load, or the code crashed or hung


@dataclass
class CheckOutcome:
    check: str
    criterion: str
    title: str
    weight: float
    kind: Kind
    message: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class CriterionResult:
    criterion: Criterion
    score: float
    not_done: bool
    feedback: list[tuple[str, str]]  # (check title, what was observed and the hint)
    notes: list[str]

    @property
    def passed(self) -> bool:
        return self.score >= self.criterion.points

    @property
    def status(self) -> str:
        return "passed" if self.passed else "failed"


def _round(value: float) -> float:
    return round(value + 1e-9, 2)


def score_criteria(outcomes: Iterable[CheckOutcome]) -> list[CriterionResult]:
    grouped: dict[str, list[CheckOutcome]] = {c.id: [] for c in CRITERIA}
    for outcome in outcomes:
        grouped[outcome.criterion].append(outcome)
    results = []
    for criterion in CRITERIA:
        checks = grouped[criterion.id]
        total = sum(check.weight for check in checks)
        earned = sum(check.weight for check in checks if check.kind is Kind.PASSED)
        score = _round(criterion.points * earned / total) if total else 0.0
        failed = [check for check in checks if check.kind is not Kind.PASSED]
        not_done = bool(checks) and all(check.kind is Kind.NOT_DONE for check in checks)
        feedback = [(check.title, check.message) for check in failed]
        if not checks:
            feedback = [("Critère", "aucune vérification n'a tourné pour ce critère")]
        notes = [note for check in checks for note in check.notes]
        results.append(CriterionResult(criterion, score, not_done, feedback, notes))
    return results


def total_score(results: Iterable[CriterionResult]) -> float:
    return _round(sum(result.score for result in results))


def french_number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _status_text(result: CriterionResult) -> str:
    if result.passed:
        return ""
    return "pas encore fait" if result.not_done else "à revoir"


def render_console(results: list[CriterionResult], target: str) -> str:
    lines = [f"Correction de : {target}", ""]
    for part, part_title in PART_TITLES.items():
        lines.append(part_title)
        for result in (r for r in results if r.criterion.part == part):
            mark = "✓" if result.passed else "✗"
            points = f"{french_number(result.score)}/{french_number(result.criterion.points)}"
            lines.append(
                f"  {mark} {result.criterion.id:<18} {result.criterion.title:<58} "
                f"{points:>7}  {_status_text(result)}".rstrip()
            )
        lines.append("")
    total = total_score(results)
    lines.append(f"Note : {french_number(total)}/{french_number(TOTAL_POINTS)}")
    lost = [r for r in results if not r.passed and not r.not_done]
    todo = [r.criterion.id for r in results if r.not_done]
    if todo:
        left = _todos_left(results)
        listed = f" ; TODO rencontrés : {', '.join(left)}" if left else ""
        lines += [
            "",
            f"Pas encore fait ({len(todo)} critères){listed}.",
            "Complétez-les dans l'ordre, puis relancez.",
        ]
    if lost:
        lines += ["", "Points perdus :"]
        seen: set[str] = set()
        for result in lost:
            lines.append(f"\n■ {result.criterion.id} — {result.criterion.title}")
            for title, message in result.feedback:
                shown = "même cause que plus haut." if message in seen else message
                seen.add(message)
                lines.append(f"  • {title} : {_indent(shown)}")
    notes = [(r.criterion.id, note) for r in results for note in r.notes]
    if notes:
        lines += ["", "Remarques (sans perte de points) :"]
        lines += [f"  • {criterion_id} : {_indent(note)}" for criterion_id, note in notes]
    return "\n".join(lines)


_TODO = re.compile(r"TODO \d+ : \w+")


def _todos_left(results: Iterable[CriterionResult]) -> list[str]:
    found = {todo for r in results for _, message in r.feedback for todo in _TODO.findall(message)}
    return sorted(found, key=lambda todo: int(todo.split()[1]))


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")


def _output(result: CriterionResult) -> str:
    if result.passed:
        body = ["Critère validé."]
    elif result.not_done:
        body = ["Pas encore fait : les fonctions concernées lèvent encore NotImplementedError."]
    else:
        body = [f"{title} : {message}" for title, message in result.feedback]
    return "\n".join(body + [f"Remarque : {note}" for note in result.notes])


def write_results(results: list[CriterionResult], path: Path) -> None:
    """Writes the marks in Gradescope's results.json format."""
    document = {
        "score": total_score(results),
        "tests": [
            {
                "number": result.criterion.id,
                "name": result.criterion.title,
                "score": result.score,
                "max_score": result.criterion.points,
                "status": result.status,
                "output": _output(result),
            }
            for result in results
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_checks(outcomes: Iterable[CheckOutcome], path: Path) -> None:
    """Writes one line per check (for the kit's own tests: which check each mutant fails)."""
    document = [
        {"check": o.check, "criterion": o.criterion, "kind": o.kind.value, "message": o.message}
        for o in outcomes
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
