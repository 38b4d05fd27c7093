"""Fast tier: « --partie » and « --critere » without any grade.

The scenarios each check reads are declared once, in its decorator (grader/checks/marks.py);
here the code of each check (and of the helpers of its module it calls) is read with ast and
must name exactly the scenarios declared. Then the selection itself: which scenarios it
plays, the French refusal of an unknown criterion, and the partial mark in the report.
"""

from __future__ import annotations

import ast

import pytest

from grader.checks.marks import scenarios_by_criterion
from grader.engine import plans, report
from grader.engine.criteria import CRITERIA
from grader.engine.evidence import LOOPBACK_SCENARIOS
from grader.engine.outcomes import CheckOutcome, Kind
from grader.engine.paths import KIT_ROOT
from grader.engine.selection import UnknownSelection, parse

CHECKS = KIT_ROOT / "grader" / "checks"
DECORATORS = ("for_both_parts", "only_in", "async_only")
NAMED_GROUPS = {"MAIN_RUNS": {str(name) for name in plans.MAIN_RUNS}}


def _scenarios_named(node: ast.AST) -> set[str]:
    """``Scenario.X`` and the named groups of scenarios (MAIN_RUNS) that ``node`` mentions."""
    found = set()
    for child in ast.walk(node):
        if (
            isinstance(child, ast.Attribute)
            and isinstance(child.value, ast.Name)
            and child.value.id == "Scenario"
        ):
            found.add(str(plans.Scenario[child.attr]))
        elif isinstance(child, ast.Name) and child.id in NAMED_GROUPS:
            found |= NAMED_GROUPS[child.id]
    return found


def _read_by(function: ast.FunctionDef, helpers: dict[str, ast.FunctionDef]) -> set[str]:
    """The scenarios a check's body reads, through the helpers of its module too."""
    found: set[str] = set()
    seen: set[str] = set()
    todo = [function]
    while todo:
        current = todo.pop()
        body = ast.Module(body=current.body, type_ignores=[])
        found |= _scenarios_named(body)
        for call in ast.walk(body):
            called = call.func.id if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) else ""
            if called in helpers and called not in seen:
                seen.add(called)
                todo.append(helpers[called])
    return found


