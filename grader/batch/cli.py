"""Command line: python -m grader.batch DOSSIER [--out SORTIE] [--jobs N] [--force] [--simulation] …"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from grader.batch import moodle, moodle_sheet, similarity_report
from grader.batch.cache import Planned
from grader.batch.discovery import EXPECTED_FILES
from grader.batch.outcome import StudentOutcome
from grader.batch.run import SKELETON_DIR, BatchError, default_out_dir, run_batch
from grader.batch.runner import DEFAULT_TIMEOUT
from grader.engine.french_numbers import fr_number
from grader.engine.statuses import GradeStatus


class EndTimeColumn(ProgressColumn):
    """« fin vers 14:32 »: rich's own estimate of the remaining time, as a clock time."""

    def render(self, task: Task) -> Text:
        remaining = task.time_remaining
        if remaining is None or task.finished:
            return Text("")
        end = datetime.now() + timedelta(seconds=remaining)
        return Text(f"· fin vers {end:%H:%M}", style="progress.remaining")


NOTHING_TO_DO = (
    "Rien à recorriger : ni les rendus ni le correcteur n'ont changé depuis la dernière correction."
)


def simulation_text(planned: Sequence[Planned]) -> str:
    """« --simulation »: what a real run would grade, and why, in French."""
    stale = [entry for entry in planned if entry.reason is not None]
    if not planned:
        return "Simulation : aucun rendu trouvé."
    if not stale:
        return f"Simulation : {len(planned)} rendu(s), aucun à corriger. {NOTHING_TO_DO}"
    lines = [
        f"Simulation : {len(stale)} rendu(s) sur {len(planned)} seraient corrigés "
        "(rien n'est corrigé ni écrit) :"
    ]
    lines += [f"  {entry.submission.student} : {entry.reason}" for entry in stale]
    kept = len(planned) - len(stale)
    if kept:
        lines.append(f"{kept} autre(s) rendu(s) seraient repris tels quels.")
    return "\n".join(lines)


def threshold(text: str) -> float:
    """« --seuil 60 » (or 0.6): the similarity threshold, as a fraction."""
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        message = f"un pourcentage est attendu (par exemple 60), pas « {text} »"
        raise argparse.ArgumentTypeError(message) from None
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"le seuil doit être compris entre 0 et 100 %, pas {text}")
    return value if value <= 1 else value / 100


