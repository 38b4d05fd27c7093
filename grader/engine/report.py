"""Turning check outcomes into marks, a French console report and a Gradescope results.json."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.engine import reflection, syntax, text
from grader.engine.atomic import write_text_atomically
from grader.engine.criteria import CRITERIA, PART_TITLES, TOTAL_POINTS, Criterion
from grader.engine.fingerprint import RESULTS_KEY, grader_fingerprint
from grader.engine.french_numbers import fr_number
from grader.engine.outcomes import CheckOutcome, Kind
from grader.engine.statuses import GradeStatus
from grader.engine.worker.protocol import LoadEnding, ScenarioEnding

if TYPE_CHECKING:
    from grader.engine.runs import GradeRun
    from grader.engine.selection import Selection

# Caps, in characters, of what the report repeats from a check (its text quotes the student's).
MAX_FEEDBACK_CHARS = 2_000  # one check's message: what was seen, and the hint
MAX_NOTE_CHARS = 600  # one remark without points lost
# results.json: PrairieLearn refuses a document over 1 MB, and so do we. Each text field has its
# own cap (at most 4 bytes a character in UTF-8), so that a normal report is never cut; the
# whole document is checked anyway, and shortened if it must be (scores never are).
MAX_RESULTS_BYTES = 1_000_000
MAX_CONSOLE_CHARS = 100_000  # the console report, copied in « output »
MAX_TEST_OUTPUT_CHARS = 12_000  # one criterion's « output »
FEEDBACK_CUT = "[suite coupée : le compte rendu dépassait la taille permise]"


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
        # Cleaned here, once: a check's message quotes the student's strings, and every
        # rendering (console, results.json) starts from these.
        feedback = [
            (
                text.one_line(check.title, text.MAX_MESSAGE_CHARS),
                text.multi_line(check.message, MAX_FEEDBACK_CHARS),
                text.one_line(check.cause, text.MAX_MESSAGE_CHARS),
            )
            for check in failed
        ]
        if not checks:
            feedback = [("Critère", "aucune vérification n'a tourné pour ce critère", "")]
        notes = list(
            dict.fromkeys(text.multi_line(note, MAX_NOTE_CHARS) for check in checks for note in check.notes)
        )
        todos = list(
            dict.fromkeys(text.one_line(check.todo, text.MAX_NAME_CHARS) for check in checks if check.todo)
        )
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
    hints: Mapping[str, Sequence[str]] | None = None,
    hints_line: str = "",
    selection: Selection | None = None,
) -> str:
    """The console report. ``hints``: the deeper hints (levels 2 and 3) shown under each lost
    criterion; ``hints_line``: how the hints deepen, said once under « Points perdus »; with a
    ``selection`` (« --partie », « --critere »), only its criteria and a partial mark."""
    lines = [f"Correction de : {text.one_line(target)}", ""]
    broken_parts = syntax.problems(grade_run)
    for broken_part in broken_parts.values():
        lines += [broken_part.block, ""]
    for part, part_title in PART_TITLES.items():
        in_part = [r for r in results if r.criterion.part == part]
        if not in_part and selection is not None:
            continue
        lines.append(part_title)
        for result in in_part:
            mark = "✓" if result.passed else "✗"
            points = f"{fr_number(result.score, trim=True)}/{fr_number(result.criterion.points, trim=True)}"
            lines.append(
                f"  {mark} {result.criterion.id:<18} {result.criterion.title:<58} "
                f"{points:>7}  {_status_text(result)}".rstrip()
            )
        lines.append("")
    total = total_score(results)
    mark_line = f"Note : {fr_number(total, trim=True)}/{fr_number(TOTAL_POINTS, trim=True)}"
    before, lines = lines, []
    if selection is not None:
        mark_line = selection.mark_line(total)
        lines.append(selection.warning())
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
        if hints_line:
            lines.append(hints_line)
        seen: set[str] = set()
        for result in lost:
            lines.append(f"\n■ {result.criterion.id} — {result.criterion.title}")
            problem = broken_parts.get(result.criterion.part)
            if problem is not None and problem.explains([cause for _, _, cause in result.feedback]):
                lines.append(f"  • {problem.reference}")
                continue
            for title, message, cause in result.feedback:
                # A crash explained once: elsewhere, its short cause only (not « see above »).
                shown = f"{cause} (détails plus haut)" if cause and message in seen else message
                seen.add(message)
                lines.append(f"  • {title} : {_indent(shown)}")
            lines += [f"  • {_indent(hint)}" for hint in (hints or {}).get(result.criterion.id, ())]
    notes = [(r.criterion.id, note) for r in results for note in r.notes]
    if notes:
        lines += ["", "Remarques (sans perte de points) :"]
        lines += [f"  • {criterion_id} : {_indent(note)}" for criterion_id, note in notes]
    if grade_run is not None:
        if answer is not None:
            lines += ["", reflection.render_block(answer)]
        lines += ["", "Protections actives : " + " ; ".join(grade_run.protections.describe()) + "."]
    after = _safe_lines("\n".join(lines))
    if sum(len(line) + 1 for line in after) > MAX_CONSOLE_CHARS:
        kept = text.multi_line("\n".join(after), MAX_CONSOLE_CHARS - len(FEEDBACK_CUT) - 1)
        after = [*kept.split("\n"), FEEDBACK_CUT]
    # The report writes its mark line itself, once, between lines that cannot pass for one.
    return "\n".join([*_safe_lines("\n".join(before)), mark_line, *after])


def _safe_lines(block: str) -> list[str]:
    """The lines of ``block`` once cleaned, none of them able to pass for the mark line.

    Student strings reach the report cleaned for one line, so they never start a line; this
    is the report's own guarantee, whatever a check quoted.
    """
    return [text.defuse_marks(line) for line in text.multi_line(block).split("\n")]


def _todos_left(results: Iterable[CriterionResult]) -> list[str]:
    found = {todo for r in results for todo in r.todos}
    return sorted(
        found, key=lambda todo: int(todo.split()[1]) if todo.split()[1:2] and todo.split()[1].isdigit() else 0
    )


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")


def _output(result: CriterionResult, problem: syntax.SyntaxProblem | None = None) -> str:
    if result.passed:
        body = ["Critère validé."]
    elif result.not_done:
        body = ["Pas encore fait : les fonctions concernées lèvent encore NotImplementedError."]
    elif problem is not None and problem.explains([cause for _, _, cause in result.feedback]):
        body = [problem.block]  # once, not under each of the criterion's checks
    else:
        body = [f"{title} : {message}" for title, message, _ in result.feedback]
    lines = _safe_lines("\n".join(body + [f"Remarque : {note}" for note in result.notes]))
    return text.multi_line("\n".join(lines), MAX_TEST_OUTPUT_CHARS)


def grade_status(results: list[CriterionResult]) -> GradeStatus:
    """noté, incomplet (TODOs left), erreur (code that crashes or does not load)."""
    if any(result.broken for result in results):
        return GradeStatus.ERROR
    if any(result.not_done for result in results):
        return GradeStatus.INCOMPLETE
    return GradeStatus.GRADED


def extra_data(
    results: list[CriterionResult], grade_run: GradeRun | None, answer: reflection.Reflection
) -> dict[str, Any]:
    hung = grade_run is not None and any(
        scenario.ending in (ScenarioEnding.HUNG, ScenarioEnding.SKIPPED)
        or part.load_ending is LoadEnding.HUNG
        for part in grade_run.parts.values()
        for scenario in part.scenarios.values()
    )
    return {
        "statut": (GradeStatus.TIMED_OUT if hung else grade_status(results)).value,
        "protections": grade_run.protections.describe() if grade_run else [],
        "reponses": reflection.answer_for_results(answer),
        RESULTS_KEY: grader_fingerprint(),  # which grader gave this mark: stale after a fix
    }


class ResultsNotWritten(Exception):
    """The results path cannot be written safely (a folder, a missing parent…)."""


def write_results(
    results: list[CriterionResult],
    path: Path,
    console: str = "",
    seconds: float = 0.0,
    extra: dict[str, Any] | None = None,
    syntax_problems: Mapping[str, syntax.SyntaxProblem] | None = None,
) -> None:
    """Writes the marks in Gradescope's results.json format, atomically, in at most 1 MB.

    ``syntax_problems``: a part's syntax error, by part, told once in each of its criteria.

    The document goes to a new temporary file beside ``path``, then replaces ``path``:
    a symlink at ``path`` is replaced itself, never followed.
    """
    document = {
        "score": total_score(results),
        "execution_time": round(seconds, 2),
        "output": text.multi_line(console, MAX_CONSOLE_CHARS),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": _cleaned(extra or {}),
        "tests": [
            {
                "number": result.criterion.id,
                "name": result.criterion.title,
                "score": result.score,
                "max_score": result.criterion.points,
                "status": result.status,
                "output": _output(result, (syntax_problems or {}).get(result.criterion.part)),
            }
            for result in results
        ],
    }
    _write_atomically(path, results_json(document))


def _cleaned(value: Any) -> Any:
    """``value`` with every string cleaned as a block (extra_data may quote the student)."""
    if isinstance(value, str):
        return text.multi_line(value)
    if isinstance(value, dict):
        return {key: _cleaned(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    return value


def results_json(document: dict[str, Any], limit: int = MAX_RESULTS_BYTES) -> str:
    """``document`` as UTF-8 JSON text of at most ``limit`` bytes, whatever its strings hold.

    Lone surrogates become U+FFFD (they cannot be encoded). If the document is still too big,
    its texts (the console report, each criterion's output, extra_data's strings) are cut,
    more and more, each ending with a French note; scores are never touched. As a last
    resort, only the scores are kept, with that note.
    """
    safe: dict[str, Any] = text.json_safe(document)
    encoded = _dumps(safe)
    share = MAX_CONSOLE_CHARS
    while len(encoded.encode("utf-8")) > limit and share > _MIN_SHARE:
        share //= 2
        safe = _shortened(safe, share)
        encoded = _dumps(safe)
    if len(encoded.encode("utf-8")) > limit:
        encoded = _dumps(_scores_only(safe))
    return encoded


_MIN_SHARE = 256  # below this, a cut text would say less than the note that replaces it
_SCORE_KEYS = ("number", "name", "score", "max_score", "status")


def _scores_only(document: dict[str, Any]) -> dict[str, Any]:
    """The document reduced to its marks: what the platform must get, whatever else is lost."""
    tests = [test for test in document.get("tests", []) if isinstance(test, dict)]
    return {
        "score": document.get("score", 0.0),
        "output": FEEDBACK_CUT,
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {**{key: test[key] for key in _SCORE_KEYS if key in test}, "output": FEEDBACK_CUT}
            for test in tests
        ],
    }


def _dumps(document: object) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _shortened(document: dict[str, Any], share: int) -> dict[str, Any]:
    """A copy whose output texts hold at most ``share`` characters each, with a note if cut."""

    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > max(share, _MIN_SHARE):
            return value[: max(share - len(FEEDBACK_CUT) - 1, 0)] + "\n" + FEEDBACK_CUT
        if isinstance(value, dict):
            return {key: cut(item) for key, item in value.items()}
        if isinstance(value, list):
            return [cut(item) for item in value]
        return value

    shortened = dict(document)
    shortened["output"] = cut(document.get("output", ""))
    shortened["extra_data"] = cut(document.get("extra_data", {}))
    shortened["tests"] = [
        {**test, "output": cut(test.get("output", ""))} if isinstance(test, dict) else test
        for test in document.get("tests", [])
    ]
    return shortened


def _write_atomically(path: Path, text: str) -> None:
    if path.is_dir() and not path.is_symlink():
        raise ResultsNotWritten(f"Résultats non écrits : {path} est un dossier.")
    try:
        write_text_atomically(path, text)
    except OSError as error:
        raise ResultsNotWritten(f"Résultats non écrits dans {path} : {error}") from error


def write_checks(outcomes: Iterable[CheckOutcome], path: Path) -> None:
    """Writes one line per check (for the kit's own tests: which check each mutant fails)."""
    document = [
        {"check": o.check, "criterion": o.criterion, "kind": o.kind.value, "message": o.message}
        for o in outcomes
    ]
    _write_atomically(path, _dumps(text.json_safe(document)))
