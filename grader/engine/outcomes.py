"""What a check can conclude, as types: passed, lost (with what was seen and a hint),
not done yet (which TODO), or broken (the code crashed, hung, or does not load)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Kind(Enum):
    PASSED = "passed"
    LOST = "lost"  # the check saw a wrong behaviour
    NOT_DONE = "not_done"  # NotImplementedError: a TODO left
    BROKEN = "broken"  # the module does not load, or the code crashed or hung


class Lost(AssertionError):
    """A check saw a behaviour that costs points: what was observed, and where to look."""

    def __init__(self, observed: str, hint: str) -> None:
        super().__init__(f"{observed}\nPiste : {hint}")
        self.observed = observed
        self.hint = hint


def expect(condition: bool, observed: str, hint: str) -> None:
    if not condition:
        raise Lost(observed, hint)


class NotDone(Exception):
    """The student's code still raises NotImplementedError."""

    def __init__(self, todo: str) -> None:
        super().__init__(todo)
        self.todo = todo


class Broken(Exception):
    """The student's code crashed, hung or does not load: ``cause`` is the short version."""

    def __init__(self, cause: str, hint: str = "") -> None:
        super().__init__(cause)
        self.cause = cause
        self.hint = hint


@dataclass
class CheckOutcome:
    check: str
    criterion: str
    title: str
    weight: float
    kind: Kind
    message: str = ""
    todo: str = ""  # for NOT_DONE: « TODO 3 : main »
    cause: str = ""  # for BROKEN: the short cause, repeated wherever it costs points
    notes: list[str] = field(default_factory=list)
