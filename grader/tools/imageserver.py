"""``python -m grader.tools.imageserver``: the grader's local image server, run by hand.

The server itself (:class:`~grader.engine.imageserver.ImageServer`) belongs to the engine,
which serves every grade's images with it; this module is only its French command line.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence

from grader.engine.french_numbers import fr_milliseconds
from grader.engine.imageserver import FAULT_KINDS, STATS_PATH, ImageServer
from grader.tools.french_cli import (
    FrenchArgumentParser,
    non_negative_float,
    non_negative_int,
    positive_int,
)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = FrenchArgumentParser(
        prog="python -m grader.tools.imageserver",
        description=(
            "Serveur d'images local pour le TP : sert N images PNG toutes différentes, avec\n"
            "une latence simulée par requête, sur un ou plusieurs ports (autant d'« hôtes »).\n"
            "Les adresses /fault/404/…, /fault/500/…, /fault/drop/… et /fault/stall/…\n"
            "simulent des pannes. Le serveur tourne jusqu'à Ctrl+C."
        ),
        epilog="Exemple : python -m grader.tools.imageserver --images 50 --latency 0.5 --ports 3",
    )
    parser.add_argument(
        "--images",
        type=positive_int,
        default=20,
        metavar="N",
        help="nombre d'images servies (défaut : %(default)s)",
    )
    parser.add_argument(
        "--latency",
        type=non_negative_float,
        default=0.2,
        metavar="SECONDES",
        help="latence de chaque réponse, en secondes (défaut : %(default)s)",
    )
    parser.add_argument(
        "--jitter",
        type=non_negative_float,
        default=0.0,
        metavar="SECONDES",
        help="variation aléatoire de la latence, ± SECONDES (défaut : %(default)s)",
    )
    parser.add_argument(
        "--ports",
        type=positive_int,
        default=1,
        metavar="K",
        help="nombre de ports (d'« hôtes ») entre lesquels répartir les images (défaut : %(default)s)",
    )
    parser.add_argument(
        "--port-base",
        type=non_negative_int,
        default=0,
        metavar="PORT",
        help="premier port à utiliser, les suivants sont PORT+1, PORT+2… "
        "(défaut : 0 = ports libres choisis au hasard)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="graine des couleurs des images et de la variation de latence (défaut : %(default)s)",
    )
    parser.add_argument(
        "--bases",
        action="store_true",
        help="n'affiche que les adresses de base, pas la liste des URL",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="affiche une seule ligne JSON (urls, base_urls, seed) pour un autre programme",
    )
    return parser.parse_args(argv)


def _print_banner(server: ImageServer, show_urls: bool) -> None:
    jitter = f" (± {fr_milliseconds(server.jitter)})" if server.jitter else ""
    print(
        f"Serveur d'images démarré : {server.images} images, "
        f"latence {fr_milliseconds(server.latency)}{jitter}, {len(server.base_urls)} port(s)."
    )
    print("Adresses de base :")
    for base in server.base_urls:
        print(f"  {base}")
    if show_urls:
        print("URL des images :")
        for url in server.urls:
            print(f"  {url}")
    print("Pannes simulées :")
    for kind in FAULT_KINDS:
        print(f"  {kind:<5} : {server.fault_url(kind)}")
    print(f"Statistiques : {server.base_urls[0]}{STATS_PATH} (?reset=1 pour les remettre à zéro)")
    print("Appuyez sur Ctrl+C pour arrêter le serveur.", flush=True)


def _announce(server: ImageServer, args: argparse.Namespace) -> None:
    if args.json:
        description = {"urls": server.urls, "base_urls": server.base_urls, "seed": args.seed}
        print(json.dumps(description), flush=True)
    else:
        _print_banner(server, show_urls=not args.bases)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    # A parent process (the bench) stops us with SIGTERM: shut down as cleanly as for Ctrl+C.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    server = ImageServer(
        images=args.images,
        latency=args.latency,
        jitter=args.jitter,
        ports=args.ports,
        seed=args.seed,
        port_base=args.port_base,
    )
    # Everything inside the try: a signal may arrive at any point, even during start().
    try:
        server.start()
        _announce(server, args)
        threading.Event().wait()  # the server runs in its own thread; wait for Ctrl+C
    except KeyboardInterrupt:
        pass
    except OSError as error:
        print(f"Impossible d'ouvrir les ports demandés : {error}", file=sys.stderr)
        return 1
    finally:
        server.stop()
    if not args.json:
        print(
            f"\nServeur arrêté : {server.requests_served} requête(s) reçue(s), "
            f"au plus {server.max_in_flight} en même temps."
        )
    return 0


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
