"""End to end: the student's two scripts run for real, in a subprocess, against a local server."""

from __future__ import annotations

import pytest

from grader.conftest import GradingSession
from grader.criteria import for_both_parts
from grader.scripts import SCRIPT_TIMEOUT, ScriptRun
from grader.student import NotDone, StudentCrash, expect


@pytest.fixture
def script(part: str, grading: GradingSession) -> ScriptRun:
    grading.module(part).get()  # a module that does not load fails here, with its own message
    assert grading.scripts is not None
    outcome = grading.scripts.result(part)
    run = outcome.run
    name = f"{part}_downloader.py"
    if run.not_implemented:
        raise NotDone(run.message or "TODO")
    if run.timed_out:
        raise StudentCrash(f"{name} tourne encore après {SCRIPT_TIMEOUT:g} s (lancé comme script)")
    if not run.ok:
        detail = f"{run.exception} : {run.message}" if run.exception else f"code de sortie {run.returncode}"
        raise StudentCrash(f"{name}, lancé comme script, s'est arrêté en erreur ({detail})")
    return outcome


@for_both_parts("download")
def test_script_saves_the_images_of_a_real_server(script: ScriptRun) -> None:
    """Lancé comme script, le programme enregistre les images d'un vrai serveur local"""
    expected = {script.server.expected_bytes(url) for url in script.server.urls}
    written = [path.read_bytes() for path in script.run.files]
    found = expected & set(written)
    expect(
        len(found) == len(expected),
        f"{len(found)} image(s) sur {len(expected)} enregistrée(s) par le script "
        f"({len(written)} fichier(s) écrit(s)).",
        "Lancez votre script à la main (python …_downloader.py) : le dossier OUTPUT_DIR "
        "contient-il toutes les images ?",
    )


@for_both_parts("logging", weight=0.5)
def test_script_names_every_url_in_its_console_output(script: ScriptRun) -> None:
    """Lancé comme script, le programme affiche dans la console chaque URL téléchargée"""
    console = script.run.stderr + script.run.stdout
    written = {path.read_bytes() for path in script.run.files}
    downloaded = [url for url in script.server.urls if script.server.expected_bytes(url) in written]
    # A script that downloads nothing is download's business: judge the log of what it did.
    silent = [url for url in downloaded if url not in console]
    expect(
        not silent,
        f"{len(silent)} URL sur {len(script.server.urls)} n'apparaissent pas dans la console du script.",
        'Le bloc « if __name__ == "__main__": » appelle-t-il setup_logging() avant main() ?',
    )


@pytest.mark.parametrize("part", [pytest.param("async", id="async")])
@pytest.mark.criterion("async.concurrency")
def test_script_requests_overlap_on_the_server(script: ScriptRun) -> None:
    """Lancé comme script, le programme a plusieurs requêtes en cours à la fois"""
    expect(
        script.max_in_flight >= 2,
        f"Le serveur local a vu au plus {script.max_in_flight} requête à la fois pendant le script.",
        "Les tâches sont-elles lancées ensemble, puis attendues ensemble ?",
    )
