"""similarites.csv and the report's « Rendus très proches » section (side-by-side views).

The search itself (:mod:`grader.batch.similarity`) needs the optional Poetry group
« similarity » (copydetect, numpy); without it, the section says how to install it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from grader.batch.spreadsheet import text_cell, write_rows
from grader.engine.french_numbers import fr_number

if TYPE_CHECKING:
    from grader.batch.similarity import Pair

DEFAULT_THRESHOLD = 0.6  # of one file's own code found in the other
FILE_NAME = "similarites.csv"
TITLE = "Rendus très proches"
MAX_ROWS = 150  # pairs listed in the report; all of them are in the CSV
MAX_VIEWS = 40  # side-by-side views in the report, most alike first
WARNING = (
    "Une forte ressemblance est une piste à examiner, pas une preuve : deux rendus honnêtes "
    "d'un exercice guidé peuvent se ressembler, et une copie retravaillée peut passer sous le "
    "seuil. Elle ne change jamais la note."
)
METHOD = (
    "Chaque partie est comparée séparément, avec copydetect (empreintes du code normalisé, "
    "méthode de MOSS) : les noms de variables et de fonctions, les chaînes et les commentaires "
    "sont ignorés, l'ordre des fonctions aussi, et le code du squelette fourni ne compte jamais "
    "comme partagé."
)

UNAVAILABLE = (
    "Recherche des rendus très proches non faite : la bibliothèque copydetect n'est pas installée. "
    "Pour l'ajouter : poetry install --with similarity, puis relancez grade_all (rien n'est recorrigé)."
)

CSS = """
#rendus-proches .notice { background: #fff8e1; border-left: 4px solid var(--warn); padding: 8px 12px; }
#rendus-proches details { border-top: 1px solid var(--line); padding: 8px 0; }
#rendus-proches summary { cursor: pointer; font-weight: 600; }
#rendus-proches .cote { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; margin-top: 8px; }
#rendus-proches .cote h3 { font-size: 14px; margin: 0 0 4px; }
#rendus-proches .cote pre { max-height: 560px; overflow: auto; font-size: 12px; background: #fafbfc;
  border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
#rendus-proches mark { background: #fde68a; color: inherit; }
@media print {  /* on paper, the table of pairs only: the code side by side is for the screen */
  #rendus-proches details, #rendus-proches .vue { display: none !important; }
}
"""


def percent(value: float) -> str:
    return f"{fr_number(value * 100, 0, trim=True)} %"


def header() -> list[str]:
    return [
        "Partie",
        "Étudiant 1",
        "Étudiant 2",
        "Similarité (%)",
        "Code de 1 retrouvé chez 2 (%)",
        "Code de 2 retrouvé chez 1 (%)",
        "Dossier 1",
        "Dossier 2",
    ]


def write_similarities(
    pairs: Sequence[Pair] | None, names: Mapping[str, str], folders: Mapping[str, str], path: Path
) -> None:
    """One line per pair above the threshold; ``names`` and ``folders`` by student key.

    Without the search (None), no file: an old one would pass for this run's.
    """
    if pairs is None:
        path.unlink(missing_ok=True)
        return
    rows = [
        [
            pair.part,
            text_cell(names.get(pair.first, pair.first)),
            text_cell(names.get(pair.second, pair.second)),
            fr_number(pair.similarity * 100, 0, trim=True),
            fr_number(pair.share[0] * 100, 0, trim=True),
            fr_number(pair.share[1] * 100, 0, trim=True),
            text_cell(folders.get(pair.first, "")),
            text_cell(folders.get(pair.second, "")),
        ]
        for pair in pairs
    ]
    write_rows(path, header(), rows)


def _view(number: int, pair: Pair, first: str, second: str) -> str:
    columns = "".join(
        f"<div><h3>{escape(name)} · {percent(share)} de son code retrouvé</h3><pre>{code}</pre></div>"
        for name, share, code in zip((first, second), pair.share, pair.highlighted(), strict=True)
    )
    opened = " open" if number == 1 else ""  # the closest pair is shown at once
    return (
        f'<details id="paire-{number}"{opened}><summary>{escape(pair.part)} : {escape(first)} ↔ '
        f'{escape(second)} ({percent(pair.similarity)})</summary><div class="cote">{columns}</div></details>'
    )


def section(pairs: Sequence[Pair] | None, names: Mapping[str, str], threshold: float) -> str:
    """The HTML section: the warning, the pairs (most alike first), and their side-by-side views
    (or, without the search, how to install it)."""
    if pairs is None:
        return f'<section id="rendus-proches"><h2>{TITLE}</h2><p>{escape(UNAVAILABLE)}</p></section>'
    intro = (
        f'<p class="notice">{escape(WARNING)}</p><p class="comment">{escape(METHOD)} Seuil : '
        f"{percent(threshold)} du code propre d'un des deux rendus retrouvé chez l'autre "
        f"(option --seuil). Toutes les paires sont dans {FILE_NAME}.</p>"
    )
    style = f"<style>{CSS}</style>"
    if not pairs:
        body = f"<p>Aucune paire de rendus au-dessus du seuil de {percent(threshold)}.</p>"
        return f'<section id="rendus-proches">{style}<h2>{TITLE}</h2>{intro}{body}</section>'

    def name(key: str) -> str:
        return names.get(key, key)

    rows = []
    for number, pair in enumerate(pairs[:MAX_ROWS], start=1):
        link = f'<a href="#paire-{number}">côte à côte</a>' if number <= MAX_VIEWS else ""
        rows.append(
            f"<tr><td class=num><b>{percent(pair.similarity)}</b></td><td>{escape(pair.part)}</td>"
            f"<td>{escape(name(pair.first))}</td><td>{escape(name(pair.second))}</td>"
            f"<td class=num>{percent(pair.share[0])} / {percent(pair.share[1])}</td>"
            f"<td class=vue>{link}</td></tr>"
        )
    more = len(pairs) - MAX_ROWS
    rest = f" ; les {MAX_ROWS} plus proches ci-dessous, les {more} autres dans {FILE_NAME}"
    table = (
        f"<p>{len(pairs)} paire(s) au-dessus du seuil{rest if more > 0 else ''}.</p>"
        "<table><tr><th class=num>similarité</th><th>partie</th><th>étudiant 1</th><th>étudiant 2</th>"
        "<th class=num>code propre retrouvé (1 / 2)</th><th class=vue></th></tr>" + "".join(rows) + "</table>"
    )
    views = "".join(
        _view(number, pair, name(pair.first), name(pair.second))
        for number, pair in enumerate(pairs[:MAX_VIEWS], start=1)
    )
    return f'<section id="rendus-proches">{style}<h2>{TITLE}</h2>{intro}{table}{views}</section>'
