"""Timing: main() measures the whole batch with the time module, returns it, and shows it.

Two runs with latencies far apart: the returned and the shown durations must each cover
the downloads (first request to last reply, one after the other or together) and never
exceed the time the run took; the shown durations must
also follow the gap between the two runs, which no constant (and no machine load) can fake.

These scenarios give main() the grader's own download_and_save() when it calls the
module's one: the stopwatch is judged on its own, whatever the state of the download.
"""

from __future__ import annotations

from grader.checks.expectations import AWAIT_HINT, UNITS_READ, durations_in
from grader.checks.marks import for_both_parts
from grader.engine import text
from grader.engine.french_numbers import fr_milliseconds, fr_number
from grader.engine.observations import PartView, ScenarioView, shown_value
from grader.engine.outcomes import expect
from grader.engine.plans import TIMING_IMAGES, TIMING_LATENCIES, Scenario

STOPWATCH_HINT = (
    "Prenez l'heure avec le module time (time.perf_counter()) avant le premier téléchargement et après le "
    "dernier, et renvoyez la différence, en secondes."
)


DISPLAY_HINT = (
    "Affichez la durée totale mesurée, une fois tous les téléchargements terminés (log ou print), "
    "avec son unité."
)


def _floor(scenario: ScenarioView, part: str, latency: float) -> float:
    """The least a stopwatch around the whole batch can read: the downloads' own span, first
    request to last reply, as the mocks saw it (one after the other or together, threads
    included); without it, every latency in part 1 and one in part 2."""
    span = scenario.download_span
    if span is not None:
        return max(latency, span)
    return (TIMING_IMAGES if part == "sync" else 1) * latency


def _number(scenario: ScenarioView) -> float | None:
    value = scenario.returned()
    return float(value["number"]) if value.get("type") == "number" else None


@for_both_parts("timing", reads=(Scenario.TIMING_SHORT, Scenario.TIMING_LONG))
def test_main_returns_the_total_duration_in_seconds(view: PartView) -> None:
    """main() renvoie la durée totale, en secondes"""
    runs = [view.scenario(Scenario.TIMING_SHORT), view.scenario(Scenario.TIMING_LONG)]
    for scenario in runs:
        scenario.require_completed()
    values = [_number(scenario) for scenario in runs]
    for scenario, value, latency in zip(runs, values, TIMING_LATENCIES[view.part], strict=True):
        wall = scenario.longest_duration
        floor = _floor(scenario, view.part, latency)
        dropped = scenario.never_awaited_text()
        expect(
            value is not None and floor * 0.9 <= value <= wall + 0.05,
            f"main() a renvoyé {shown_value(scenario.returned())} ; le lot de {TIMING_IMAGES} images "
            f"à {fr_milliseconds(latency)} de latence a pris {fr_number(wall)} s (au moins "
            f"{fr_number(floor)} s attendus)."
            + (f" main() n'attend pas ses téléchargements : {dropped}." if dropped else ""),
            AWAIT_HINT if dropped else STOPWATCH_HINT,
        )


def _displayed(scenario: ScenarioView) -> tuple[str, list[tuple[float, float]]]:
    """The end of what main() showed, and the durations read in it (value, rounding)."""
    tail = scenario.console_messages[-3:] or [message for _, message in scenario.records[-3:]]
    printed = scenario.printed
    seen = " / ".join(text.one_line(line) for line in tail + printed.strip().splitlines()[-2:]) or "rien"
    return seen, durations_in("\n".join(tail) + "\n" + printed)


def _fits(value: float, rounding: float, floor: float, ceiling: float) -> bool:
    return floor * 0.9 - rounding <= value <= ceiling + rounding + 0.02


@for_both_parts("timing", reads=(Scenario.TIMING_SHORT, Scenario.TIMING_LONG))
def test_total_duration_is_displayed_at_the_end(view: PartView) -> None:
    """La durée totale mesurée est affichée à la fin"""
    runs = [view.scenario(Scenario.TIMING_SHORT), view.scenario(Scenario.TIMING_LONG)]
    for scenario in runs:
        scenario.require_completed()
    floors = [
        _floor(scenario, view.part, latency)
        for scenario, latency in zip(runs, TIMING_LATENCIES[view.part], strict=True)
    ]
    shown: list[list[float]] = []
    for scenario, floor in zip(runs, floors, strict=True):
        ceiling = scenario.longest_duration
        shown_text, durations = _displayed(scenario)
        fitting = [value for value, rounding in durations if _fits(value, rounding, floor, ceiling)]
        read = (
            "durée(s) lue(s) : " + ", ".join(f"{fr_number(value)} s" for value, _ in durations)
            if durations
            else f"aucune durée lue (un nombre suivi de {UNITS_READ}, ou avec des décimales)"
        )
        dropped = scenario.never_awaited_text()
        expect(
            bool(fitting),
            f"Durée réelle du lot : entre {fr_number(floor)} s et {fr_number(ceiling)} s ; fin de "
            f"l'affichage : « {shown_text} » ; {read}."
            + (f" main() n'attend pas ses téléchargements : {dropped}." if dropped else ""),
            AWAIT_HINT if dropped else DISPLAY_HINT,
        )
        shown.append(fitting)
    # Load can stretch both windows until they overlap: a duration written in the code is then
    # caught by what it cannot follow, the difference between the two batches.
    gap = floors[1] - floors[0]
    expect(
        max(shown[1]) - min(shown[0]) >= gap / 2,
        f"Durées affichées : {fr_number(min(shown[0]))} s pour un lot d'au moins {fr_number(floors[0])} s, "
        f"puis {fr_number(max(shown[1]))} s pour un lot d'au moins {fr_number(floors[1])} s : l'écart "
        "ne suit pas celui des deux lots.",
        "La durée affichée doit être mesurée à chaque lancement (time.perf_counter() avant et après), "
        "pas écrite dans le code.",
    )
