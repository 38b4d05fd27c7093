"""Part 2 files: written with aiofiles, never with a blocking call on the event-loop thread."""

from __future__ import annotations

from grader.checks.expectations import fail_on_todo
from grader.checks.marks import async_only
from grader.engine.observations import PartView
from grader.engine.outcomes import expect
from grader.engine.plans import MAIN_RUNS, Scenario


@async_only("files", reads=(Scenario.MAIN,))
def test_files_are_written_with_aiofiles(view: PartView) -> None:
    """Les fichiers sont écrits avec aiofiles.open()"""
    scenario = view.scenario(Scenario.MAIN)
    opened = int(scenario.observed.get("aiofiles_writes", 0))
    if opened < len(scenario.images):
        fail_on_todo(scenario)
    expect(
        opened >= len(scenario.images),
        f"Pendant main() sur {len(scenario.images)} images, aiofiles.open() a ouvert {opened} fichier(s) en "
        "écriture (il en faut au moins un par image).",
        "Dans la partie 2, quelle fonction remplace open() pour écrire sans bloquer la boucle ?",
    )


@async_only("files", reads=(*MAIN_RUNS,))
def test_no_file_is_written_on_the_event_loop(view: PartView) -> None:
    """Aucune écriture de fichier ne bloque la boucle d'événements"""
    scenarios = [view.scenario(name) for name in MAIN_RUNS]
    writes = sum(int(scenario.observed.get("writes", 0)) for scenario in scenarios)
    if not writes:
        fail_on_todo(scenarios[0])
    expect(
        writes > 0,
        "main() n'a ouvert aucun fichier en écriture : rien à vérifier ici.",
        "Commencez par enregistrer les images (critère download).",
    )
    blocking = sorted({name for scenario in scenarios for name in scenario.observed.get("loop_writes", [])})
    expect(
        not blocking,
        f"Sur les {len(scenarios)} lancements de main(), {len(blocking)} fichier(s) différent(s) "
        "ouvert(s) en écriture directement dans la boucle d'événements (open(), Path.write_bytes()…).",
        "Une écriture synchrone dans une coroutine bloque toutes les autres tâches : quelle bibliothèque le "
        "TP propose-t-il pour écrire les fichiers ?",
    )
