"""Logging: a format with time, level and message; the start, each URL, each success, each error, the end."""

from __future__ import annotations

import logging

from grader.checks.expectations import fail_on_todo, require_saved_images
from grader.checks.marks import for_both_parts
from grader.engine import text
from grader.engine.observations import PartView, ScenarioView
from grader.engine.outcomes import NotDone, expect
from grader.engine.plans import Image, Scenario
from grader.engine.worker.protocol import SAMPLE_MESSAGE

LEVEL_HINT = (
    "Après setup_logging(), le niveau reste WARNING : les messages INFO ne s'affichent jamais. "
    "Quel paramètre de logging.basicConfig fixe le niveau minimal affiché ?"
)


@for_both_parts("logging", reads=(Scenario.LOG_FORMAT,))
def test_setup_logging_shows_time_level_and_message(view: PartView) -> None:
    """setup_logging() affiche l'heure, le niveau et le message"""
    scenario = view.scenario(Scenario.LOG_FORMAT)
    scenario.require_completed("setup_logging()")
    # A handler counts once its error sample, emitted for real, is seen on the console.
    handlers = [
        handler for handler in scenario.handler_samples if scenario.shown.shows_line(handler.get("error", ""))
    ]
    expect(
        bool(handlers),
        "Après setup_logging(), aucun gestionnaire n'écrit dans la console.",
        "Une configuration avec logging.basicConfig(...) ou un StreamHandler suffit.",
    )
    for handler in handlers:
        sample = handler.get("info", "")
        missing = [
            name
            for name, shown in (
                ("l'heure", sample != handler.get("info_later", "")),
                ("le niveau", "INFO" in sample.upper() and "ERROR" in handler.get("error", "").upper()),
                ("le message", SAMPLE_MESSAGE in sample),
            )
            if not shown
        ]
        expect(
            not missing,
            f"Une ligne de log s'affiche ainsi : « {sample} » ; il y manque {', '.join(missing)}.",
            "Regardez les attributs de LogRecord que l'on peut placer dans le format (documentation du "
            "module logging, « LogRecord attributes »).",
        )


PRINT_HINT = (
    "Utilisez-vous logging (et non print) ? Les messages passent-ils par un gestionnaire de la console ?"
)


def _silent_console(scenario: ScenarioView) -> None:
    """Nothing shown by logging: say what was seen (prints) or why (a level left at WARNING)."""
    if scenario.console:
        return
    fail_on_todo(scenario)
    printed = [line for line in scenario.printed.splitlines() if line.strip()]
    if printed and not scenario.records:
        expect(
            False,
            f"{len(printed)} ligne(s) affichée(s) avec print() pendant main(), aucun message de logging.",
            PRINT_HINT,
        )
    if scenario.root_level > logging.INFO and not scenario.records:
        expect(False, "Rien ne s'affiche dans la console pendant main().", LEVEL_HINT)
    expect(False, "Rien ne s'affiche dans la console pendant main().", PRINT_HINT)


def _names_of(image: Image, names: dict[str, str], files: dict[str, bytes]) -> list[str]:
    """How a line may name an image: its URL, its file (found by content) or filename_from_url's name."""
    found = [path.rsplit("/", 1)[-1] for path, body in files.items() if body == image.body]
    return [image.url, *found, *([names[image.url]] if names.get(image.url) else [])]


def _lines_about(lines: list[str], names: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if any(name and name in line for name in names)]


@for_both_parts("logging", reads=(Scenario.LOG_MESSAGES,))
def test_console_log_tells_start_each_url_each_success_and_end(view: PartView, notes: list[str]) -> None:
    """Le log affiche le début, chaque URL, chaque succès et la fin"""
    scenario = view.scenario(Scenario.LOG_MESSAGES)
    if scenario.setup_status == "not_done":
        raise NotDone(scenario.not_done)
    _silent_console(scenario)
    lines = scenario.console
    names = scenario.names
    files = scenario.files()
    crashed = scenario.crash_text()
    wanted = 1 if crashed else 2  # after a crash, only what came before it is judged
    about = {image.url: _lines_about(lines, _names_of(image, names, files)) for image in scenario.images}
    silent = [url for url, found in about.items() if len(found) < wanted]
    expect(
        not silent,
        f"{len(silent)} image(s) sans {'ligne' if crashed else 'deux lignes'} la nommant "
        f"({'URL en cours' if crashed else 'URL en cours, puis succès'}), par exemple {silent[:1]}.",
        "Loguez l'URL avant le téléchargement, puis le succès en nommant l'image ou le fichier"
        + (" : les lignes des tâches s'entremêlent." if view.part == "async" else "."),
    )
    first = min(min(found) for found in about.values())
    last = max(max(found) for found in about.values())
    if crashed:
        expect(
            first > 0,
            f"{len(lines)} lignes affichées ; aucune ligne de début avant la première URL.",
            "Annoncez le début du lot avant la première URL.",
        )
        notes.append(f"succès et fin du lot non vérifiés ici : {crashed}.")
        return
    expect(
        first > 0 and last < len(lines) - 1,
        f"{len(lines)} lignes affichées ; ligne de début : {'oui' if first > 0 else 'non'}, ligne de fin : "
        f"{'oui' if last < len(lines) - 1 else 'non'}.",
        "Annoncez le début du lot avant la première URL et la fin après la dernière.",
    )


