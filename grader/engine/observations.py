"""Reading the observations of a grade: what each scenario saw, in the checks' vocabulary.

A scenario that did not report (hung, crashed, never ran because the module does not
load) raises the matching outcome when a check asks for it, with the short cause that
the report repeats under every criterion it costs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.engine import text
from grader.engine.evidence import ServerStats
from grader.engine.french_numbers import fr_number
from grader.engine.outcomes import Broken, NotDone
from grader.engine.paths import PART_FILES
from grader.engine.plans import Image, Scenario
from grader.engine.sandbox import STREAM_CAP
from grader.engine.worker.protocol import LoadEnding, ScenarioEnding

if TYPE_CHECKING:
    from grader.engine.runs import PartRun, ScenarioRun

CRASH_HINT = (
    "lisez le message ci-dessus ; pour la trace complète, lancez votre script directement "
    "(bouton Run de PyCharm, ou poetry run python skeleton/…_downloader.py)."
)


# Every string below that comes from the student's process (names, messages, reprs, file
# names) goes through grader.engine.text before it joins a sentence: it can never start a
# line of the report, hide or reorder text, nor make results.json too big to write.


def _count(value: object) -> int:
    """A number the worker claims, as an int; 0 when it is not a plain number (a forged claim)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return 0
    return int(max(min(value, 1e12), -1e12))


def _seconds(value: object) -> float:
    """A duration the worker claims; 0.0 when it is not a plain finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    number = float(value)
    return number if number == number and abs(number) != float("inf") else 0.0


def _texts(value: object) -> list[str]:
    """A list of strings the worker claims; anything else in it is dropped."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _mapping(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def line_number(value: object) -> str:
    """A line number as digits only (the worker sends an int; anything else shows as « ? »)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b")


def without_tracebacks(lines: Iterable[str]) -> list[str]:
    """Console lines, less those of a printed traceback: its header, its indented frames and
    code, its carets, and its final « SomeError: … » line."""
    kept = []
    in_traceback = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("Traceback (most recent call last)") or "site-packages" in line:
            in_traceback = True
            continue
        if in_traceback and (line[:1].isspace() or not stripped or set(stripped) <= set("^~ ")):
            continue
        if in_traceback and (
            _EXCEPTION_LINE.match(stripped) or stripped.startswith(("During handling", "The above"))
        ):
            in_traceback = not _EXCEPTION_LINE.match(stripped)
            continue
        in_traceback = False
        kept.append(line)
    return kept


def chain_text(chain: Iterable[dict[str, Any]]) -> str:
    """« main, ligne 70 → download_and_save, ligne 52 »: the student's own call chain."""
    return " → ".join(
        f"{text.one_line(frame.get('function', '?'), text.MAX_NAME_CHARS)}, "
        f"ligne {line_number(frame.get('line'))}"
        for frame in chain
    )


def where(call: dict[str, Any]) -> str:
    chain = call.get("chain") or []
    if call.get("line") and not chain:
        return f" (ligne {line_number(call['line'])})"
    return f" ({chain_text(chain)})" if chain else ""


def shown_name(name: object) -> str:
    """A file name written by the student's code (maybe not UTF-8), safe to show."""
    return text.one_line(name, text.MAX_NAME_CHARS)


def shown_value(value: dict[str, Any]) -> str:
    """A returned value as the student would recognise it: a path by its file name only."""
    if value.get("type") == "Path":
        return f"le chemin de « {shown_name(Path(str(value['path'])).name)} »"
    if value.get("type") == "str":  # often a path written as text: shown like one, but said
        raw = str(value.get("repr", ""))
        inner = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" else raw
        return f"une chaîne de caractères (str) et non un Path : « {shown_name(inner.rsplit('/', 1)[-1])} »"
    return text.one_line(value.get("repr", "None"), text.MAX_VALUE_CHARS)


def describe_call(function: str, call: dict[str, Any]) -> str:
    """How a call ended, in one French sentence (for a call that did not return)."""
    status = call.get("status")
    if status == "exit":
        code = text.one_line(call.get("message"), text.MAX_VALUE_CHARS)
        return f"{function} a appelé sys.exit({code}){where(call)}"
    if status == "not_coroutine":
        return (
            f"{function} n'est pas une coroutine : dans la partie 2, "
            "elle doit être définie avec « async def »"
        )
    message = f" : {text.one_line(call['message'])}" if call.get("message") else ""
    return f"{function} a levé {text.type_name(call.get('exception'))}{message}{where(call)}"


