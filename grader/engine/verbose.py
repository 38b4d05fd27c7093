"""``-v``: what the student's code did in each scenario, as a student needs it.

For each scenario: what it ran, what the code showed on the console (bounded), how the call
ended, with the student's own traceback (their files' frames only, rebuilt from the call chain
and their source), and asyncio's warnings (« never awaited », « exception was never
retrieved »). Never the grader's internals: no frame of the kit or of a library, no raw bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from grader.engine import text
from grader.engine.criteria import PART_TITLES
from grader.engine.observations import PartView, describe_call, line_number, shown_value
from grader.engine.paths import PART_FILES
from grader.engine.plans import Scenario
from grader.engine.worker.protocol import ScenarioEnding

if TYPE_CHECKING:
    from grader.engine.runs import GradeRun, PartRun, ScenarioRun

HEAD_LINES, TAIL_LINES = 5, 2  # of each scenario's console: its start and its end
MAX_IMPORTANT_LINES = 6  # errors and warnings kept from the middle of a console
MAX_LINE_CHARS = 200
MAX_MESSAGE_LINES = 40  # Python's own messages found in a part's console
MAX_VERBOSE_CHARS = 40_000
HEADER = "Détails de l'exécution de votre code (-v) : ce que chaque scénario a lancé et affiché"
MALFORMED = "compte rendu de l'ouvrier mal formé, non affiché (vu quand un programme écrit sur son canal)"

SCENARIO_LABELS: dict[str, str] = {
    Scenario.SCRIPT: "le fichier lancé comme script, sur un vrai serveur local",
    Scenario.LOG_FORMAT: "setup_logging() puis un message de chaque niveau",
    Scenario.DOWNLOAD_ONE: "download_and_save() sur une image",
    Scenario.DOWNLOAD_404: "download_and_save() sur une URL qui répond 404",
    Scenario.MAIN: "main() sur des images simulées",
    Scenario.NESTED_DIR: "main() avec un dossier de sortie imbriqué qui n'existe pas",
    Scenario.EXISTING_DIR: "main() avec un dossier de sortie qui existe déjà",
    Scenario.ERROR_CONNECTION: "main() avec une erreur de connexion",
    Scenario.ERROR_404: "main() avec une réponse 404",
    Scenario.ERROR_500: "main() avec une réponse 500",
    Scenario.ERROR_DISK: "main() avec une écriture sur disque qui échoue",
    Scenario.ERROR_TIMEOUT: "main() avec un délai dépassé",
    Scenario.LOG_MESSAGES: "main() avec votre setup_logging()",
    Scenario.LOG_ERROR_CONNECTION: "main() avec votre setup_logging() et une erreur de connexion",
    Scenario.LOG_ERROR_404: "main() avec votre setup_logging() et une réponse 404",
    Scenario.TIMING_SHORT: "main() avec une latence courte (chronomètre)",
    Scenario.TIMING_LONG: "main() avec une latence longue (chronomètre)",
    Scenario.SERVER: "main() sur un vrai serveur local",
    Scenario.SERVER_ERRORS: "main() sur un vrai serveur local dont certaines URL échouent",
}

ENDINGS = {
    ScenarioEnding.HUNG: "arrêté : votre code tournait encore à la fin du délai (boucle infinie ?)",
    ScenarioEnding.CRASHED: "le processus s'est arrêté brutalement (récursion infinie ? mémoire ?)",
    ScenarioEnding.SKIPPED: "non lancé : la partie avait déjà épuisé son temps",
    ScenarioEnding.NOT_LOADED: "non lancé : le module ne se charge plus",
}

# A bytes repr long enough to be an image's content: never worth a line on a student's screen.
_RAW_BYTES = re.compile(r"b(['\"])(?:\\x[0-9a-fA-F]{2}|\\.|(?!\1).){24,}?\1")
_IMPORTANT = re.compile(r"ERROR|CRITICAL|WARNING|Traceback|Error|Exception|never awaited|never retrieved")
# How the worker locates a coroutine never awaited (at most 9 digits: int() refuses 4 300).
_AT_LINE = re.compile(r"_downloader\.py ligne ([0-9]{1,9})$")
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<function>.+))?$')
_CARETS = re.compile(r"^\s*[\^~]+\s*$")
# What follows a frame's code: the exception, a new log line, a chained traceback.
_ENDS_A_FRAME = re.compile(
    r"^([A-Za-z_][\w.]*(Error|Exception|Warning|Interrupt|Exit)\b|(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b|"
    r"\d|\[|Traceback|During handling|The above exception)"
)
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Warning|Interrupt|Exit)\b")
_PYTHON_MESSAGE = re.compile(
    r"Traceback \(most recent call last\)|exception was never retrieved|was never awaited|"
    r"Task was destroyed but it is pending|Unclosed client session|Warning:"
)


def _clean(line: str) -> str:
    # Cut before the search: a line of the student's console may be megabytes long.
    return text.one_line(_RAW_BYTES.sub("b'…' (octets)", line[: MAX_LINE_CHARS * 4]), MAX_LINE_CHARS)


def _bounded(lines: list[str], folder: str, indent: str = "    | ") -> list[str]:
    """The console's first and last lines, and its errors and warnings in between (the scratch
    folder's path left out); the other lines are counted."""
    cleaned = [_clean(line.replace(folder, "")) for line in lines]
    if len(cleaned) <= HEAD_LINES + TAIL_LINES + 1:
        return [f"{indent}{line}" for line in cleaned]
    shown = [f"{indent}{line}" for line in cleaned[:HEAD_LINES]]
    middle = cleaned[HEAD_LINES:-TAIL_LINES]
    kept = [line for line in middle if _IMPORTANT.search(line)][:MAX_IMPORTANT_LINES]
    hidden = 0
    for line in middle:
        if line in kept:
            if hidden:
                shown.append(f"{indent}… ({hidden} ligne(s) non affichée(s))")
                hidden = 0
            shown.append(f"{indent}{line}")
            kept.remove(line)
        else:
            hidden += 1
    if hidden:
        shown.append(f"{indent}… ({hidden} ligne(s) non affichée(s))")
    return shown + [f"{indent}{line}" for line in cleaned[-TAIL_LINES:]]


