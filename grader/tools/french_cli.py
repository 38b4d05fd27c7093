"""Small helpers shared by the kit's commands: a French argparse and its argument types.

Numbers are formatted by :mod:`grader.engine.french_numbers` (one formatter for the whole kit).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from typing import NoReturn

# argparse only ships English messages; students read these, so the common ones are translated.
_ERROR_TRANSLATIONS: tuple[tuple[str, str], ...] = (
    (r"^unrecognized arguments: (.*)$", r"arguments non reconnus : \1"),
    (r"^the following arguments are required: (.*)$", r"arguments obligatoires manquants : \1"),
    (r"^argument (.*?): expected one argument$", r"l'option \1 attend une valeur"),
    (
        r"^argument (.*?): invalid choice: (.*?) \(choose from (.*)\)$",
        r"l'option \1 n'accepte pas \2 (valeurs possibles : \3)",
    ),
    (r"^argument (.*?): invalid \w+ value: (.*)$", r"valeur invalide pour \1 : \2"),
    (r"^argument (.*?): (.*)$", r"\1 : \2"),
)


def translate_error(message: str) -> str:
    """Turns one of argparse's English error messages into French (unchanged if unknown)."""
    for pattern, replacement in _ERROR_TRANSLATIONS:
        translated, count = re.subn(pattern, replacement, message)
        if count:
            return translated
    return message


class _FrenchHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help formatter with French usage prefix and section titles (« utilisation : »)."""

    def add_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[argparse._MutuallyExclusiveGroup],
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, "utilisation : " if prefix is None else prefix)

    def start_section(self, heading: str | None) -> None:
        # argparse glues ":" to the title; French typography wants a space before it.
        super().start_section(f"{heading} " if heading else heading)


class FrenchArgumentParser(argparse.ArgumentParser):
    """ArgumentParser whose help, usage and error messages are in French."""

    def __init__(self, *, prog: str, description: str, epilog: str | None = None) -> None:
        super().__init__(
            prog=prog,
            description=description,
            epilog=epilog,
            formatter_class=_FrenchHelpFormatter,
            add_help=False,
        )
        # "options" is already French; only the built-in --help text needs replacing.
        self.add_argument("-h", "--help", action="help", help="affiche cette aide et quitte")

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {translate_error(message)}\n")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1, with a French message otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas un nombre entier") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} doit être supérieur ou égal à 1")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (used for ports, where 0 means "any free port")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas un nombre entier") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} ne peut pas être négatif")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a number of seconds >= 0; accepts a French decimal comma too."""
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas un nombre") from None
    if not value >= 0:  # also rejects NaN
        raise argparse.ArgumentTypeError(f"{text} ne peut pas être négatif")
    return value


def int_list(text: str) -> list[int]:
    """argparse type: a comma-separated list of integers >= 1, e.g. « 10,50,200 »."""
    return [positive_int(part.strip()) for part in text.split(",") if part.strip()]
