"""Judgements shared by several checks, each failing with what was observed and a hint."""

from __future__ import annotations

import re

from grader.engine.observations import ScenarioView, shown_name
from grader.engine.outcomes import Broken, NotDone, expect

AWAIT_HINT = (
    "Une coroutine, comme le résultat d'asyncio.gather(...), ne fait rien tant qu'elle n'est pas "
    "attendue : il manque un await à la ligne indiquée."
)


def _fail_if_never_awaited(scenario: ScenarioView, what: str) -> None:
    dropped = scenario.never_awaited_text()
    expect(not dropped, f"{what} : {dropped}.", AWAIT_HINT)


def require_some_work(scenario: ScenarioView, function: str = "main()", served: int = 0) -> None:
    """A check of an absence earns nothing unless the code did something: it sent requests.

    ``served``: requests counted by the image server, for scenarios without mocks.
    Raises NotDone for a TODO, Broken for a crash before any request, Lost otherwise.
    """
    if scenario.requests_sent > 0 or served > 0 or scenario.saved():
        return
    _explain_missing_work(scenario, function, "n'a envoyé aucune requête")
    expect(
        False,
        f"{function} n'a envoyé aucune requête : rien à vérifier ici.",
        "Le téléchargement est-il écrit ? Appelez download_and_save() pour chaque URL.",
    )


def _explain_missing_work(scenario: ScenarioView, function: str, missing: str) -> None:
    """When the work an absence check needs was not done, the likeliest cause first: a TODO,
    a crash before the work, then a coroutine never awaited."""
    fail_on_todo(scenario)
    crash = scenario.crash_text(function)
    if crash:
        raise Broken(crash)
    _fail_if_never_awaited(scenario, f"{function} {missing}")


def require_saved_images(
    scenario: ScenarioView, function: str = "main()", folder: str = "images", any_file: bool = False
) -> None:
    """A check of an absence about the images earns nothing unless images were saved (with
    ``any_file``: unless files were written, whatever they hold).

    Raises NotDone for a TODO, Broken for a crash before any image, Lost otherwise.
    """
    if scenario.saved(folder) or (any_file and scenario.files(folder)):
        return
    _explain_missing_work(scenario, function, "n'a enregistré aucune image")
    expect(
        False,
        f"{function} n'a enregistré aucune image ({scenario.requests_sent} requête(s) envoyée(s), "
        f"{len(scenario.files(folder))} fichier(s) écrit(s)) : rien à vérifier ici.",
        "Commencez par le cas qui réussit : télécharger chaque URL et enregistrer l'image "
        "(critère download).",
    )


def fail_on_todo(scenario: ScenarioView) -> None:
    if scenario.not_done:
        raise NotDone(scenario.not_done)


def _elsewhere(scenario: ScenarioView, folder: str) -> str:
    others = scenario.files_elsewhere(folder)
    if not others:
        return ""
    return f" {len(others)} fichier(s) écrit(s) ailleurs : {', '.join(others[:3])}."


def _empty_files_hint(scenario: ScenarioView, folder: str) -> str:
    files = scenario.files(folder)
    empty = [name for name, body in files.items() if not body]
    if not files or len(empty) != len(files):
        return ""
    if scenario.never_awaited:
        return f" Les fichiers sont vides : {scenario.never_awaited_text()}."
    return " Les fichiers sont vides : l'écriture n'a jamais eu lieu."


def expect_saved(scenario: ScenarioView, function: str, folder: str = "images") -> None:
    """Every image's bytes in one file of its own inside the folder, and nothing else."""
    images = scenario.images
    files = scenario.files(folder)
    saved = scenario.saved(folder)
    if len(saved) < len(images):
        fail_on_todo(scenario)
    empty = _empty_files_hint(scenario, folder)
    dropped = "" if empty or not scenario.never_awaited else f" {scenario.never_awaited_text()}."
    expect(
        len(saved) == len(images),
        f"Après {function}, {len(saved)} image(s) sur {len(images)} se trouvent dans le dossier de "
        f"sortie ({len(files)} fichier(s)).{empty}{dropped}{_elsewhere(scenario, folder)}",
        "Vérifiez que chaque await est bien là (response.read(), file.write()) et que le contenu est écrit."
        if empty
        else AWAIT_HINT
        if dropped
        else "Enregistrez-vous le contenu binaire de chaque réponse, dans le dossier reçu en paramètre, "
        "avec un nom de fichier propre à chaque URL (filename_from_url) ?",
    )
    contents = list(files.values())
    duplicated = [image for image in images if contents.count(image.body) > 1]
    expect(
        not duplicated and len(files) == len(images),
        f"{len(files)} fichier(s) écrit(s) pour {len(images)} image(s).",
        "Chaque URL doit donner exactement un fichier : vérifiez le nom de fichier et la boucle.",
    )


