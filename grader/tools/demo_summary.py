"""The demo's last lines: the two measured durations, ready to paste into REPONSES.md.

Pure function, no I/O: :func:`paste_lines` is called at the end of the demo's summary with the
wall-clock durations of the synchronous and asynchronous runs (``None`` for a run that did not
finish: a TODO left, a crash, a timeout).
"""

from __future__ import annotations

import math

from grader.engine.french_numbers import fr_milliseconds, fr_number, fr_seconds
from grader.engine.reflection import NOT_MEASURED

PASTE_HEADER = "À copier dans REPONSES.md (question de réflexion) :"


def _factor(sync_seconds: float, async_seconds: float) -> str:
    return f"×{fr_number(sync_seconds / async_seconds, 1)}"


def _usable(value: float | None) -> float | None:
    """The duration if it is one (finite, not negative), else None."""
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def paste_lines(
    sync_seconds: float | None,
    async_seconds: float | None,
    images: int,
    latency: float,
) -> list[str]:
    """French lines to print last: a header, then one self-describing line to paste.

    >>> paste_lines(4.09, 0.25, 20, 0.2)[1]
    'Mesures (nox -s demo, 20 images, latence de 200 ms) : sync 4,09 s ; async 0,25 s (×16,4)'
    """
    context = f"nox -s demo, {images} images, latence de {fr_milliseconds(latency)}"
    sync_time, async_time = _usable(sync_seconds), _usable(async_seconds)
    sync_text = NOT_MEASURED if sync_time is None else fr_seconds(sync_time)
    async_text = NOT_MEASURED if async_time is None else fr_seconds(async_time)
    line = f"Mesures ({context}) : sync {sync_text} ; async {async_text}"
    if sync_time is not None and async_time is not None:
        if async_time > 0:
            line += f" ({_factor(sync_time, async_time)})"
        return [PASTE_HEADER, line]
    return [
        PASTE_HEADER,
        line,
        "(terminez d'abord les deux parties, puis relancez la démonstration pour avoir les deux chiffres)",
    ]
