"""Grading one part or some criteria (« --partie sync », « --critere sync.errors »), like check50's --target.

A selection names criteria; the scenarios they need are those their checks read (declared
with each check, see grader/checks/marks.py) plus the loopback scenarios, whose observed
facts corroborate the checks that judge the worker's claims (:mod:`evidence`). The mark
then covers the selected criteria only, and the report and results.json say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from grader.engine.criteria import BY_ID, CRITERIA, PART_TITLES
from grader.engine.evidence import LOOPBACK_SCENARIOS
from grader.engine.french_numbers import fr_number
from grader.engine.paths import PART_FILES, PARTS

# « --partie 1 » reads as well as « --partie sync »: the README numbers the parts.
PART_ALIASES = {"1": "sync", "2": "async", "sync": "sync", "async": "async"}


class UnknownSelection(ValueError):
    """A part or a criterion that does not exist: the French message lists the valid ones."""


def _split(values: Iterable[str]) -> list[str]:
    """« a,b » and repeated options alike, blanks ignored."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class Selection:
    """The criteria a grade covers, in the order of the grading scale."""

    criteria: tuple[str, ...]
    parts_asked: tuple[str, ...] = ()
    criteria_asked: tuple[str, ...] = ()

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(part for part in PARTS if any(BY_ID[c].part == part for c in self.criteria))

    @property
    def points(self) -> float:
        return sum(BY_ID[criterion].points for criterion in self.criteria)

    def covers(self, criterion: str) -> bool:
        return criterion in self.criteria

    def scenarios(self, reads: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
        """For each selected part, the scenarios to play: those the selected checks read, and
        the loopback ones that corroborate them."""
        loopback = {str(name) for name in LOOPBACK_SCENARIOS}
        wanted: dict[str, set[str]] = {part: set(loopback) for part in self.parts}
        for criterion in self.criteria:
            wanted[BY_ID[criterion].part].update(reads.get(criterion, ()))
        return {part: frozenset(names) for part, names in wanted.items()}

    def describe(self, files: bool = True) -> str:
        """What the mark covers, in French: « la partie 1 (sync_downloader.py) », « le critère … »."""
        shown = []
        for part in self.parts_asked:
            file = f" ({PART_FILES[part]})" if files else ""
            shown.append(f"la partie {PARTS.index(part) + 1}{file}")
        extra = [c for c in self.criteria_asked if BY_ID[c].part not in self.parts_asked]
        if extra:
            noun = "le critère" if len(extra) == 1 else "les critères"
            shown.append(f"{noun} {', '.join(extra)}")
        return " et ".join(shown)

    def mark_line(self, total: float) -> str:
        scope = self.describe(files=False).removeprefix("la ").removeprefix("le ").removeprefix("les ")
        return (
            f"Note partielle : {fr_number(total, trim=True)}/{fr_number(self.points, trim=True)}, "
            f"{scope} seulement"
        )

    def warning(self) -> str:
        """The sentence under the mark: this is not the TP's mark."""
        return (
            f"Cette note ne porte que sur {self.describe()} : ce n'est pas la note du TP (sur 20). "
            "Pour la note complète : poetry run -- nox -s grade"
        )

    def as_json(self) -> dict[str, Any]:
        """The ``extra_data.selection`` field of results.json."""
        return {
            "partielle": True,
            "parties": list(self.parts_asked),
            "criteres": list(self.criteria),
            "points": self.points,
            "message": self.warning(),
        }


def _unknown_part(value: str) -> UnknownSelection:
    return UnknownSelection(
        f"Partie inconnue : « {value} ». Parties possibles : sync (ou 1, {PART_FILES['sync']}), "
        f"async (ou 2, {PART_FILES['async']})."
    )


def _unknown_criterion(value: str) -> UnknownSelection:
    listed = "\n".join(f"  {c.id:<18} {c.title} ({PART_TITLES[c.part].split(' :')[0]})" for c in CRITERIA)
    return UnknownSelection(
        f"Critère inconnu : « {value} ». Critères possibles (--critere, répétable ou séparés par des "
        f"virgules) :\n{listed}"
    )


def parse(parts: Iterable[str] = (), criteria: Iterable[str] = ()) -> Selection | None:
    """The selection asked on the command line; None when nothing is selected (the whole TP).

    Raises :class:`UnknownSelection` with a French message for a part or criterion that
    does not exist.
    """
    asked_parts: list[str] = []
    for value in _split(parts):
        part = PART_ALIASES.get(value.lower())
        if part is None:
            raise _unknown_part(value)
        asked_parts.append(part)
    asked_criteria: list[str] = []
    for value in _split(criteria):
        if value not in BY_ID:
            raise _unknown_criterion(value)
        asked_criteria.append(value)
    if not asked_parts and not asked_criteria:
        return None
    chosen = {c.id for c in CRITERIA if c.part in asked_parts} | set(asked_criteria)
    if len(chosen) == len(CRITERIA):
        return None  # the whole TP: an ordinary grade, out of 20
    return Selection(
        criteria=tuple(c.id for c in CRITERIA if c.id in chosen),
        parts_asked=tuple(part for part in PARTS if part in asked_parts),
        criteria_asked=tuple(dict.fromkeys(asked_criteria)),
    )
