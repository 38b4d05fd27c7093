"""A file that does not load because of a syntax error: told once, at the top of the report.

Every check of that part fails with the same cause (grader/engine/observations.py); the report
shows the error once, with the file, the line of code and a caret under the fault, and each
lost criterion of the part only refers to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.engine import text
from grader.engine.observations import PartView
from grader.engine.outcomes import Broken
from grader.engine.paths import PART_FILES

if TYPE_CHECKING:
    from grader.engine.runs import GradeRun, PartRun

SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")
MAX_CODE_CHARS = 160
REFERENCE = "erreur de syntaxe ({file}, ligne {line}), détaillée en haut du rapport."


@dataclass(frozen=True)
class SyntaxProblem:
    part: str
    cause: str  # the short cause every check of the part failed with
    block: str  # the lines shown once, at the top
    reference: str  # the line each lost criterion of the part shows instead

    def explains(self, causes: list[str]) -> bool:
        """True when every cause given is this syntax error (and there is at least one)."""
        return bool(causes) and all(cause == self.cause for cause in causes)


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _code_lines(source: str, line: int | None, column: int | None) -> list[str]:
    """The faulty line of code, with a caret under the fault when Python said where it is."""
    lines = source.splitlines()
    if line is None or line > len(lines):
        return []
    raw = lines[line - 1]
    stripped = raw.lstrip()
    code = text.one_line(stripped, MAX_CODE_CHARS)
    if not code:
        return []
    prefix = f"    {line} | "
    shown = [f"{prefix}{code}"]
    if column is not None and code == stripped.rstrip():
        caret = min(max(column - 1 - (len(raw) - len(stripped)), 0), len(code))
        shown.append(" " * (len(prefix) - 2) + "| " + " " * caret + "^")
    return shown


def problem_of(run: PartRun) -> SyntaxProblem | None:
    """The part's syntax error, if its file does not load because of one."""
    call = run.load or {}
    if call.get("status") == "ok" or call.get("exception") not in SYNTAX_ERRORS:
        return None
    problem = PartView(run).load_problem()
    if not isinstance(problem, Broken):
        return None
    name = PART_FILES[run.part]
    line, column = _number(call.get("line")), _number(call.get("column"))
    message = text.one_line(call.get("message"))
    where = f", ligne {line}" if line else ""
    block = [
        f"Erreur de syntaxe dans {name}{where} : {message}",
        *_code_lines(run.source, line, column),
        f"  Tant qu'elle est là, {name} ne se charge pas : aucun critère de cette partie n'est vérifié.",
        f"  Piste : {problem.hint}",
    ]
    reference = REFERENCE.format(file=name, line=line or "?")
    return SyntaxProblem(run.part, problem.cause, "\n".join(block), reference)


def problems(grade_run: GradeRun | None) -> dict[str, SyntaxProblem]:
    """The syntax error of each part that has one, by part."""
    if grade_run is None:
        return {}
    found = {part: problem_of(run) for part, run in grade_run.parts.items()}
    return {part: problem for part, problem in found.items() if problem is not None}
