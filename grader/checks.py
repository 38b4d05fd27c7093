"""Assertions shared by the checks, each failing with what was observed and a hint."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from grader.probes import ERROR_PAGE, Console, Image
from grader.student import expect


def files_under(folder: Path) -> dict[Path, bytes]:
    if not folder.is_dir():
        return {}
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _elsewhere(output_dir: Path, scratch: Path) -> str:
    others = [p for p in files_under(scratch) if not p.is_relative_to(output_dir)]
    if not others:
        return ""
    shown = ", ".join(str(p.relative_to(scratch)) for p in others[:3])
    return f" {len(others)} fichier(s) écrit(s) ailleurs : {shown}."


def expect_saved(images: Iterable[Image], output_dir: Path, scratch: Path, function: str) -> None:
    """Every image's bytes in one file of its own inside output_dir, and nothing else."""
    images = list(images)
    files = files_under(output_dir)
    contents = list(files.values())
    missing = [image for image in images if contents.count(image.body) == 0]
    expect(
        not missing,
        f"Après {function}, {len(images) - len(missing)} image(s) sur {len(images)} "
        f"se trouvent dans le dossier de sortie ({len(files)} fichier(s)).{_elsewhere(output_dir, scratch)}",
        "Enregistrez-vous le contenu binaire de chaque réponse, dans le dossier reçu en "
        "paramètre, avec un nom de fichier propre à chaque URL (filename_from_url) ?",
    )
    duplicated = [image for image in images if contents.count(image.body) > 1]
    expect(
        not duplicated and len(files) == len(images),
        f"{len(files)} fichier(s) écrit(s) pour {len(images)} image(s).",
        "Chaque URL doit donner exactement un fichier : vérifiez le nom de fichier et la boucle.",
    )


def expect_file_count(expected: int, output_dir: Path, scratch: Path, situation: str) -> None:
    """As many files as images that should succeed (their content is download's business)."""
    files = files_under(output_dir)
    expect(
        len(files) == expected,
        f"Après {situation}, {len(files)} fichier(s) dans le dossier de sortie, {expected} attendu(s)."
        f"{_elsewhere(output_dir, scratch)}",
        "Une image en échec ne doit ni arrêter les autres ni laisser de fichier : où se "
        "trouvent vos try/except, et que font-ils ?",
    )


def expect_no_error_page(output_dir: Path) -> None:
    pages = [path.name for path, body in files_under(output_dir).items() if body == ERROR_PAGE]
    expect(
        not pages,
        f"La page d'erreur HTTP a été enregistrée comme image : {', '.join(pages)}.",
        "Une réponse 404 ou 500 arrive sans exception réseau : que faut-il vérifier sur la "
        "réponse avant d'écrire le fichier ?",
    )


def expect_error_logged(console: Console, failures: int) -> None:
    errors = console.collector.at_least(40)
    expect(
        len(errors) >= failures,
        f"{failures} téléchargement(s) en échec, {len(errors)} message(s) de niveau ERROR ou plus.",
        "Chaque échec doit être logué explicitement au niveau ERROR (logger.error ou "
        "logger.exception), pas avec print ni en silence.",
    )


_CLOCK_OR_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?")
# A number standing alone (not inside a word or a file name), with an optional time unit.
_DURATION = re.compile(
    r"(?<![\w.,\-])(\d+(?:[.,]\d+)?)\s*(ms|millisecondes?|s|sec|secs|secondes?|seconds?)?(?![\w\-])",
    re.IGNORECASE,
)


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


def shows_duration(text: str, seconds: float) -> bool:
    """True when the text shows ``seconds``, at the precision it is displayed with."""
    return any(abs(value - seconds) <= rounding + 0.02 for value, rounding in durations_in(text))
