"""What a new grade changed: the previous mark, the new one, and the criteria that moved.

A submission graded again (the grader was fixed, the student sent a new version, --force)
is compared with its previous result. A change is kept in the new results file
(``extra_data.changement``), so that the report still shows it on the next runs, until the
submission is graded again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from grader.batch.results import GradeReport

DOCUMENT_KEY = "changement"  # under the results file's extra_data


class Reason(StrEnum):
    """Why a submission is graded in this run (French: shown to the instructor)."""

    NEW = "nouveau rendu"
    SUBMISSION = "rendu modifié"
    GRADER = "correcteur modifié"
    UNFINISHED = "correction précédente inachevée"
    FORCED = "recorrection demandée (--force)"


@dataclass(frozen=True)
class CriterionChange:
    id: str
    before: float | None  # None: the criterion was not in the previous result
    after: float | None


@dataclass(frozen=True)
class MarkChange:
    reason: Reason
    before: float
    after: float
    criteria: tuple[CriterionChange, ...]

    def document(self) -> dict[str, Any]:
        return {
            "raison": self.reason.value,
            "ancienne_note": self.before,
            "nouvelle_note": self.after,
            "criteres": [[c.id, c.before, c.after] for c in self.criteria],
        }


def compare(before: GradeReport, after: GradeReport, reason: Reason) -> MarkChange | None:
    """The change from ``before`` to ``after``; None when the mark and every criterion stayed."""
    old = {test.number: test.score for test in before.tests}
    new = {test.number: test.score for test in after.tests}
    ids = [*new, *(number for number in old if number not in new)]
    moved = tuple(
        CriterionChange(number, old.get(number), new.get(number))
        for number in ids
        if old.get(number) != new.get(number)
    )
    if not moved and before.score == after.score:
        return None
    return MarkChange(reason, before.score, after.score, moved)


def _score(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"note attendue, trouvé {value!r}")
    return float(value)


def read_change(extra: dict[str, Any]) -> MarkChange | None:
    """The change kept in a results file's ``extra_data``; ValueError if it is malformed."""
    raw = extra.get(DOCUMENT_KEY)
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("criteres"), list):
        raise ValueError(f"{DOCUMENT_KEY} : objet attendu, trouvé {raw!r}")
    criteria = []
    for item in raw["criteres"]:
        if not isinstance(item, list) or len(item) != 3:
            raise ValueError(f"{DOCUMENT_KEY}.criteres : [id, avant, après] attendu, trouvé {item!r}")
        criteria.append(CriterionChange(str(item[0]), _score(item[1]), _score(item[2])))
    before, after = _score(raw.get("ancienne_note")), _score(raw.get("nouvelle_note"))
    if before is None or after is None:
        raise ValueError(f"{DOCUMENT_KEY} : ancienne et nouvelle notes attendues")
    return MarkChange(Reason(str(raw.get("raison"))), before, after, tuple(criteria))
