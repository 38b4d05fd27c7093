"""Making text that a student controls safe to show: the one place where this is defined.

A student's code chooses exception class names and messages, file names (not always valid
UTF-8), console output and the repr of what it returns. Any of these can reach the grade
report, so before it does it goes through one of these functions:

- :func:`one_line` for a string shown inside a sentence: no line break of any kind, no
  invisible or control character, no terminal escape, no lone surrogate, and a length cap;
- :func:`multi_line` for a block whose line breaks are the grader's own (the report):
  ``\\n`` and ``\\t`` kept, every other dangerous character removed;
- :func:`json_safe` for a document about to be encoded as UTF-8 JSON;
- :func:`looks_like_mark_line` and :func:`defuse_marks`, with which the report keeps its own
  « Note : » line the only one.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

ELLIPSIS = "…"
REPLACEMENT = "\ufffd"  # what a lone surrogate (an undecodable byte of a file name) becomes

# Caps, in characters, for one student string shown inside a sentence of the report.
MAX_TYPE_NAME_CHARS = 80  # an exception class name: real ones are short
MAX_NAME_CHARS = 120  # a function or file name
MAX_VALUE_CHARS = 200  # the repr of a returned value
MAX_MESSAGE_CHARS = 300  # an exception message, a console line, a note
# A cleaned string is read at most this many times its cap: bounded work for any input.
_RAW_FACTOR = 8

# Every character that starts a new line somewhere: terminals, editors, JSON viewers, browsers.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_LINE_BREAK_RUN = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")
# Terminal escape sequences as a whole, so that their parameters do not stay behind as text
# (CSI, OSC up to BEL or ST, DCS/SOS/PM/APC strings, two-character escapes, 8-bit CSI).
_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
)
_SURROGATE = re.compile("[\ud800-\udfff]")

# « Note : 20/20 », « NOTE: 20 / 20 », « **Note** : 20/20 »… once NFKC-normalised (so that
# full-width letters and digits count too).
_MARK_LINE = re.compile(r"^\W*note(?![^\W\d_])", re.IGNORECASE)
_MARK_FRAGMENT = re.compile(r"note\W{0,8}\d+(?:[.,]\d+)?\s*/\s*\d+(?:[.,]\d+)?", re.IGNORECASE)
FAKE_MARK = "[fausse note retirée]"
FAKE_MARK_LINE = "[ligne retirée : elle imitait la ligne de la note]"


@cache
def _shown(character: str, multi: bool) -> str:
    """What one character becomes (cached: the categories are looked up once per character)."""
    if character in _LINE_BREAKS:
        return "\n" if multi else " "
    if character == "\t":
        return "\t" if multi else " "
    category = unicodedata.category(character)
    if category == "Cs":
        return REPLACEMENT  # JSON cannot encode it as UTF-8, and it shows nothing useful
    if category in ("Cc", "Cf"):
        # Cc: NUL, ESC, DEL, C1 controls… Cf: bidi overrides and isolates, zero-width
        # characters, BOM: they reorder or hide what the reader sees.
        return ""
    return character


def _clean(text: str, multi: bool) -> str:
    text = _ESCAPE.sub("", text.replace("\r\n", "\n"))
    if multi:
        return "".join(_shown(character, True) for character in text)
    return "".join(_shown(character, False) for character in _LINE_BREAK_RUN.sub(" ", text))


def _capped(cleaned: str, limit: int | None, cut: bool) -> str:
    if limit is None or (not cut and len(cleaned) <= limit):
        return cleaned
    return cleaned[: max(limit - len(ELLIPSIS), 0)].rstrip() + ELLIPSIS


def _read(text: object, limit: int | None) -> tuple[str, bool]:
    """The raw string, cut to a bounded length before any work; and whether it was cut."""
    raw = text if isinstance(text, str) else str(text)
    if limit is None or len(raw) <= limit * _RAW_FACTOR:
        return raw, False
    return raw[: limit * _RAW_FACTOR], True


def one_line(text: object, limit: int | None = MAX_MESSAGE_CHARS) -> str:
    """A student string made safe to show inside one line of the report.

    Line breaks (``\\n``, ``\\r``, U+2028, U+2029, U+0085…) and tabs become spaces (a run of
    breaks, one space); control and format characters (bidi overrides, zero-width…) and
    terminal escapes are removed; lone surrogates become U+FFFD. At most ``limit``
    characters (``None``: no cap), « … » ending a cut string.
    """
    raw, cut = _read(text, limit)
    return _capped(_clean(raw, multi=False).strip(), limit, cut)


def type_name(text: object) -> str:
    """An exception class name, as :func:`one_line` with its own small cap."""
    return one_line(text, MAX_TYPE_NAME_CHARS)


def multi_line(text: object, limit: int | None = None) -> str:
    """A block of text made safe to show: like :func:`one_line`, but ``\\n`` and ``\\t`` kept.

    Every other line break (``\\r``, U+2028, U+2029, U+0085…) becomes ``\\n``: the lines a
    reader sees are the lines the text has, so the report can check each of them.
    """
    raw, cut = _read(text, limit)
    return _capped(_clean(raw, multi=True), limit, cut)


def looks_like_mark_line(line: str) -> bool:
    """True for a line that a reader could take for the report's « Note : » line."""
    return bool(_MARK_LINE.match(unicodedata.normalize("NFKC", line)))


def defuse_marks(line: str) -> str:
    """One line of the report, unable to pass for a mark: neither as a line nor inside one.

    A line that looks like the mark line is replaced (its indentation kept); a fragment such
    as « Note : 20/20 » inside a line is replaced by « [fausse note retirée] ». Anything
    else is returned unchanged.
    """
    normal = unicodedata.normalize("NFKC", line)
    if _MARK_LINE.match(normal):
        indent = line[: len(line) - len(line.lstrip())]
        return f"{indent}{FAKE_MARK_LINE}"
    if _MARK_FRAGMENT.search(normal):
        return _MARK_FRAGMENT.sub(FAKE_MARK, normal)
    return line


def json_safe(value: Any) -> Any:
    """``value`` with every string (keys too) encodable as UTF-8: lone surrogates → U+FFFD.

    ``json.dumps(..., ensure_ascii=False)`` keeps lone surrogates, and encoding the result
    then fails: cleaning first means the document is always written.
    """
    if isinstance(value, str):
        return _SURROGATE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {json_safe(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


# What the report prints, for a console that cannot show it (Windows' cp1252 when the output
# is a pipe or a file, an ASCII terminal): symbols fall back to plain characters.
CONSOLE_FALLBACKS = {
    "✓": "v", "✗": "x", "■": "#", "•": "-", "→": "->", "«": '"', "»": '"', "…": "...", "×": "x",
    "’": "'", "≈": "~", "≤": "<=", "≥": ">=", "—": "-", "–": "-", "\u202f": " ", "\u00a0": " ",
}  # fmt: skip


def for_console(text: str, encoding: str | None) -> str:
    """``text`` as the console can print it: unchanged when it can, else symbols and accents
    replaced one by one (never an UnicodeEncodeError on a student's screen)."""
    target = encoding or "utf-8"
    try:
        text.encode(target)
        return text
    except UnicodeEncodeError:
        pass
    except LookupError:
        target = "ascii"
    shown = []
    for character in text:
        try:
            character.encode(target)
            shown.append(character)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", character).encode("ascii", "ignore").decode("ascii")
            shown.append(CONSOLE_FALLBACKS.get(character) or plain or "?")
    return "".join(shown)
