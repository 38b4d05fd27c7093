"""French number formatting (decimal comma), defined once for the whole kit.

Every French text of the kit (reports, feedback, gradebook, demo, bench, the kit's own tests)
formats its numbers with :func:`fr_number`; the other helpers only add a unit.
"""

from __future__ import annotations


def fr_number(value: float, digits: int = 2, *, trim: bool = False) -> str:
    """A number the French way, with a decimal comma: « 4,02 ».

    ``trim=True`` drops the useless zeros: 17.5 → « 17,5 », 20.0 → « 20 » (never « -0 »).
    """
    shown = f"{value:.{digits}f}"
    if trim and "." in shown:
        shown = shown.rstrip("0").rstrip(".")
    if trim and shown == "-0":
        shown = "0"
    return shown.replace(".", ",")


def fr_seconds(value: float, digits: int = 2) -> str:
    """A duration in seconds, e.g. « 4,02 s »."""
    return f"{fr_number(value, digits)} s"


def fr_milliseconds(seconds: float) -> str:
    """A latency given in seconds, shown in milliseconds, e.g. « 200 ms »."""
    return f"{fr_number(seconds * 1000, 0)} ms"


def fr_count(count: int, singular: str, plural: str) -> str:
    """« 1 fichier », « 2 fichiers »: in French, 0 and 1 take the singular."""
    return f"{count} {singular if abs(count) < 2 else plural}"
