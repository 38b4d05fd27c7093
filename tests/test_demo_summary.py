"""grader/demo_summary.py: the demo ends with the two durations, ready to paste into REPONSES.md."""

from __future__ import annotations

import doctest
import math

import pytest

import grader.tools.demo_summary
from grader.tools.demo_summary import PASTE_HEADER, paste_lines


def test_both_durations_and_the_speed_up_in_french() -> None:
    lines = paste_lines(2.41, 0.27, 20, 0.2)
    expected = [
        PASTE_HEADER,
        "Mesures (nox -s demo, 20 images, latence de 200 ms) : sync 2,41 s ; async 0,27 s (×8,9)",
    ]
    assert lines == expected, f"attendu {expected} ; vu {lines}"


@pytest.mark.parametrize(
    ("sync", "async_", "shown"),
    [
        pytest.param(None, None, "sync pas encore mesuré ; async pas encore mesuré", id="rien"),
        pytest.param(4.1, None, "sync 4,10 s ; async pas encore mesuré", id="sync seulement"),
        pytest.param(None, 0.25, "sync pas encore mesuré ; async 0,25 s", id="async seulement"),
        pytest.param(math.nan, 0.25, "sync pas encore mesuré ; async 0,25 s", id="durée invalide"),
    ],
)
def test_unfinished_runs_say_so_and_ask_to_rerun(
    sync: float | None, async_: float | None, shown: str
) -> None:
    lines = paste_lines(sync, async_, 50, 0.1)
    assert lines[0] == PASTE_HEADER and lines[1].endswith(shown) and "latence de 100 ms" in lines[1], (
        f"attendu une ligne finissant par {shown!r} (50 images, 100 ms) ; vu {lines}"
    )
    assert len(lines) == 3 and "relancez" in lines[2], f"attendu une invitation à relancer ; vu {lines}"
    assert "×" not in lines[1], f"attendu aucune accélération sans les deux durées ; vu {lines[1]!r}"


def test_zero_async_duration_gives_no_division_by_zero() -> None:
    lines = paste_lines(1.0, 0.0, 1, 0.0)
    assert lines[1].endswith("sync 1,00 s ; async 0,00 s") and len(lines) == 2, (
        f"attendu les deux durées sans facteur ; vu {lines}"
    )


def test_docstring_example_is_right() -> None:
    failures, tried = doctest.testmod(grader.tools.demo_summary, verbose=False)
    assert tried >= 1 and failures == 0, (
        f"attendu l'exemple de la docstring juste ; vu {failures}/{tried} échec(s)"
    )