def _checks() -> list[tuple[str, ast.FunctionDef, set[str], set[str]]]:
    """(file, check, scenarios declared in its decorator, scenarios its code reads)."""
    found = []
    for path in sorted(CHECKS.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
        helpers = {f.name: f for f in functions if not f.name.startswith("test_")}
        for function in (f for f in functions if f.name.startswith("test_")):
            declared: set[str] = set()
            for decorator in function.decorator_list:
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") in DECORATORS:
                    for keyword in decorator.keywords:
                        if keyword.arg == "reads":
                            declared |= _scenarios_named(keyword.value)
            found.append((path.name, function, declared, _read_by(function, helpers)))
    return found


def test_every_check_declares_exactly_the_scenarios_its_code_reads() -> None:
    checks = _checks()
    wrong = [
        f"{file}::{function.name} : déclarés {sorted(declared)}, lus {sorted(read)}"
        for file, function, declared, read in checks
        if declared != read
    ]
    assert len(checks) >= 20 and not wrong, (
        "Attendu : chaque vérification déclare (reads=…) exactement les scénarios que son code lit ; "
        f"vu {len(checks)} vérifications, dont :\n" + "\n".join(wrong)
    )


def test_the_reader_sees_scenarios_read_through_a_helper() -> None:
    checks = {function.name: read for _, function, _, read in _checks()}
    # test_tasks_are_launched_together_with_gather reads MAIN only through _main_written().
    seen = checks["test_tasks_are_launched_together_with_gather"]
    assert seen == {"main"}, f"Attendu : le scénario main lu à travers _main_written() ; vu {sorted(seen)}"


def test_every_criterion_has_scenarios_declared() -> None:
    declared = scenarios_by_criterion()
    missing = [c.id for c in CRITERIA if not declared.get(c.id)]
    assert not missing, f"Attendu : des scénarios déclarés pour chaque critère ; sans : {missing}"


def test_a_criterion_plays_its_scenarios_and_the_loopback_ones_of_its_part_only() -> None:
    selection = parse(criteria=["sync.timing"])
    assert selection is not None
    played = selection.scenarios(scenarios_by_criterion())
    expected = {"sync": {"timing_short", "timing_long"} | {str(name) for name in LOOPBACK_SCENARIOS}}
    assert played == expected, f"Attendu : {expected} ; vu {played}"


def test_a_part_and_a_comma_list_select_their_criteria_in_scale_order() -> None:
    selection = parse(parts=["2"], criteria=["sync.logging,sync.errors"])
    assert selection is not None
    expected = ("sync.errors", "sync.logging", *(c.id for c in CRITERIA if c.part == "async"))
    assert selection.criteria == expected, f"Attendu : {expected} ; vu {selection.criteria}"
    assert selection.points == 14.5, f"Attendu : 14,5 points sélectionnés ; vu {selection.points}"


def test_selecting_everything_is_an_ordinary_grade() -> None:
    assert parse(parts=["sync", "async"]) is None, "Attendu : les deux parties = la correction complète"
    assert parse() is None, "Attendu : aucune sélection sans --partie ni --critere"


def test_an_unknown_criterion_is_refused_in_french_with_the_valid_ones() -> None:
    with pytest.raises(UnknownSelection) as refused:
        parse(criteria=["sync.erreurs"])
    message = str(refused.value)
    missing = [c.id for c in CRITERIA if c.id not in message]
    assert message.startswith("Critère inconnu : « sync.erreurs »") and not missing, (
        f"Attendu : « Critère inconnu : « sync.erreurs » » puis les 14 critères ; vu :\n{message}"
    )


def test_an_unknown_part_is_refused_in_french() -> None:
    with pytest.raises(UnknownSelection) as refused:
        parse(parts=["3"])
    assert "Partie inconnue : « 3 »" in str(refused.value) and "async" in str(refused.value), (
        f"Attendu : « Partie inconnue : « 3 » » et les parties possibles ; vu {refused.value}"
    )


def test_the_report_of_a_selection_says_the_mark_covers_it_only() -> None:
    selection = parse(criteria=["sync.errors"])
    assert selection is not None
    outcomes = [
        CheckOutcome("t", "sync.errors", "Vérification", 1.0, Kind.PASSED),
        CheckOutcome("t", "sync.errors", "Autre", 1.0, Kind.LOST, "vu ceci\nPiste : cela"),
    ]
    results = [r for r in report.score_criteria(outcomes) if selection.covers(r.criterion.id)]
    console = report.render_console(results, "travail/", selection=selection).split("\n")
    expected = [
        "Note partielle : 1/2, critère sync.errors seulement",
        "Cette note ne porte que sur le critère sync.errors : ce n'est pas la note du TP (sur 20). "
        "Pour la note complète : poetry run -- nox -s grade",
    ]
    at = console.index(expected[0]) if expected[0] in console else -1
    assert at >= 0 and console[at : at + 2] == expected, (
        f"Attendu les lignes {expected} ; vu :\n" + "\n".join(console)
    )
    others = [line for line in console if "Partie 2" in line or "sync.download" in line]
    assert not others, f"Attendu : ni la partie 2 ni les autres critères ; vu {others}"
    field = selection.as_json()
    assert field["criteres"] == ["sync.errors"] and field["partielle"] is True and field["points"] == 2.0, (
        f"Attendu : le champ selection de results.json (partielle, sync.errors, 2 points) ; vu {field}"
    )


def test_restricted_plan_keeps_only_the_named_scenarios() -> None:
    plan = plans.restricted(plans.build("async"), {"main", "server"})
    assert plan.names == {"main", "server"} and set(plan.images) == {"main", "server"}, (
        f"Attendu : seuls main et server ; vu {plan.names} et {set(plan.images)}"
    )


@pytest.mark.parametrize("part", ["sync", "async"])
def test_a_whole_part_plays_every_scenario_of_that_part(part: str) -> None:
    """What grade_command starts before pytest for « --partie » must be what the plugin asks."""
    played = parse(parts=[part])
    assert played is not None
    asked = played.scenarios(scenarios_by_criterion())
    plan = plans.build(part)
    kept = plans.restricted(plan, asked.get(part, frozenset())).names
    assert set(asked) == {part} and kept == plan.names, (
        f"attendu tous les scénarios de la partie {part} joués pour ses critères, et eux seuls ; "
        f"parties : {sorted(asked)}, manquent {sorted(plan.names - kept)}"
    )
