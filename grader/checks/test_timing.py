"""Timing: main() measures the whole batch with the time module, returns it, and shows it.

Two runs with latencies far apart: the returned duration must cover every wait of the
batch and never exceed the real time, so a constant cannot satisfy both.

These scenarios give main() the grader's own download_and_save() when it calls the
module's one: the stopwatch is judged on its own, whatever the state of the download.
"""

from __future__ import annotations

from grader.checks.expectations import shows_duration
from grader.checks.marks import for_both_parts
from grader.engine import text
from grader.engine.observations import PartView, ScenarioView, shown_value
from grader.engine.outcomes import expect
from grader.engine.plans import TIMING_IMAGES, TIMING_LATENCIES, Scenario
from grader.tools.french_cli import fr_milliseconds, fr_number

STOPWATCH_HINT = (
    "Prenez l'heure avec le module time (time.perf_counter()) avant le premier téléchargement et après le "
    "dernier, et renvoyez la différence, en secondes."
)


def _number(scenario: ScenarioView) -> float | None:
    value = scenario.returned()
    return float(value["number"]) if value.get("type") == "number" else None


@for_both_parts("timing")
def test_main_returns_the_total_duration_in_seconds(view: PartView) -> None:
    """main() renvoie la durée totale, en secondes"""
    runs = [view.scenario(Scenario.TIMING_SHORT), view.scenario(Scenario.TIMING_LONG)]
    for scenario in runs:
        scenario.require_completed()
    # Sequential downloads wait for every latency; concurrent ones for at least one.
    waits = TIMING_IMAGES if view.part == "sync" else 1
    values = [_number(scenario) for scenario in runs]
    for scenario, value, latency in zip(runs, values, TIMING_LATENCIES[view.part], strict=True):
        wall = float(scenario.observed["runs"][0]["wall"])
        floor = waits * latency
        expect(
            value is not None and floor * 0.9 <= value <= wall + 0.05,
            f"main() a renvoyé {shown_value(scenario.returned())} ; le lot de {TIMING_IMAGES} images "
            f"à {fr_milliseconds(latency)} de latence a pris {fr_number(wall)} s (au moins "
            f"{fr_number(floor)} s attendus).",
            STOPWATCH_HINT,
        )


@for_both_parts("timing")
def test_total_duration_is_displayed_at_the_end(view: PartView) -> None:
    """La durée totale est affichée à la fin"""
    scenario = view.scenario(Scenario.TIMING_LONG)
    scenario.require_completed()
    value = _number(scenario)
    wall = float(scenario.observed["runs"][0]["wall"])
    reference = value if value is not None and value > 0 else wall
    tail = scenario.console[-3:] or [message for _, message in scenario.records[-3:]]
    printed = str(scenario.observed.get("printed", ""))
    shown = "\n".join(tail) + "\n" + printed
    seen = " / ".join(text.one_line(line) for line in tail + printed.strip().splitlines()[-2:]) or "rien"
    expect(
        shows_duration(shown, reference),
        f"Durée mesurée ≈ {fr_number(reference)} s ; fin de l'affichage : « {seen} ».",
        "Affichez la durée totale une fois tous les téléchargements terminés (log ou print), avec son unité.",
    )
