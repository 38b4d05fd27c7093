"""The reflection question (not graded): read the student's answer in REPONSES.md and report it.

Pure functions, to be called by the grader's report (see the kit's README for the wiring):

- :func:`read_answer` reads ``REPONSES.md`` in the graded folder and returns a
  :class:`Reflection` (the answer is what follows the marker line);
- :func:`count_words` counts the words of a text;
- :func:`render_block` gives the short French block for the console report;
- :func:`answer_for_results` gives the answer, capped and without control characters, for
  ``results.json``.

Nothing here awards points: the question is discussed in class, the grader only says whether
an answer is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from grader.engine import text as safe_text

ANSWERS_FILE = "REPONSES.md"
MARKER = "<!-- Votre réponse ci-dessous -->"
MAX_ANSWER_CHARS = 4000
MAX_FILE_BYTES = 1_000_000  # a runaway file is read only this far

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
# « l'asynchrone », « entrées-sorties », « 4,09 » : one word each.
_WORD = re.compile(r"[^\W_]+(?:(?:[-'’]|(?<=\d)[.,](?=\d))[^\W_]+)*")


class Status(Enum):
    WRITTEN = "écrite"
    EMPTY = "vide"  # the marker is there, nothing (or only comments) below it
    NO_MARKER = "sans repère"  # REPONSES.md exists but the marker line was removed
    MISSING = "absente"  # no REPONSES.md in the folder
    UNREADABLE = "illisible"  # the file exists but cannot be read (rights, not UTF-8…)


@dataclass(frozen=True)
class Reflection:
    status: Status
    answer: str = ""  # the text below the marker, comments removed, stripped
    words: int = 0
    detail: str = ""  # why the file could not be read, for UNREADABLE


def count_words(text: str) -> int:
    """Words made of letters or digits; « l'asynchrone » and « 4,09 » each count once."""
    return len(_WORD.findall(_HTML_COMMENT.sub(" ", text)))


def extract_answer(text: str) -> tuple[Status, str]:
    """The answer below the marker line (HTML comments removed), and its status."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    _, marker, after = text.partition(MARKER)
    if not marker:
        return Status.NO_MARKER, ""
    answer = _HTML_COMMENT.sub("", after).strip()
    return (Status.WRITTEN, answer) if answer else (Status.EMPTY, "")


def read_answer(folder: Path) -> Reflection:
    """Reads ``folder/REPONSES.md``; never raises for a missing or unreadable file."""
    path = folder / ANSWERS_FILE
    if not path.is_file() or path.is_symlink():  # a link could show someone else's answer
        return Reflection(Status.MISSING)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES)
        text = raw.decode("utf-8")
    except OSError as error:
        return Reflection(Status.UNREADABLE, detail=f"{type(error).__name__} : {error}")
    except UnicodeDecodeError as error:
        return Reflection(Status.UNREADABLE, detail=f"le fichier n'est pas en UTF-8 (octet {error.start})")
    status, answer = extract_answer(text)
    return Reflection(status, answer, count_words(answer))


def _words(count: int) -> str:
    return f"{count} mot" if count == 1 else f"{count} mots"


DEMO_COMMAND = "poetry run -- nox -s demo -- skeleton"
NOT_MEASURED = "pas encore mesuré"  # what the demo's line to paste says for a run that did not finish
_DURATION_SHOWN = re.compile(r"(?<![\w,.])\d+(?:[.,]\d+)?\s*(?:ms|s|sec|secondes?)(?![\w])", re.IGNORECASE)


def figures_missing(answer: str) -> str:
    """What the answer still lacks of the demo's two durations, in French ('' if nothing)."""
    if NOT_MEASURED in answer:
        return (
            f"la ligne de mesures collée dit encore « {NOT_MEASURED} » : finissez les deux parties, "
            f"relancez « {DEMO_COMMAND} » et collez la nouvelle ligne"
        )
    found = len(set(_DURATION_SHOWN.findall(answer)))
    if found >= 2:
        return ""
    if found == 1:
        return f"une seule durée y figure : ajoutez l'autre (sync ou async), donnée par « {DEMO_COMMAND} »"
    return f"appuyez-la sur vos propres chiffres de « {DEMO_COMMAND} »"


def render_block(reflection: Reflection) -> str:
    """The French lines for the console report (no points: the question is not graded)."""
    title = "Question de réflexion (non notée)"
    if reflection.status is Status.WRITTEN:
        missing = figures_missing(reflection.answer)
        lacking = f" ; {missing}" if missing else ", avec vos mesures"
        return f"{title} : réponse écrite, {_words(reflection.words)}{lacking}."
    if reflection.status is Status.EMPTY:
        return f"{title} : pas encore de réponse dans {ANSWERS_FILE} (écrivez sous la ligne « {MARKER} »)."
    if reflection.status is Status.NO_MARKER:
        return (
            f"{title} : la ligne « {MARKER} » manque dans {ANSWERS_FILE} ; remettez-la au-dessus "
            "de votre réponse pour qu'elle soit retrouvée."
        )
    if reflection.status is Status.UNREADABLE:
        return f"{title} : {ANSWERS_FILE} illisible ({reflection.detail})."
    return f"{title} : pas de fichier {ANSWERS_FILE} dans le dossier corrigé."


def answer_for_results(reflection: Reflection, limit: int = MAX_ANSWER_CHARS) -> str:
    """The answer for results.json: cleaned like any student text, at most ``limit`` characters."""
    cleaned = safe_text.multi_line(reflection.answer)
    if len(cleaned) <= limit:
        return cleaned
    ellipsis = " […]"
    return cleaned[: max(limit - len(ellipsis), 0)].rstrip() + ellipsis
