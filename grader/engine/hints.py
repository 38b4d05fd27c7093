"""Hints that deepen step by step: three levels for each criterion of the scale.

1. a question that points the way: the hint each check already gives (« Piste : … »);
2. the concept, with the page of the documentation that explains it (:data:`CONCEPTS`,
   defined here once per criterion);
3. where it happens in the student's code: the function to read (and its line), the lines
   that touch the concept, and what the check observed there.

None of them gives the answer. The level comes from the local history (grader/engine/history.py):
a criterion lost in 1 or 2 grades in a row gets level 1, 3 or 4 in a row level 2, 5 and more
level 3; ``--indices tous`` shows every level at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from grader.engine import text
from grader.engine.criteria import CRITERIA
from grader.engine.paths import PART_FILES

# Consecutive lost grades from which a level shows: 1–2 → 1, 3–4 → 2, 5 and more → 3.
LEVEL_THRESHOLDS = ((5, 3), (3, 2), (1, 1))
MAX_LEVEL = 3
ALL_LEVELS = "tous"
AUTO_LEVELS = "auto"
MAX_POINTED_LINES = 3
MAX_CODE_CHARS = 90
UNCORROBORATED = "Vérification non comptée"  # how grader/conftest.py opens an uncorroborated check


def level_for(streak: int) -> int:
    """The hint level for a criterion lost ``streak`` grades in a row (this one included)."""
    return next((level for threshold, level in LEVEL_THRESHOLDS if streak >= threshold), 1)


@dataclass(frozen=True)
class Concept:
    """Level 2: the notion behind a criterion, and where the documentation explains it."""

    notion: str
    links: tuple[str, ...]


@dataclass(frozen=True)
class Place:
    """Level 3: the functions to read, and the source lines that touch the concept."""

    functions: tuple[str, ...]
    pattern: str  # a regular expression: a line of the student's code worth rereading


_PYTHON = "https://docs.python.org/3/library"
_REQUESTS = "https://requests.readthedocs.io/en/latest/user"
_AIOHTTP = "https://docs.aiohttp.org/en/stable"
_MKDIR = f"{_PYTHON}/pathlib.html#pathlib.Path.mkdir"
_LOGGING = f"{_PYTHON}/logging.html#logging.basicConfig"
_LOGGING_HOWTO = "https://docs.python.org/3/howto/logging.html"
_PERF_COUNTER = f"{_PYTHON}/time.html#time.perf_counter"

_DIRECTORY = Concept(
    "Path.mkdir() crée un dossier ; ses paramètres parents et exist_ok décident de ce qui se passe "
    "quand les dossiers parents manquent, ou quand le dossier existe déjà.",
    (_MKDIR,),
)
_LOGGING_CONCEPT = (
    "Le module logging affiche chaque message avec un niveau (INFO, ERROR…) ; logging.basicConfig() "
    "choisit le niveau minimal affiché et le format de chaque ligne (heure, niveau, message). print() "
    "n'a ni niveau ni format."
)
_TIMING = Concept(
    "time.perf_counter() donne une horloge faite pour mesurer des durées : on la lit avant et après "
    "le travail, et la différence est la durée en secondes.",
    (_PERF_COUNTER,),
)

CONCEPTS: dict[str, Concept] = {
    "sync.download": Concept(
        "Une réponse de requests donne son corps en octets avec response.content ; une image s'écrit "
        "en mode binaire, par exemple avec Path.write_bytes().",
        (
            f"{_REQUESTS}/quickstart/#binary-response-content",
            f"{_PYTHON}/pathlib.html#pathlib.Path.write_bytes",
        ),
    ),
    "sync.session": Concept(
        "Une requests.Session garde ses connexions ouvertes d'une requête à l'autre : créée une fois, "
        "elle sert à toutes les requêtes, et chaque fonction la reçoit en paramètre.",
        (f"{_REQUESTS}/advanced/#session-objects",),
    ),
    "sync.directory": _DIRECTORY,
    "sync.errors": Concept(
        "requests ne lève rien pour une réponse 404 ou 500 tant qu'on n'appelle pas "
        "response.raise_for_status() ; les erreurs réseau héritent de requests.RequestException, "
        "celles du disque de OSError. Un bloc try/except rattrape les exceptions qu'il nomme, dans "
        "l'ordre de ses clauses except.",
        (f"{_REQUESTS}/quickstart/#errors-and-exceptions", "https://docs.python.org/3/tutorial/errors.html"),
    ),
    "sync.logging": Concept(_LOGGING_CONCEPT, (_LOGGING_HOWTO, _LOGGING)),
    "sync.timing": _TIMING,
    "async.download": Concept(
        "Avec aiohttp, session.get() s'utilise dans un « async with », et le corps de la réponse "
        "s'obtient en octets avec « await response.read() ».",
        (f"{_AIOHTTP}/client_quickstart.html#binary-response-content",),
    ),
    "async.session": Concept(
        "Une aiohttp.ClientSession contient le réservoir de connexions : on en ouvre une seule "
        "(« async with ») pour toutes les requêtes, et on la passe aux coroutines qui téléchargent.",
        (f"{_AIOHTTP}/client_advanced.html#client-session",),
    ),
    "async.directory": _DIRECTORY,
    "async.errors": Concept(
        "aiohttp ne lève rien pour une réponse 404 ou 500 sans response.raise_for_status() (ou "
        "raise_for_status=True) ; ses erreurs réseau héritent de aiohttp.ClientError, un délai dépassé "
        "est une TimeoutError, et les erreurs du disque sont des OSError.",
        (
            f"{_AIOHTTP}/client_reference.html#aiohttp.ClientResponse.raise_for_status",
            f"{_AIOHTTP}/client_reference.html#client-exceptions",
        ),
    ),
    "async.logging": Concept(_LOGGING_CONCEPT, (_LOGGING_HOWTO, _LOGGING)),
    "async.timing": _TIMING,
    "async.files": Concept(
        "open() et Path.write_bytes() bloquent la boucle d'événements pendant l'écriture ; "
        "aiofiles.open() s'utilise dans un « async with », et son write() s'attend avec await.",
        ("https://pypi.org/project/aiofiles/", f"{_PYTHON}/asyncio-dev.html#running-blocking-code"),
    ),
    "async.concurrency": Concept(
        "Appeler une coroutine ne l'exécute pas : elle ne tourne qu'attendue (await) ou confiée à la "
        "boucle ; asyncio.gather() attend plusieurs coroutines en même temps, et un appel bloquant "
        "(time.sleep, requests) arrête toutes les autres.",
        (
            f"{_PYTHON}/asyncio-task.html#running-tasks-concurrently",
            f"{_PYTHON}/asyncio-dev.html#detect-never-awaited-coroutines",
        ),
    ),
}

_SYNC_DOWNLOAD = r"\.get\(|\.content\b|write_bytes|open\("
_ASYNC_DOWNLOAD = r"\.get\(|\.read\(\)|write\(|open\("
_ERRORS = r"^\s*(try\s*:|except\b)|raise_for_status"
_LOG_LINES = r"basicConfig|logging\.|logger\.|\bprint\("
_CLOCK = r"perf_counter|time\.time\(|monotonic"

PLACES: dict[str, Place] = {
    "sync.download": Place(("download_and_save", "main"), _SYNC_DOWNLOAD),
    "sync.session": Place(("main", "download_and_save"), r"Session\b|requests\.get\(|\.get\("),
    "sync.directory": Place(("main",), r"mkdir"),
    "sync.errors": Place(("download_and_save",), _ERRORS),
    "sync.logging": Place(("setup_logging", "download_and_save", "main"), _LOG_LINES),
    "sync.timing": Place(("main",), _CLOCK),
    "async.download": Place(("download_and_save", "main"), _ASYNC_DOWNLOAD),
    "async.session": Place(("main", "download_and_save"), r"ClientSession|\.get\("),
    "async.directory": Place(("main",), r"mkdir"),
    "async.errors": Place(("download_and_save",), _ERRORS),
    "async.logging": Place(("setup_logging", "download_and_save", "main"), _LOG_LINES),
    "async.timing": Place(("main",), _CLOCK),
    "async.files": Place(("download_and_save",), r"aiofiles|open\(|write_bytes|\.write\("),
    "async.concurrency": Place(("main",), r"gather|create_task|TaskGroup|\bawait\b|time\.sleep"),
}

assert set(CONCEPTS) == set(PLACES) == {c.id for c in CRITERIA}, "un indice par critère du barème"


# --- level 3: where, in the student's code ------------------------------------------------------

_DEF = re.compile(r"^(?P<indent>\s*)(?:async\s+)?def\s+(?P<name>\w+)\s*\(")


@dataclass(frozen=True)
class FunctionSpan:
    name: str
    first: int  # line of the « def », from 1
    last: int


def function_spans(source: str) -> dict[str, FunctionSpan]:
    """Top-level functions of ``source``, found by reading lines (the code is never run or parsed)."""
    lines = source.splitlines()
    found: dict[str, FunctionSpan] = {}
    starts = [
        (index, match["name"])
        for index, line in enumerate(lines)
        if (match := _DEF.match(line)) and not match["indent"]
    ]
    for position, (index, name) in enumerate(starts):
        end = len(lines)
        for later in range(index + 1, len(lines)):
            line = lines[later]
            if line.strip() and not line[0].isspace() and not line.lstrip().startswith(("#", ")")):
                end = later
                break
        if position + 1 < len(starts):
            end = min(end, starts[position + 1][0])
        found.setdefault(name, FunctionSpan(name, index + 1, end))
    return found


def _code(line: str) -> str:
    shown = text.one_line(line.strip(), MAX_CODE_CHARS)
    return f"« {shown} »"


# A call chain as the checks write it: « (main, ligne 110 → download_and_save, ligne 81) ».
_CHAIN = re.compile(r"(?:\(|: )((?:[\w<>]+, ligne \d+)(?: → [\w<>]+, ligne \d+)*)\)?")
_FRAME = re.compile(r"([\w<>]+), ligne (\d+)$")


def _stopped_at(observed: str, source: str, file_name: str) -> str:
    """Where the observation says the code was (the last frame of its call chain), with its code."""
    chain = _CHAIN.search(observed)
    if chain is None:
        return ""
    frames = [_FRAME.search(frame) for frame in chain.group(1).split(" → ")]
    named = [frame for frame in frames if frame is not None]
    if not named:
        return ""
    # The innermost frame that is a function of theirs (not a <genexpr> or a <lambda> inside it).
    last = next((frame for frame in reversed(named) if not frame.group(1).startswith("<")), named[-1])
    function, number = last.group(1), int(last.group(2))
    lines = source.splitlines()
    code = f" {_code(lines[number - 1])}" if 0 < number <= len(lines) else ""
    shown = f"{function}()" if not function.startswith("<") else function
    return f"{shown} ({file_name}, ligne {number}){code}, là où la correction a vu votre code"


def where_in_code(criterion: str, source: str, observed: str) -> str:
    """Level 3: where the observation located the code (its call chain), else the function to
    read with its line; the lines touching the concept; and what the check observed
    (``observed``: the first lost check's observation, already cleaned)."""
    part = criterion.split(".", 1)[0]
    file_name = PART_FILES.get(part, "")
    place = PLACES[criterion]
    spans = function_spans(source)
    lines = source.splitlines()
    pattern = re.compile(place.pattern)
    stopped = _stopped_at(observed, source, file_name)
    pieces: list[str] = [stopped] if stopped else []
    for name in place.functions:
        span = spans.get(name)
        if span is None:
            continue
        pointed = [
            f"ligne {number} {_code(lines[number - 1])}"
            for number in range(span.first + 1, span.last + 1)
            if pattern.search(lines[number - 1]) and not lines[number - 1].lstrip().startswith("#")
        ][:MAX_POINTED_LINES]
        at = f"{name}() ({file_name}, ligne {span.first})"
        pieces.append(f"{at} : relisez {', '.join(pointed)}" if pointed else at)
        break
    if not pieces:
        names = " ou ".join(f"{name}()" for name in place.functions)
        pieces.append(f"regardez {names} dans {file_name}")
    seen = f" Ce qui a été observé : {observed}" if observed else ""
    return f"{' ; '.join(pieces)}.{seen}"


# --- rendering ------------------------------------------------------------------------------------


def concept_text(criterion: str) -> str:
    concept = CONCEPTS[criterion]
    return f"{concept.notion} Documentation : {' ; '.join(concept.links)}"


def deeper_lines(criterion: str, level: int, source: str, observations: Sequence[str]) -> list[str]:
    """The lines of levels 2 and 3 shown under a lost criterion (level 1 is each check's hint)."""
    lines: list[str] = []
    if level >= 2:
        lines.append(f"Indice 2 (la notion) : {concept_text(criterion)}")
    if level >= MAX_LEVEL:
        # « Vérification non comptée » says why a claim was not trusted, not what the code did.
        telling = [o for o in observations if o and not o.startswith(UNCORROBORATED)]
        first = next(iter(telling or [o for o in observations if o]), "")
        lines.append(f"Indice 3 (votre code) : {where_in_code(criterion, source, first)}")
    return lines


def observed_part(message: str) -> str:
    """What a check observed, without its « Piste : » (the level 1 hint, already shown)."""
    return text.one_line(message.split("\nPiste : ", 1)[0], text.MAX_MESSAGE_CHARS)


def levels_line(levels: Iterable[int], shown_all: bool) -> str:
    """One line under « Points perdus » that says how the hints deepen."""
    if shown_all:
        return "Indices : tous les niveaux sont affichés (--indices tous)."
    deepest = max(levels, default=1)
    if deepest >= MAX_LEVEL:
        return "Indices : niveau 3 atteint pour au moins un critère (où regarder dans votre code)."
    steps = ", ".join(f"niveau {level} à la {threshold}e" for threshold, level in LEVEL_THRESHOLDS[-2::-1])
    return (
        "Indices : ils s'approfondissent quand un critère reste perdu d'une correction à l'autre "
        f"({steps}) ; tous d'un coup : poetry run -- nox -s grade -- DOSSIER --indices tous"
    )