@dataclass(frozen=True)
class ObservedConsole:
    """What the supervisor read on the worker's real console: the only proof that a line the
    worker reports as shown (a log line, a print) was shown at all."""

    text: str
    lines: frozenset[str]

    @classmethod
    def of(cls, console: str) -> ObservedConsole:
        return cls(console, frozenset(line.strip() for line in console.splitlines()))

    def shows_line(self, claimed: str) -> bool:
        return text.multi_line(claimed).strip() in self.lines

    def shows(self, claimed: str) -> bool:
        return text.multi_line(claimed).strip() in self.text


@dataclass
class ScenarioView:
    part: str
    run: ScenarioRun
    images: list[Image]
    shown: ObservedConsole = ObservedConsole("", frozenset())

    @property
    def observed(self) -> dict[str, Any]:
        assert self.run.observed is not None
        return self.run.observed

    # -- calls ---------------------------------------------------------------------------

    @property
    def calls(self) -> list[dict[str, Any]]:
        if "runs" in self.observed:
            return [run["call"] for run in self.observed["runs"]]
        return [self.observed["call"]]

    @property
    def failed_call(self) -> dict[str, Any] | None:
        return next((call for call in self.calls if call.get("status") != "ok"), None)

    @property
    def not_done(self) -> str:
        """The TODO met, or '' (setup_logging's counts too: the scenario relies on it)."""
        setup = self.observed.get("setup") or {}
        for call in [setup, *self.calls]:
            if call.get("status") == "not_done":
                return text.one_line(call.get("todo") or "TODO", text.MAX_NAME_CHARS)
        return ""

    def returned(self, index: int = 0) -> dict[str, Any]:
        return dict(self.calls[index].get("value") or {})

    def require_completed(self, function: str = "main()") -> None:
        """Raises NotDone or Broken unless every call returned normally."""
        if self.not_done:
            raise NotDone(self.not_done)
        failed = self.failed_call
        if failed is not None:
            raise Broken(describe_call(function, failed), CRASH_HINT)

    def crash_text(self, function: str = "main()") -> str:
        failed = self.failed_call
        return describe_call(function, failed) if failed else ""

    def escaped_error(self, function: str = "main()") -> str:
        """The exception that ended the call, said in French, or '' (a sys.exit() is not one)."""
        failed = self.failed_call or {}
        return self.crash_text(function) if failed.get("status") == "raised" else ""

    # -- what was seen ---------------------------------------------------------------------

    @property
    def longest_duration(self) -> float:
        """A ceiling for how long main() ran: the larger of the supervisor's timing (between two
        reports) and the worker's. The supervisor's reader may be late on a loaded machine, and
        read two reports at once: its figure alone could then fall below the real one."""
        seen = self.run.seconds_seen or 0.0
        return max(float(seen), max(self.walls, default=0.0))

    @property
    def walls(self) -> list[float]:
        """How long each call of main() took, as the worker timed it (a claim)."""
        runs = self.observed.get("runs")
        return [_seconds(_mapping(run).get("wall")) for run in runs] if isinstance(runs, list) else []

    def files(self, folder: str = "images") -> dict[str, bytes]:
        prefix = folder.rstrip("/") + "/"
        return {name: body for name, body in self.run.files.items() if name.startswith(prefix)}

    def files_elsewhere(self, folder: str = "images") -> list[str]:
        """The names (cleaned, for the report) of the files written outside ``folder``."""
        prefix = folder.rstrip("/") + "/"
        return [shown_name(name) for name in self.run.files if not name.startswith(prefix)]

    def saved(self, folder: str = "images") -> list[Image]:
        """The served images whose exact bytes are in a file of ``folder``."""
        contents = set(self.files(folder).values())
        return [image for image in self.images if image.body in contents]

    @property
    def never_awaited(self) -> list[str]:
        """Coroutines (or asyncio.gather()) created and never awaited, each with its line if known."""
        return [text.one_line(item, text.MAX_NAME_CHARS) for item in self.observed.get("never_awaited") or []]

    def never_awaited_text(self) -> str:
        """« asyncio.gather() (async_downloader.py, ligne 108) : cet appel n'est jamais attendu
        (await oublié) », or ''."""
        dropped = self.never_awaited
        if not dropped:
            return ""
        if len(dropped) == 1:
            return f"{dropped[0]} : cet appel n'est jamais attendu (await oublié)"
        return f"{' ; '.join(dropped)} : ces appels ne sont jamais attendus (await oublié)"

    @property
    def setup_logging_calls(self) -> int:
        """Script scenario: how many times the file's own block called setup_logging()."""
        return _count(self.observed.get("setup_logging_calls"))

    @property
    def root_level(self) -> int:
        """The root logger's level when the scenario ended (WARNING if logging was left alone)."""
        return _count(self.observed.get("root_level"))

    @property
    def write_opens(self) -> int:
        """How many files the student's code opened for writing in the output folder."""
        return _count(self.observed.get("writes"))

    @property
    def aiofiles_opens(self) -> int:
        """Part 2: how many files the student's code opened for writing with aiofiles.open()."""
        return _count(self.observed.get("aiofiles_writes"))

    @property
    def mkdir_calls(self) -> int:
        """How many times the student's code called os.mkdir on the output folder or its parents."""
        return _count(self.observed.get("mkdirs"))

    @property
    def traffic(self) -> dict[str, Any]:
        return _mapping(self.observed.get("traffic"))

    @property
    def loop_writes(self) -> list[str]:
        """Part 2: the files opened for writing from the event loop's own thread (blocking it)."""
        return _texts(self.observed.get("loop_writes"))

    @property
    def blocking_calls(self) -> list[str]:
        """Blocking calls (time.sleep, requests…) the worker saw made on the event loop's thread."""
        return _texts(self.observed.get("blocking"))

    @property
    def late_heartbeats(self) -> tuple[int, float]:
        """Part 2, loopback server: how many ticks of the grader's heartbeat came late, and the
        longest gap (seconds) between two ticks."""
        beats = _mapping(self.observed.get("beats"))
        return _count(beats.get("late")), _seconds(beats.get("max"))

    @property
    def handler_samples(self) -> list[dict[str, str]]:
        """log_format: for each console handler setup_logging() installed, the lines its formatter
        gave for sample records (keys info, info_later, error)."""
        handlers = self.observed.get("handlers")
        samples = [_mapping(handler) for handler in handlers] if isinstance(handlers, list) else []
        return [{key: str(value) for key, value in sample.items()} for sample in samples]

    @property
    def setup_status(self) -> str:
        """How the scenario's call of setup_logging() ended: « ok », « not_done »…, or ''."""
        return str(_mapping(self.observed.get("setup")).get("status", ""))

    @property
    def names(self) -> dict[str, str]:
        """log_messages: the file name filename_from_url() gives each URL."""
        names = _mapping(self.observed.get("names"))
        return {str(url): str(name) for url, name in names.items()}

    @property
    def urls(self) -> list[str]:
        """script: the URLs the script was given."""
        return _texts(self.observed.get("urls"))

    @property
    def download_span(self) -> float | None:
        """Seconds from the first request sent to the last reply handed over (mocked HTTP)."""
        span = self.traffic.get("span")
        return float(span) if isinstance(span, int | float) and not isinstance(span, bool) else None

    @property
    def requests_sent(self) -> int:
        return int(self.traffic.get("requests", 0))

    @cached_property
    def console(self) -> list[str]:
        """The lines the student's console handlers showed (reported, and seen by the supervisor)."""
        return [str(line) for line in self.observed.get("console") or [] if self.shown.shows_line(str(line))]

    @cached_property
    def console_messages(self) -> list[str]:
        """The console lines without the tracebacks printed among them (asyncio's « exception
        was never retrieved », logger.exception…): their frames belong to libraries, never
        to a report."""
        return without_tracebacks(self.console)

    @cached_property
    def records(self) -> list[tuple[int, str]]:
        """Every log record created, with its level; only those whose message was shown."""
        reported = self.observed.get("records") or []
        return [(int(level), str(message)) for level, message in reported if self.shown.shows(str(message))]

    @cached_property
    def printed(self) -> str:
        """What print() wrote during main(), line by line as the supervisor saw it."""
        lines = str(self.observed.get("printed", "")).splitlines()
        return "\n".join(line for line in lines if line.strip() and self.shown.shows_line(line))

    def errors_logged(self) -> int:
        return len([1 for level, _ in self.records if level >= 40])


