"""Part 2 concurrency: downloads overlap on a real server, nothing blocks the loop, gather and asyncio.run."""

from __future__ import annotations

import ast

from grader.checks.expectations import fail_on_todo, require_some_work
from grader.checks.marks import async_only, observed_outside
from grader.engine.french_numbers import fr_number
from grader.engine.observations import PartView
from grader.engine.outcomes import Broken, expect
from grader.engine.plans import MAIN_RUNS, SERVER_IMAGES, SERVER_LATENCY, Scenario
from grader.engine.worker.source import is_main_guard

BLOCKED_BEATS = 3  # loop turns that each computed 50 ms or more: one can be a GC pause
LONG_BLOCK = 0.75 * SERVER_LATENCY  # CPU seconds in a single turn: never a legitimate step


@async_only("concurrency", weight=2, reads=(Scenario.SERVER,))
@observed_outside
def test_downloads_overlap_on_a_real_server(view: PartView) -> None:
    """Plusieurs téléchargements sont en cours en même temps"""
    scenario = view.scenario(Scenario.SERVER)
    stats = view.server(Scenario.SERVER)
    require_some_work(scenario, served=stats.requests)
    in_flight = stats.max_in_flight
    wall = max(scenario.walls, default=0.0)  # the overlap itself is the server's count
    sequential = SERVER_IMAGES * SERVER_LATENCY
    expect(
        in_flight >= 2 and wall < 0.75 * sequential,
        f"Le serveur a vu au plus {in_flight} requête(s) à la fois ; {SERVER_IMAGES} images à "
        f"{fr_number(SERVER_LATENCY)} s de latence ont pris {fr_number(wall)} s (l'une après l'autre : "
        f"{fr_number(sequential, 1)} s).",
        "Attendez-vous chaque téléchargement avant de lancer le suivant ? Créez toutes les tâches puis "
        "attendez-les ensemble.",
    )


@async_only("concurrency", reads=(Scenario.SERVER, *MAIN_RUNS))
def test_event_loop_is_never_blocked(view: PartView) -> None:
    """Rien ne bloque la boucle d'événements pendant les téléchargements"""
    server = view.scenario(Scenario.SERVER)
    require_some_work(server, served=view.server(Scenario.SERVER).requests)
    late, longest = server.late_heartbeats
    calls = sorted(
        {call for name in MAIN_RUNS for call in view.scenario(name).blocking_calls}
        | set(server.blocking_calls)
    )
    expect(
        not calls,
        f"Appel bloquant pendant main(), dans la boucle d'événements : {', '.join(calls[:3])}.",
        "Un appel synchrone (time.sleep, requests, lecture/écriture de fichier…) dans une coroutine arrête "
        "toutes les tâches : quel équivalent asynchrone utiliser ?",
    )
    expect(
        late < BLOCKED_BEATS and longest < LONG_BLOCK,
        f"La boucle d'événements a été bloquée {late} fois par du calcul (jusqu'à "
        f"{fr_number(longest)} s d'affilée) pendant main().",
        "Un calcul ou un appel synchrone dans une coroutine arrête toutes les tâches : quel équivalent "
        "asynchrone utiliser ?",
    )


def _main_written(view: PartView) -> None:
    """Static checks give no credit while main() is still a TODO (the skeleton's entry point)."""
    problem = view.load_problem()
    if problem is not None:
        raise problem
    scenario = view.scenario(Scenario.MAIN)
    fail_on_todo(scenario)
    require_some_work(scenario)


def _source_tree(view: PartView) -> ast.Module:
    try:
        return ast.parse(view.run.source)
    except SyntaxError as error:  # load_problem() says it first; kept for safety
        raise Broken(f"erreur de syntaxe ligne {error.lineno}") from error


def _called_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Attribute):
                names.add(function.attr)
            elif isinstance(function, ast.Name):
                names.add(function.id)
    return names


_EQUIVALENTS = ("TaskGroup", "as_completed", "create_task", "ensure_future", "wait")


@async_only("concurrency", weight=0.5, reads=(Scenario.MAIN,))
def test_tasks_are_launched_together_with_gather(view: PartView, notes: list[str]) -> None:
    """Les tâches sont lancées ensemble avec asyncio.gather()"""
    _main_written(view)
    called = _called_names(_source_tree(view))
    if "gather" in called:
        return
    used = [name for name in _EQUIVALENTS if name in called]
    expect(
        bool(used),
        "Aucun lancement groupé des tâches (asyncio.gather) dans async_downloader.py.",
        "Comment lancer une tâche par URL et attendre qu'elles soient toutes finies ?",
    )
    notes.append(
        f"vous lancez les tâches avec {', '.join(used)} : c'est "
        "correct, mais le TP demandait asyncio.gather()."
    )


def _runs_main(call: ast.Call) -> bool:
    function = call.func
    is_run = (isinstance(function, ast.Attribute) and function.attr == "run") or (
        isinstance(function, ast.Name) and function.id == "run"
    )
    argument = call.args[0] if call.args else None
    return (
        is_run
        and isinstance(argument, ast.Call)
        and isinstance(argument.func, ast.Name)
        and argument.func.id == "main"
    )


@async_only("concurrency", weight=0.5, reads=(Scenario.MAIN,))
def test_entry_point_starts_main_with_asyncio_run(view: PartView) -> None:
    """Le point d'entrée lance main() avec asyncio.run()"""
    _main_written(view)
    guards = [node for node in _source_tree(view).body if is_main_guard(node)]
    calls = [n for g in guards for n in ast.walk(g) if isinstance(n, ast.Call) and _runs_main(n)]
    expect(
        bool(calls),
        'Le bloc « if __name__ == "__main__": » ne lance pas main() avec asyncio.run().'
        if guards
        else 'Aucun bloc « if __name__ == "__main__": » dans async_downloader.py.',
        "Quelle fonction d'asyncio crée la boucle d'événements, exécute une coroutine et referme la boucle ?",
    )


@async_only("concurrency", reads=(Scenario.SCRIPT,))
@observed_outside
def test_script_requests_overlap_on_the_server(view: PartView) -> None:
    """Lancé comme script, le programme a plusieurs requêtes en cours à la fois"""
    scenario = view.scenario(Scenario.SCRIPT)
    stats = view.server(Scenario.SCRIPT)
    in_flight = stats.max_in_flight
    if in_flight < 2:
        fail_on_todo(scenario)
        if scenario.failed_call is not None and not stats.requests:
            raise Broken(scenario.crash_text(f"{view.file_name}, lancé comme script,"))
    expect(
        in_flight >= 2,
        f"Le serveur local a vu au plus {in_flight} requête à la fois pendant le script.",
        "Les tâches sont-elles lancées ensemble, puis attendues ensemble ?",
    )