def parser() -> argparse.ArgumentParser:
    cores = os.cpu_count() or 1
    result = argparse.ArgumentParser(
        prog="python -m grader.batch",
        description=(
            "Corrige tous les rendus d'une promotion : chaque sous-dossier de DOSSIER est un rendu "
            "(ou DOSSIER est l'archive zip « Télécharger tous les travaux remis » de Moodle). "
            "Écrit notes.csv, rapport.html (avec les notes modifiées et les rendus très proches), "
            "changements.csv, similarites.csv et un fichier de résultats par étudiant."
        ),
    )
    result.add_argument("source", type=Path, metavar="DOSSIER", help="dossier des rendus ou archive zip")
    result.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="SORTIE",
        help="dossier des résultats (défaut : DOSSIER-notes, à côté)",
    )
    result.add_argument(
        "--jobs",
        type=int,
        default=cores,
        metavar="N",
        help=f"corrections en parallèle (défaut : {cores}, un par cœur)",
    )
    result.add_argument("--force", action="store_true", help="tout recorriger, même les rendus inchangés")
    result.add_argument(
        "--simulation",
        action="store_true",
        help="dire ce qui serait corrigé (et pourquoi) sans rien corriger ni écrire",
    )
    result.add_argument(
        "--seuil",
        type=threshold,
        default=similarity_report.DEFAULT_THRESHOLD,
        metavar="P",
        help=(
            "rendus très proches : part du code propre d'un rendu retrouvée chez un autre, en %% "
            f"(défaut : {similarity_report.DEFAULT_THRESHOLD * 100:g}) ; simple piste, jamais une note"
        ),
    )
    result.add_argument(
        "--squelette",
        type=Path,
        default=SKELETON_DIR,
        metavar="DOSSIER",
        help="code de départ commun à tous, jamais compté comme partagé (défaut : skeleton/ du kit)",
    )
    result.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"durée maximale d'une correction en secondes (défaut : {DEFAULT_TIMEOUT:g})",
    )
    result.add_argument(
        "--moodle-feuille",
        type=Path,
        default=None,
        metavar="FEUILLE.csv",
        help="feuille d'évaluation téléchargée depuis le devoir Moodle : en écrit une copie remplie "
        f"(notes et commentaires), {moodle_sheet.FILE_NAME}, à déposer dans Moodle",
    )
    return result


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    if arguments.jobs < 1:
        parser().error("--jobs doit valoir au moins 1")
    if not any((arguments.squelette / name).is_file() for name in EXPECTED_FILES):
        parser().error(f"--squelette : {arguments.squelette} ne contient ni {' ni '.join(EXPECTED_FILES)}")
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]Correction[/]"),
        BarColumn(bar_width=16),
        MofNCompleteColumn(),
        TextColumn("rendus · reste"),
        TimeRemainingColumn(),
        EndTimeColumn(),
        console=console,
        disable=arguments.simulation,  # nothing is graded
    )
    task = progress.add_task("correction", total=None)
    seen: Counter[GradeStatus] = Counter()

    def on_start(total: int, to_grade: int) -> None:
        progress.update(task, total=total)
        if to_grade == 0 and total:
            console.print(NOTHING_TO_DO)
        elif to_grade < total:
            console.print(
                f"{total - to_grade} rendu(s) inchangé(s) depuis la dernière correction : repris tels quels."
            )

    def on_done(outcome: StudentOutcome) -> None:
        seen[outcome.statut] += 1
        progress.advance(task)

    source = arguments.source
    out = arguments.out or default_out_dir(source.resolve())
    try:  # read before grading: a wrong worksheet is said at once, not after the whole class
        sheet = moodle_sheet.read_worksheet(arguments.moodle_feuille) if arguments.moodle_feuille else None
    except moodle_sheet.WorksheetError as error:
        console.print(f"[red]Erreur :[/] {error}")
        return 2
    console.print(f"Rendus : {source}  →  résultats : {out}  ({arguments.jobs} correction(s) à la fois)")
    try:
        with progress:
            summary = run_batch(
                source,
                out,
                jobs=arguments.jobs,
                force=arguments.force,
                simulation=arguments.simulation,
                threshold=arguments.seuil,
                skeleton=arguments.squelette,
                timeout=arguments.timeout,
                on_start=on_start,
                on_done=on_done,
            )
    except BatchError as error:
        console.print(f"[red]Erreur :[/] {error}")
        return 2
    for warning in summary.warnings:
        console.print(f"[yellow]Attention :[/] {warning}")
    if summary.simulation:
        print(simulation_text(summary.planned))
        return 0
    statuses = ", ".join(f"{seen[s]} {s}" for s in GradeStatus if seen[s])
    scores = [outcome.score for outcome in summary.outcomes]
    mean = fr_number(sum(scores) / len(scores), trim=True) if scores else "—"
    print(
        f"{len(summary.outcomes)} rendu(s) : {summary.graded} corrigé(s), {summary.reused} repris, "
        f"en {fr_number(summary.wall_time, 1, trim=True)} s ; moyenne {mean}/20 ; "
        f"{statuses or 'aucun rendu'}."
    )
    moved = [o for o in summary.outcomes if o.change is not None and not o.reused]
    if summary.graded and any(entry.previous is not None for entry in summary.planned):
        print(f"Notes modifiées par cette correction : {len(moved)} ({summary.changes})")
    print(f"Notes : {summary.gradebook}")
    print(f"Rapport : {summary.report}")
    if summary.look_alike is None:
        console.print(f"[yellow]Attention :[/] {similarity_report.UNAVAILABLE}")
    else:
        print(
            f"Rendus très proches (piste à examiner, sans effet sur les notes) : {summary.look_alike} "
            f"paire(s) au-dessus de {fr_number(arguments.seuil * 100, trim=True)} % ({summary.similarities})"
        )
    class_name = source.stem if source.is_file() else source.resolve().name
    done, notes = moodle.export(summary.outcomes, summary.out_dir, class_name, sheet)
    for line in done:
        print(line)
    for note in notes:
        console.print(f"[yellow]Attention :[/] {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