def expect_file_count(scenario: ScenarioView, situation: str, folder: str = "images") -> None:
    """As many files as images that should succeed (their content is download's business),
    and main() still standing at the end: an error it let through is not handled."""
    files = scenario.files(folder)
    expected = len(scenario.images)
    # An exception let through is an error not handled; sys.exit() is another criterion's business.
    crash = scenario.escaped_error()
    if len(files) != expected or crash:
        fail_on_todo(scenario)
    stopped = f" {crash} : l'erreur n'a pas été rattrapée." if crash else ""
    dropped = f" {scenario.never_awaited_text()}." if scenario.never_awaited and not files else ""
    expect(
        len(files) == expected and not crash,
        f"Après {situation}, {len(files)} fichier(s) dans le dossier de sortie, {expected} attendu(s)."
        f"{stopped}{dropped}{_elsewhere(scenario, folder)}",
        AWAIT_HINT
        if dropped
        else "Une image en échec ne doit ni arrêter les autres ni laisser de fichier : où se trouvent vos "
        "try/except, et que font-ils ?",
    )


def expect_no_error_page(scenario: ScenarioView, folder: str = "images") -> None:
    pages = [
        shown_name(name.rsplit("/", 1)[-1])
        for name, body in scenario.files(folder).items()
        if b"<html" in body[:200]
    ]
    expect(
        not pages,
        f"La page d'erreur HTTP a été enregistrée comme image : {', '.join(pages)}.",
        "Une réponse 404 ou 500 arrive sans exception réseau : que faut-il vérifier sur la réponse "
        "avant d'écrire le fichier ?",
    )


def expect_error_logged(scenario: ScenarioView, failures: int) -> None:
    logged = scenario.errors_logged()
    printed = len(scenario.printed.splitlines())
    expect(
        logged >= failures,
        f"{failures} téléchargement(s) en échec, {logged} message(s) de niveau ERROR ou plus"
        + (f" ; {printed} ligne(s) affichée(s) avec print()." if printed else "."),
        "Chaque échec doit être logué explicitement au niveau ERROR (logger.error ou logger.exception), "
        "pas avec print ni en silence.",
    )


_CLOCK_OR_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?")
# A number standing alone (not inside a word or a file name), with an optional time unit.
# The units people write: s, sec(s), seconde(s), second(s); ms, msec(s), millisec(s),
# milliseconde(s), millisecond(s) (the longer ones first, so that « msec » is not read as « ms »).
_UNITS = r"millisecondes?|milliseconds?|millisecs?|msecs?|ms|secondes?|seconds?|secs?|s"
_DURATION = re.compile(rf"(?<![\w.,\-])(\d+(?:[.,]\d+)?)\s*({_UNITS})?(?![\w\-])", re.IGNORECASE)
UNITS_READ = "s, sec, secondes, ms ou millisecondes"


def durations_in(text: str) -> list[tuple[float, float]]:
    """Durations shown in the text, in seconds, each with the rounding of its display.

    Read: a number with a unit (« 250 ms », « 1.2 s ») or with decimals (« 0,25 »).
    Left out: timestamps, bare integers (« 142 octets ») and digits inside names.
    """
    found = []
    for number, unit in _DURATION.findall(_CLOCK_OR_DATE.sub(" ", text)):
        value = float(number.replace(",", "."))
        _, separator, fraction = number.replace(",", ".").partition(".")
        rounding = 0.5 * 10 ** -len(fraction) if separator else 0.5
        if unit.lower().startswith("m"):
            found.append((value / 1000, rounding / 1000))
        elif unit or separator:
            found.append((value, rounding))
    return found
