"""The local history of grades: one JSON line per grade in ``.correction/historique.jsonl``.

Only the student's own ``nox -s grade`` writes it (the plugin's ``--historique`` option, which
batch grading and the platform bundles never pass). Each line holds the time, the graded
folder, the mark and the criteria lost or not done. The hints deepen from it
(grader/engine/hints.py) and ``nox -s progres`` shows it (grader/tools/progres.py).

A grade appends one line in one write. A line that cannot be read (cut by a crash, edited by
hand) is skipped, never fatal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader.engine.criteria import BY_ID, TOTAL_POINTS
from grader.engine.paths import KIT_ROOT

HISTORY_NAME = ".correction/historique.jsonl"  # in the kit's folder; git ignores it
HISTORY_FILE = KIT_ROOT / HISTORY_NAME
MAX_READ_BYTES = 2_000_000  # a history grown past this is read from its end only
MAX_ENTRIES = 2_000


@dataclass(frozen=True)
class Entry:
    """One grade: when, which folder, the mark, and the criteria lost (« à revoir ») or not done."""

    time: str  # ISO 8601, local time, to the second
    target: str
    mark: float
    lost: tuple[str, ...]
    not_done: tuple[str, ...] = ()

    def to_json(self) -> str:
        document = {
            "date": self.time,
            "dossier": self.target,
            "note": self.mark,
            "perdus": list(self.lost),
            "pas_faits": list(self.not_done),
        }
        return json.dumps(document, ensure_ascii=False)

    @property
    def passed(self) -> frozenset[str]:
        return frozenset(BY_ID) - set(self.lost) - set(self.not_done)


def now() -> str:
    return datetime.now().replace(microsecond=0).isoformat()


def _criteria(value: object) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(item, str) and item in BY_ID for item in value):
        return None
    return tuple(value)


def parse_line(line: str) -> Entry | None:
    """The entry on one line, or None when the line is not one (cut, edited, unknown criteria)."""
    try:
        document = json.loads(line)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    time, target, mark = document.get("date"), document.get("dossier"), document.get("note")
    lost, not_done = _criteria(document.get("perdus")), _criteria(document.get("pas_faits", []))
    if not isinstance(time, str) or not isinstance(target, str) or lost is None or not_done is None:
        return None
    # A mark of ours lies in [0, 20]: NaN, ±Infinity and a 400-digit integer (float() raises
    # OverflowError on it, which would end every later grade) are lines edited by hand.
    if isinstance(mark, bool) or not isinstance(mark, int | float) or not 0 <= mark <= TOTAL_POINTS:
        return None
    try:
        datetime.fromisoformat(time)
    except ValueError:
        return None
    return Entry(time, target, float(mark), lost, not_done)


def read(path: Path = HISTORY_FILE) -> list[Entry]:
    """Every readable entry, oldest first; [] when there is no history (or it cannot be read)."""
    return read_counting(path)[0]


def read_counting(path: Path = HISTORY_FILE) -> tuple[list[Entry], int]:
    """Every readable entry, oldest first, and how many lines were skipped as unreadable."""
    try:
        with path.open("rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - MAX_READ_BYTES))
            raw = file.read()
    except OSError:
        return [], 0
    lines = [line for line in raw.decode("utf-8", errors="replace").splitlines() if line.strip()]
    if size > MAX_READ_BYTES:
        lines = lines[1:]  # the first line read from the middle of the file is a fragment
    entries = [entry for line in lines if (entry := parse_line(line)) is not None]
    return entries[-MAX_ENTRIES:], len(lines) - len(entries)


def append(entry: Entry, path: Path = HISTORY_FILE) -> None:
    """Adds one line, in one write; raises OSError when the file cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = entry.to_json() + "\n"
    with path.open("a+b") as file:
        size = file.seek(0, os.SEEK_END)
        if size:
            file.seek(size - 1)
            if file.read(1) != b"\n":  # a line cut by a crash: ours starts on a line of its own
                line = "\n" + line
        file.write(line.encode("utf-8"))


def streaks(entries: Sequence[Entry], target: str, lost_now: Iterable[str]) -> dict[str, int]:
    """For each criterion lost now: in how many grades of ``target`` in a row it stayed lost,
    this one included (1 when it was not lost the time before)."""
    previous = [entry for entry in entries if entry.target == target]
    counts: dict[str, int] = {}
    for criterion in lost_now:
        count = 1
        for entry in reversed(previous):
            if criterion not in entry.lost:
                break
            count += 1
        counts[criterion] = count
    return counts