@dataclass
class PartView:
    run: PartRun

    @property
    def part(self) -> str:
        return self.run.part

    @property
    def file_name(self) -> str:
        return PART_FILES[self.part]

    @property
    def source(self) -> str:
        """The student's file, as the supervisor read it (empty if it could not)."""
        return self.run.source

    def load_problem(self) -> Exception | None:
        """Why the module cannot be graded at all, as the outcome to raise; None if it loads."""
        run = self.run
        name = self.file_name
        if run.load_ending is LoadEnding.REFUSED:
            return Broken(
                text.one_line(run.refused, 1_000), "Déposez vos fichiers .py eux-mêmes, pas des liens."
            )
        if run.load_ending is LoadEnding.UNREADABLE:
            return Broken(
                f"les fichiers écrits par {name} n'ont pas pu être relus par la correction",
                "Votre programme doit écrire des images dans son dossier de sortie, rien d'autre.",
            )
        if run.load_ending is LoadEnding.MISSING:  # a part not handed in: incomplete, not broken
            return NotDone(f"fichier absent : {name}")
        if run.load_ending is LoadEnding.HUNG:
            chain = chain_text(run.load_chain)
            at = f" ({chain})" if chain else ""
            return Broken(
                f"{name} tourne encore après {fr_number(3, 0)} s pendant l'import{at}",
                "Le code au niveau du module ne doit rien lancer : placez l'appel de main() dans "
                'le bloc « if __name__ == "__main__": ».',
            )
        if run.load_ending is LoadEnding.CRASHED or run.load is None:
            return Broken(f"le processus qui importe {name} s'est arrêté brutalement", CRASH_HINT)
        call = run.load
        if call.get("status") == "not_done":
            return NotDone(text.one_line(call.get("todo") or "TODO", text.MAX_NAME_CHARS))
        if call.get("status") != "ok":
            if call.get("exception") in ("SyntaxError", "IndentationError", "TabError"):
                line = f", ligne {line_number(call['line'])}" if call.get("line") else ""
                message = text.one_line(call.get("message"))
                return Broken(
                    f"{name} ne se charge pas : erreur de syntaxe ({name}{line}) : {message}",
                    "Ouvrez le fichier dans PyCharm : la ligne fautive est soulignée en rouge.",
                )
            if call.get("status") == "exit":
                return Broken(
                    f"{name} appelle sys.exit() pendant l'import{where(call)}",
                    "Ne quittez pas le programme au niveau du module : le "
                    'bloc « if __name__ == "__main__": » '
                    "est là pour ça.",
                )
            return Broken(f"impossible d'importer {name} : {describe_call('le module', call)}", CRASH_HINT)
        return None

    def server(self, name: Scenario) -> ServerStats:
        """The loopback server of scenario ``name``, as the supervisor saw it (empty if none ran)."""
        return self.run.servers.get(str(name)) or ServerStats()

    def scenario(self, name: Scenario) -> ScenarioView:
        """The scenario's observations; raises the outcome when there are none."""
        problem = self.load_problem()
        if problem is not None:
            raise problem
        run = self.run.scenarios.get(str(name))
        if run is None:
            raise Broken("scénario non joué (erreur interne du correcteur)")
        if run.ending is ScenarioEnding.HUNG:
            chain = chain_text(run.chain)
            # Stopped by the part's deadline before its own, a scenario may have no stack to show.
            if chain:
                raise Broken(
                    f"votre code tourne encore après le délai imparti (boucle infinie ?) : {chain}",
                    "Repérez la boucle qui ne se termine pas (ou l'attente sans fin) à l'endroit indiqué.",
                )
            raise Broken(
                "votre code tourne encore après le délai imparti (boucle infinie ?)",
                "Quelle boucle de votre code peut ne jamais se terminer, ou quelle attente ne jamais finir ?",
            )
        if run.ending is ScenarioEnding.CRASHED:
            raise Broken(
                "le processus qui exécutait votre code s'est arrêté "
                "brutalement (récursion infinie ? mémoire ?)"
            )
        if run.ending is ScenarioEnding.SKIPPED:
            raise Broken(
                "non vérifié : votre code a déjà épuisé le temps de "
                "correction de cette partie (boucle infinie ?)"
            )
        if run.ending is ScenarioEnding.NOT_LOADED:
            raise Broken("le module ne se charge plus")
        return ScenarioView(self.part, run, self.run.plan.images.get(str(name), []), self.shown)

    @cached_property
    def shown(self) -> ObservedConsole:
        return ObservedConsole.of(self.run.console)


def part_notes(run: PartRun) -> list[str]:
    """Advice that belongs to no check: blocked accesses, input() calls (each said once)."""
    blocked = [*run.blocked]
    found: list[str] = []
    for scenario in run.scenarios.values():
        observed = scenario.observed or {}
        blocked += list(observed.get("blocked", []))
        found += list(observed.get("notes", []))
    # What the guard refused quotes paths and hosts chosen by the student's code.
    found = [
        f"refusé par le correcteur, qui travaille hors ligne et isolé : {text.one_line(what)}"
        for what in blocked
    ] + [text.one_line(note) for note in found]
    if run.console_truncated:
        found.append(
            f"votre programme affiche énormément de texte : seuls les {STREAM_CAP // 1024**2} premiers Mio "
            "ont été lus, et ce qui s'affiche après n'a pas pu être pris en compte."
        )
    return list(dict.fromkeys(found))[:8]
