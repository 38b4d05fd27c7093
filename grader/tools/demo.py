"""``python -m grader.tools.demo [CIBLE]``: sync vs async downloads against the local image server.

Runs the target's real entry points (``sync_downloader.py`` then ``async_downloader.py``)
in subprocesses, with the server's URLs, and prints a French summary with the theoretical
bounds: the sequential floor (sum of the latencies) and the concurrent floor (one latency).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.engine.french_numbers import fr_count, fr_milliseconds, fr_number, fr_seconds
from grader.engine.imageserver import ImageServer
from grader.engine.observations import describe_call
from grader.engine.paths import KIT_ROOT, resolve_target
from grader.engine.runs import ScriptRun
from grader.engine.scripts import run_script
from grader.engine.worker.protocol import ScenarioEnding
from grader.tools.demo_summary import paste_lines
from grader.tools.french_cli import FrenchArgumentParser, non_negative_float, positive_int

MODULES = (("synchrone", "sync_downloader.py"), ("asynchrone", "async_downloader.py"))
KNOWN_TARGETS = ("solution", "skeleton")


@dataclass(frozen=True)
class Outcome:
    """One downloader's run, as shown in the summary."""

    label: str
    module_file: Path
    run: ScriptRun
    saved_files: int
    identical_images: int
    peak_concurrency: int


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = FrenchArgumentParser(
        prog="python -m grader.tools.demo",
        description=(
            "Démonstration : lance le téléchargeur synchrone puis le téléchargeur asynchrone\n"
            "d'un dossier sur un serveur d'images local (avec une latence simulée), puis\n"
            "compare leurs durées aux bornes théoriques."
        ),
        epilog=(
            "Exemples :\n"
            "  python -m grader.tools.demo                  # la solution de référence\n"
            "  python -m grader.tools.demo skeleton         # votre travail\n"
            "  python -m grader.tools.demo skeleton --images 50 --latency 0.1"
        ),
    )
    target = parser.add_argument_group("cible")
    target.add_argument(
        "target",
        nargs="?",
        default="solution",
        metavar="CIBLE",
        help="« solution » (défaut), « skeleton » ou le chemin d'un dossier "
        "contenant sync_downloader.py et async_downloader.py",
    )
    options = parser.add_argument_group("serveur d'images")
    options.add_argument(
        "--images",
        type=positive_int,
        default=20,
        metavar="N",
        help="nombre d'images à télécharger (défaut : %(default)s)",
    )
    options.add_argument(
        "--latency",
        type=non_negative_float,
        default=0.2,
        metavar="SECONDES",
        help="latence de chaque requête, en secondes (défaut : %(default)s)",
    )
    options.add_argument(
        "--ports",
        type=positive_int,
        default=2,
        metavar="K",
        help="nombre de ports (d'« hôtes ») du serveur (défaut : %(default)s)",
    )
    return parser.parse_args(argv)


def _missing_files(folder: Path) -> list[str]:
    return [name for _, name in MODULES if not (folder / name).is_file()]


def _display(path: Path) -> str:
    """Path relative to the repository when possible: shorter and familiar to students."""
    try:
        return str(path.relative_to(KIT_ROOT))
    except ValueError:
        return str(path)


def _timeout(server: ImageServer) -> float:
    # Generous: the sequential floor, twice, plus time for imports and slow machines.
    return 2 * server.images * server.latency + 30


def _run_one(server: ImageServer, label: str, module_file: Path) -> Outcome:
    print(f"\n=== Version {label} : {_display(module_file)} ===", flush=True)
    server.reset_stats()
    run = run_script(module_file, server.urls, _timeout(server), echo=True)
    expected = {server.expected_bytes(url) for url in server.urls}
    identical = set(run.files.values()) & expected
    return Outcome(label, module_file, run, len(run.files), len(identical), server.max_in_flight)


def _ok(run: ScriptRun) -> bool:
    return run.ending is ScenarioEnding.REPORTED and run.call.get("status") == "ok"


def _elapsed(outcome: Outcome) -> float:
    return float((outcome.run.observed or {}).get("elapsed") or 0.0)