def _source_line(run: PartRun, file: object, line: object) -> str:
    if file != PART_FILES[run.part] or not isinstance(line, int) or isinstance(line, bool):
        return ""
    lines = run.source.splitlines()
    return _clean(lines[line - 1].strip()) if 0 < line <= len(lines) else ""


TRACEBACK_TITLE = "  Traceback (vos fichiers seulement) :"
STOPPED_TITLE = "  Où tournait votre code quand il a été arrêté :"


def student_traceback(run: PartRun, call: dict[str, Any], title: str = TRACEBACK_TITLE) -> list[str]:
    """The call's traceback, the student's frames only, as Python would print them."""
    chain = call.get("chain") or []
    exception = text.type_name(call.get("exception") or "Exception")
    message = text.one_line(call.get("message") or "")
    lines = [title]
    for frame in chain:
        file, line = frame.get("file"), frame.get("line")
        function = text.one_line(frame.get("function", "?"), text.MAX_NAME_CHARS)
        shown_file = text.one_line(file, text.MAX_NAME_CHARS)
        lines.append(f'    File "{shown_file}", line {line_number(line)}, in {function}')
        code = _source_line(run, file, line)
        if code:
            lines.append(f"      {code}")
    if not chain:
        lines.append(
            "    (aucune ligne de vos fichiers dans la pile : l'erreur vient d'un appel de bibliothèque)"
        )
    lines.append(f"  {exception}: {message}" if message else f"  {exception}")
    return lines


