"""Turning check outcomes into marks, a French console report and a Gradescope results.json."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.engine import reflection
from grader.engine.criteria import CRITERIA, PART_TITLES, TOTAL_POINTS, Criterion
from grader.engine.outcomes import CheckOutcome, Kind
from grader.engine.sandbox import clean_text
from grader.tools.french_cli import fr_number

if TYPE_CHECKING:
    from grader.engine.supervisor import GradeRun


@dataclass
class CriterionResult:
    criterion: Criterion
    score: float
    not_done: bool
    feedback: list[tuple[str, str, str]]  # (check title, what was observed and the hint, short cause)
    notes: list[str]
    todos: list[str]
    broken: bool = False

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
        feedback = [(check.title, check.message, check.cause) for check in failed]
        if not checks:
            feedback = [("Critère", "aucune vérification n'a tourné pour ce critère", "")]
        notes = list(dict.fromkeys(note for check in checks for note in check.notes))
        todos = list(dict.fromkeys(check.todo for check in checks if check.todo))
        broken = any(check.kind is Kind.BROKEN for check in checks)
        results.append(CriterionResult(criterion, score, not_done, feedback, notes, todos, broken))
    return results


def unfinished(reason: str) -> list[CheckOutcome]:
    """Outcomes for a grade that could not finish: every criterion lost, with the reason."""
    return [
        CheckOutcome("correction", c.id, "Correction", 1.0, Kind.BROKEN, reason, cause=reason)
        for c in CRITERIA
    ]


def total_score(results: Iterable[CriterionResult]) -> float:
    return _round(sum(result.score for result in results))


def _status_text(result: CriterionResult) -> str:
    if result.passed:
        return ""
    return "pas encore fait" if result.not_done else "à revoir"


def render_console(
    results: list[CriterionResult],
    target: str,
    grade_run: GradeRun | None = None,
    answer: reflection.Reflection | None = None,
) -> str:
    lines = [f"Correction de : {target}", ""]
    for part, part_title in PART_TITLES.items():
        lines.append(part_title)
        for result in (r for r in results if r.criterion.part == part):
            mark = "✓" if result.passed else "✗"
            points = f"{fr_number(result.score, None)}/{fr_number(result.criterion.points, None)}"
            lines.append(
                f"  {mark} {result.criterion.id:<18} {result.criterion.title:<58} "
                f"{points:>7}  {_status_text(result)}".rstrip()
            )
        lines.append("")
    total = total_score(results)
    lines.append(f"Note : {fr_number(total, None)}/{fr_number(TOTAL_POINTS, None)}")
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
            for title, message, cause in result.feedback:
                # A crash explained once: elsewhere, its short cause only (not « see above »).
                shown = f"{cause} (détails plus haut)" if cause and message in seen else message
                seen.add(message)
                lines.append(f"  • {title} : {_indent(shown)}")
    notes = [(r.criterion.id, note) for r in results for note in r.notes]
    if notes:
        lines += ["", "Remarques (sans perte de points) :"]
        lines += [f"  • {criterion_id} : {_indent(note)}" for criterion_id, note in notes]
    if grade_run is not None:
        if answer is not None:
            lines += ["", reflection.render_block(answer)]
        lines += ["", "Protections actives : " + " ; ".join(grade_run.protections.describe()) + "."]
    return clean_text("\n".join(lines))


def _todos_left(results: Iterable[CriterionResult]) -> list[str]:
    found = {todo for r in results for todo in r.todos}
    return sorted(
        found, key=lambda todo: int(todo.split()[1]) if todo.split()[1:2] and todo.split()[1].isdigit() else 0
    )


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")


def _output(result: CriterionResult) -> str:
    if result.passed:
        body = ["Critère validé."]
    elif result.not_done:
        body = ["Pas encore fait : les fonctions concernées lèvent encore NotImplementedError."]
    else:
        body = [f"{title} : {message}" for title, message, _ in result.feedback]
    return clean_text("\n".join(body + [f"Remarque : {note}" for note in result.notes]))


def grade_status(results: list[CriterionResult]) -> str:
    """noté, incomplet (TODOs left), erreur (code that crashes or does not load)."""
    if any(result.broken for result in results):
        return "erreur"
    if any(result.not_done for result in results):
        return "incomplet"
    return "noté"


def extra_data(
    results: list[CriterionResult], grade_run: GradeRun | None, answer: reflection.Reflection
) -> dict[str, Any]:
    hung = grade_run is not None and any(
        scenario.ending in ("hung", "skipped") or part.load_ending == "hung"
        for part in grade_run.parts.values()
        for scenario in part.scenarios.values()
    )
    return {
        "statut": "délai dépassé" if hung else grade_status(results),
        "protections": grade_run.protections.describe() if grade_run else [],
        "reponses": reflection.answer_for_results(answer),
    }


class ResultsNotWritten(Exception):
    """The results path cannot be written safely (a folder, a missing parent…)."""


def write_results(
    results: list[CriterionResult],
    path: Path,
    console: str = "",
    seconds: float = 0.0,
    extra: dict[str, Any] | None = None,
) -> None:
    """Writes the marks in Gradescope's results.json format, atomically.

    The document goes to a new temporary file beside ``path``, then replaces ``path``:
    a symlink at ``path`` is replaced itself, never followed.
    """
    document = {
        "score": total_score(results),
        "execution_time": round(seconds, 2),
        "output": console,
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": extra or {},
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
    _write_atomically(path, json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def _write_atomically(path: Path, text: str) -> None:
    if path.is_dir() and not path.is_symlink():
        raise ResultsNotWritten(f"Résultats non écrits : {path} est un dossier.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".results-", suffix=".tmp", dir=path.parent)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError as error:
        raise ResultsNotWritten(f"Résultats non écrits dans {path} : {error}") from error


def write_checks(outcomes: Iterable[CheckOutcome], path: Path) -> None:
    """Writes one line per check (for the kit's own tests: which check each mutant fails)."""
    document = [
        {"check": o.check, "criterion": o.criterion, "kind": o.kind.value, "message": o.message}
        for o in outcomes
    ]
    _write_atomically(path, json.dumps(document, ensure_ascii=False, indent=2) + "\n")