def _explain_failure(outcome: Outcome, timeout: float) -> None:
    run, name = outcome.run, _display(outcome.module_file)
    call = run.call
    # No emoji: a redirected Windows console (cp1252) could not encode it.
    if run.ending is ScenarioEnding.HUNG:
        print(
            f"\nAttention : {name} ne s'est pas terminé en {fr_seconds(timeout, 0)} : "
            "processus arrêté. Une requête sans timeout, ou une boucle infinie ?"
        )
    elif call.get("status") == "not_done":
        print(
            f"\nAttention : votre fichier {name} n'est pas encore terminé : {call.get('todo')} ; "
            "complétez-le puis relancez."
        )
    elif run.ending is not ScenarioEnding.REPORTED or call.get("status") != "ok":
        print(f"\nAttention : {describe_call(name, call)}.")


def _print_outcome(outcome: Outcome, images: int) -> None:
    observed = outcome.run.observed or {}
    main_result = observed.get("main_result")
    returned = (
        f"main() a renvoyé {fr_seconds(main_result)}"
        if main_result is not None
        else "main() n'a pas renvoyé de durée"
    )
    written = fr_count(outcome.saved_files, "fichier écrit", "fichiers écrits")
    at_once = fr_count(outcome.peak_concurrency, "requête", "requêtes")
    print(f"  {outcome.label.capitalize():<11}: {fr_seconds(_elapsed(outcome))} ({returned})")
    print(
        f"  {'':<11}  {outcome.identical_images}/{images} images correctes ({written}), "
        f"au plus {at_once} en même temps sur le serveur"
    )


def _print_summary(server: ImageServer, outcomes: list[Outcome]) -> None:
    images, latency = server.images, server.latency
    ports = len(server.base_urls)
    print(
        f"\n=== Résumé : {images} images, latence de {fr_milliseconds(latency)} par requête, "
        f"{ports} port(s) ==="
    )
    finished = [outcome for outcome in outcomes if _ok(outcome.run)]
    for outcome in finished:
        _print_outcome(outcome, images)
    if len(finished) == len(MODULES):
        sync_time, async_time = (_elapsed(outcome) for outcome in finished)
        ratio = sync_time / async_time if async_time > 0 else 0.0
        if ratio >= 1.5:
            print(
                f"  Accélération : {fr_number(ratio, 1)} fois plus rapide "
                "(durée synchrone / durée asynchrone)"
            )
        else:
            print(
                "  Accélération : aucune (les deux versions prennent le même temps). La version asynchrone "
                "attend-elle chaque téléchargement avant de lancer le "
                "suivant ? Regardez le nombre de requêtes "
                "« en même temps sur le serveur » ci-dessus."
            )
    else:
        print("  Accélération : non calculée, les deux versions doivent d'abord aboutir.")
    print("  Bornes théoriques :")
    print(f"    plancher séquentiel (somme des latences)   : {fr_seconds(images * latency)}")
    print(f"    plancher concurrent (une seule latence)    : {fr_seconds(latency)}")
    times = {outcome.label: _elapsed(outcome) if _ok(outcome.run) else None for outcome in outcomes}
    print("\n" + "\n".join(paste_lines(times.get("synchrone"), times.get("asynchrone"), images, latency)))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    folder = resolve_target(args.target)
    missing = _missing_files(folder) if folder.is_dir() else [name for _, name in MODULES]
    if missing:
        print(
            f"Cible introuvable ou incomplète : {folder} (manque : {', '.join(missing)}).",
            file=sys.stderr,
        )
        return 2
    with ImageServer(images=args.images, latency=args.latency, ports=args.ports) as server:
        print(
            f"Serveur d'images local : {args.images} images, latence de "
            f"{fr_milliseconds(args.latency)}, sur {', '.join(server.base_urls)}"
        )
        outcomes = [_run_one(server, label, folder / name) for label, name in MODULES]
        for outcome in outcomes:
            _explain_failure(outcome, _timeout(server))
        _print_summary(server, outcomes)
    return 0 if all(_ok(outcome.run) for outcome in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
