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
    # Every file main() opened for writing, whatever their number: a batch cut short by a
    # crash opens fewer files, and how many depends on when the crash ends it.
    written, through_aiofiles = scenario.write_opens, min(scenario.aiofiles_opens, scenario.write_opens)
    if not written or through_aiofiles < written:
        fail_on_todo(scenario)
    expect(
        written > 0,
        "main() n'a ouvert aucun fichier en écriture dans le dossier de sortie : rien à vérifier ici.",
        "Commencez par enregistrer les images (critère download).",
    )
    expect(
        through_aiofiles == written,
        f"Pendant main() ({len(scenario.images)} images), {written} fichier(s) ouvert(s) en écriture dans "
        f"le dossier de sortie, dont {through_aiofiles} avec aiofiles.open().",
        "Dans la partie 2, quelle fonction remplace open() pour écrire sans bloquer la boucle ?",
    )


@async_only("files", reads=(*MAIN_RUNS,))
def test_no_file_is_written_on_the_event_loop(view: PartView) -> None:
    """Aucune écriture de fichier ne bloque la boucle d'événements"""
    scenarios = [view.scenario(name) for name in MAIN_RUNS]
    writes = sum(scenario.write_opens for scenario in scenarios)
    if not writes:
        fail_on_todo(scenarios[0])
    expect(
        writes > 0,
        "main() n'a ouvert aucun fichier en écriture : rien à vérifier ici.",
        "Commencez par enregistrer les images (critère download).",
    )
    blocking = sorted({name for scenario in scenarios for name in scenario.loop_writes})
    expect(
        not blocking,
        f"Sur les {len(scenarios)} lancements de main(), {len(blocking)} fichier(s) différent(s) "
        "ouvert(s) en écriture directement dans la boucle d'événements (open(), Path.write_bytes()…).",
        "Une écriture synchrone dans une coroutine bloque toutes les autres tâches : quelle bibliothèque le "
        "TP propose-t-il pour écrire les fichiers ?",
    )