@for_both_parts("logging", weight=0.5, reads=(Scenario.LOG_ERROR_CONNECTION, Scenario.LOG_ERROR_404))
def test_console_log_shows_each_error(view: PartView, notes: list[str]) -> None:
    """Le log affiche chaque erreur"""
    for name, situation in (
        (Scenario.LOG_ERROR_CONNECTION, "connexion refusée"),
        (Scenario.LOG_ERROR_404, "réponse 404"),
    ):
        scenario = view.scenario(name)
        if scenario.setup_status == "not_done" or scenario.not_done:
            raise NotDone(scenario.not_done)
        warnings = [message for level, message in scenario.records if level >= logging.WARNING]
        if not warnings and scenario.failed_call is not None:
            continue  # stopped by the error without logging it: the errors criterion's business
        shown = "\n".join(scenario.console)
        printed = scenario.printed.splitlines()
        if not warnings and printed:
            expect(
                False,
                f"Aucun message de logging pour l'échec de l'image en erreur ({situation}) : "
                f"{len(printed)} ligne(s) affichée(s) avec print() pendant main().",
                PRINT_HINT,
            )
        # Judged on what was shown, even if main() stopped later for another reason.
        expect(
            any(message and message in shown for message in warnings),
            f"Aucune ligne affichée pour l'échec de l'image en erreur ({situation}).",
            "L'erreur est-elle loguée (logger.error), et ce niveau est-il affiché par la console ?",
        )
        return
    # Stopped by both failures before logging them: judged by the errors criterion, and paid
    # here only if main() logs at all (a display check that checked nothing earns nothing).
    logged = any(
        view.scenario(name).records for name in (Scenario.LOG_ERROR_CONNECTION, Scenario.LOG_ERROR_404)
    )
    expect(
        logged,
        "main() s'arrête sur l'image en échec sans avoir affiché aucun message de logging : rien ne "
        "montre que les erreurs seraient affichées.",
        PRINT_HINT,
    )
    notes.append(
        "affichage des erreurs non vérifié : main() s'arrête sur l'image en échec sans rien loguer "
        "(voir le critère errors)."
    )


@for_both_parts("logging", weight=0.5, reads=(Scenario.SCRIPT, Scenario.MAIN))
def test_script_names_every_url_in_its_console_output(view: PartView) -> None:
    """Lancé comme script, le programme affiche dans la console chaque URL téléchargée"""
    scenario = view.scenario(Scenario.SCRIPT)
    # The script's URLs are its server's own: no other scenario can name them.
    console = view.run.console
    written = set(scenario.run.files.values())
    urls = scenario.urls
    stats = view.server(Scenario.SCRIPT)
    expected = stats.expected
    downloaded = [url for url, body in zip(urls, expected, strict=False) if body in written]
    if not downloaded and written and stats.requests >= len(urls):
        downloaded = urls  # fetched, then saved wrongly: download's business; the log is judged
    if not downloaded:
        fail_on_todo(scenario)
        # A script that fetches nothing is download's business: its log is then judged only
        # if the code works when called directly (nothing is earned by doing nothing).
        require_saved_images(view.scenario(Scenario.MAIN))
        return
    silent = [url for url in downloaded if url not in console]
    expect(
        not silent,
        f"{len(silent)} URL sur {len(urls)} n'apparaissent pas dans la console du script.",
        _why_urls_are_missing(scenario),
    )


def _why_urls_are_missing(scenario: ScenarioView) -> str:
    """The hint that what the script showed supports: its lines name something else, or
    nothing is shown because setup_logging() is not called, or the level stays WARNING."""
    shown = [line.strip() for line in scenario.console if line.strip()]
    names = {path.rsplit("/", 1)[-1] for path in scenario.run.files}
    naming_a_file = [line for line in shown if any(name and name in line for name in names)]
    if naming_a_file:
        return (
            f"Vos lignes nomment le fichier enregistré (par exemple « {text.one_line(naming_a_file[0])} ») "
            "mais jamais l'URL téléchargée : loguez l'URL elle-même, par exemple avant chaque téléchargement."
        )
    if shown:
        return (
            f"La console du script affiche {len(shown)} ligne(s) (par exemple « {text.one_line(shown[0])} ») "
            "sans aucune URL : loguez chaque URL avant de la télécharger."
        )
    if not scenario.setup_logging_calls:
        return 'Le bloc « if __name__ == "__main__": » appelle-t-il setup_logging() avant main() ?'
    if scenario.root_level > logging.INFO:
        return LEVEL_HINT
    return PRINT_HINT