def _calls(observed: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in observed:
        return [run.get("call") or {} for run in observed.get("runs") or []]
    return [observed.get("call") or {}]


def _outcome(run: PartRun, scenario: ScenarioRun, function: str) -> list[str]:
    lines: list[str] = []
    if scenario.ending in ENDINGS:
        lines.append(f"  Fin : {ENDINGS[scenario.ending]}")
        if scenario.chain:
            lines += student_traceback(run, {"chain": scenario.chain}, STOPPED_TITLE)[:-1]
        return lines
    observed = scenario.observed or {}
    for call in _calls(observed):
        status = call.get("status")
        if status == "ok":
            lines.append(f"  Fin : {function} a renvoyé {shown_value(call.get('value') or {})}")
        elif status == "not_done":
            lines.append(f"  Fin : pas encore fait ({text.one_line(call.get('todo') or 'TODO')})")
        elif status == "raised":
            lines.append(f"  Fin : {describe_call(function, call)}")
            lines += student_traceback(run, call)
        elif status:
            lines.append(f"  Fin : {describe_call(function, call)}")
    for dropped in observed.get("never_awaited") or []:
        lines.append(
            f"  RuntimeWarning : coroutine jamais attendue (never awaited) : {text.one_line(dropped)}"
        )
        at = _AT_LINE.search(str(dropped))
        code = _source_line(run, PART_FILES[run.part], int(at.group(1))) if at else ""
        if code:
            lines.append(f"      {code}")
    return lines


def _function(scenario: str) -> str:
    if scenario.startswith("download_"):
        return "download_and_save()"
    if scenario == Scenario.LOG_FORMAT:
        return "setup_logging()"
    return "main()" if scenario != Scenario.SCRIPT else "le script"


def _console(run: PartRun, scenario: ScenarioRun) -> list[str]:
    observed = scenario.observed or {}
    lines = [str(line) for line in observed.get("console") or []]
    lines += str(observed.get("printed") or "").splitlines()
    return [line for line in lines if line.strip()]


def _scenario(run: PartRun, scenario: ScenarioRun) -> list[str]:
    label = SCENARIO_LABELS.get(scenario.name, scenario.name)
    lines = [f"- Scénario « {text.one_line(scenario.name, text.MAX_NAME_CHARS)} » : {label}"]
    console = student_frames_only(_console(run, scenario), PART_FILES[run.part])
    lines.append(f"  Console : {len(console)} ligne(s)" + (" :" if console else ""))
    lines += _bounded(console, f"{run.folder}/")
    lines += _outcome(run, scenario, _function(scenario.name))
    return lines


def student_frames_only(lines: Iterable[str], file: str) -> list[str]:
    """``lines`` with every traceback frame outside the student's ``file`` left out (the frame
    line and the code under it), each run of hidden frames counted once; caret lines dropped."""
    kept: list[str] = []
    hidden = 0
    skipping = False  # under a hidden frame: its code, until the next frame or message
    for raw in lines:
        if _CARETS.match(raw):
            continue
        frame = _FRAME.match(raw)
        if frame:
            skipping = not frame["file"].endswith(file)
            if skipping:
                hidden += 1
                continue
            if hidden:
                kept.append(f"  ({hidden} appel(s) hors de vos fichiers masqué(s))")
                hidden = 0
            kept.append(f'  File "{file}", line {frame["line"]}, in {frame["function"] or "?"}')
            continue
        if skipping and not _ENDS_A_FRAME.match(raw.strip()):
            continue
        skipping = False
        if hidden:
            kept.append(f"  ({hidden} appel(s) hors de vos fichiers masqué(s))")
            hidden = 0
        kept.append(raw)
    if hidden:
        kept.append(f"  ({hidden} appel(s) hors de vos fichiers masqué(s))")
    return kept


def python_messages(run: PartRun) -> list[str]:
    """Python's own messages in the part's console (tracebacks, asyncio's warnings), with
    the frames of the kit and of the libraries left out; a message repeated is shown once."""
    lines = student_frames_only(run.console.splitlines(), PART_FILES[run.part])
    blocks: list[list[str]] = []
    in_traceback = False
    for line in lines:
        shown = f"  {_clean(line.replace(f'{run.folder}/', ''))}"
        if line.startswith("Traceback (most recent call last)"):
            if not in_traceback and not (blocks and blocks[-1][-1].endswith("never retrieved")):
                blocks.append([])
            in_traceback = True
        if in_traceback:
            if not blocks:
                blocks.append([])
            blocks[-1].append(shown)
        elif _PYTHON_MESSAGE.search(line):
            blocks.append([shown])
        if in_traceback and _ERROR_LINE.match(line):
            in_traceback = False
    counts: dict[tuple[str, ...], int] = {}
    for block in blocks:
        counts[tuple(block)] = counts.get(tuple(block), 0) + 1
    found: list[str] = []
    for shown_block, count in counts.items():
        found += shown_block
        if count > 1:
            found.append(f"  (ce message revient {count} fois)")
    if len(found) > MAX_MESSAGE_LINES:
        found = [*found[:MAX_MESSAGE_LINES], f"  … ({len(found) - MAX_MESSAGE_LINES} ligne(s) de plus)"]
    return found


def _part(run: PartRun) -> list[str]:
    lines = [f"=== {PART_TITLES[run.part]} ==="]
    problem = PartView(run).load_problem()
    if problem is not None:
        lines.append(f"  Le fichier n'a pas pu être corrigé : {text.one_line(str(problem), 1_000)}")
        if run.load and run.load.get("status") == "raised":
            lines += student_traceback(run, run.load)
        return lines
    for scenario in run.scenarios.values():
        try:
            lines += _scenario(run, scenario)
        except (AttributeError, LookupError, TypeError, ValueError):
            # Its report is the worker's claim, in any shape a forged channel gives it; -v only
            # shows it: a malformed one is said so, never a traceback in place of the report.
            label = text.one_line(scenario.name, text.MAX_NAME_CHARS)
            lines.append(f"- Scénario « {label} » : {MALFORMED}")
    messages = python_messages(run)
    if messages:
        lines += ["- Messages de Python dans la console (tracebacks, avertissements d'asyncio) :", *messages]
    return lines


def render(grade_run: GradeRun | None) -> str:
    """The -v section, or '' when nothing ran."""
    if grade_run is None:
        return ""
    lines: list[str] = [HEADER, ""]
    for run in grade_run.parts.values():
        lines += [*_part(run), ""]
    shown = text.multi_line("\n".join(lines), MAX_VERBOSE_CHARS)
    # What the student's code printed can never pass for the report's mark line.
    return "\n".join(text.defuse_marks(line.rstrip()) for line in shown.split("\n"))
