"""``python -m grader.bench``: sync, async and thread-pool downloads for growing N.

Times the reference solution's ``main`` (sync and async) and a thread pool built on the
same ``download_and_save``, against the local :class:`ImageServer`, and compares each median
to the physical floor: one latency, the time of a single request when all run at once.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import importlib
import logging
import math
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from grader.french_cli import (
    FrenchArgumentParser,
    fr_milliseconds,
    fr_number,
    fr_seconds,
    int_list,
    non_negative_int,
    positive_int,
    non_negative_float,
)
from grader.imageserver import ImageServer
from solution import async_downloader, sync_downloader

METHODS = ("sync", "async", "threads")
METHOD_LABELS = {"sync": "synchrone", "async": "asynchrone", "threads": "pool de threads"}
# aiohttp.TCPConnector's default limit: at most 100 connections open at once.
AIOHTTP_DEFAULT_LIMIT = 100
ASYNC_TARGET_RATIO = 1.5
ASYNC_TARGET_MAX_N = 100

Downloader = Callable[[list[str], Path], object]


@dataclass(frozen=True)
class Measure:
    """Median of several timed runs of one method for one N (None: not run)."""

    method: str
    images: int
    times: tuple[float, ...]
    complete: bool  # every run saved every image, byte for byte
    peak_concurrency: int  # most requests the server handled at once, over the runs

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


# ---------------------------------------------------------------------------------------------
# The three downloaders
# ---------------------------------------------------------------------------------------------


def run_sync(urls: list[str], output_dir: Path) -> object:
    return sync_downloader.main(urls, output_dir)


def run_async(urls: list[str], output_dir: Path) -> object:
    return asyncio.run(async_downloader.main(urls, output_dir))


def thread_pool_main(urls: Sequence[str], output_dir: Path, workers: int = 20) -> float:
    """Downloads with ``workers`` threads, one requests.Session per thread (not thread-safe)."""
    start = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    local = threading.local()
    sessions: list[requests.Session] = []
    lock = threading.Lock()

    def session() -> requests.Session:
        current: requests.Session | None = getattr(local, "session", None)
        if current is None:
            current = local.session = requests.Session()
            with lock:
                sessions.append(current)
        return current

    def fetch(url: str) -> Path | None:
        return sync_downloader.download_and_save(session(), url, output_dir)

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(fetch, urls))
    finally:
        for opened in sessions:
            opened.close()
    return time.perf_counter() - start


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


def _all_saved(server: ImageServer, folder: Path) -> bool:
    saved = {path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    return all(server.expected_bytes(url) in saved for url in server.urls)


def _time_once(server: ImageServer, download: Downloader) -> tuple[float, bool]:
    with tempfile.TemporaryDirectory(prefix="tp-bench-") as folder:
        start = time.perf_counter()
        download(server.urls, Path(folder) / "images")
        elapsed = time.perf_counter() - start
        return elapsed, _all_saved(server, Path(folder))


def measure(server: ImageServer, method: str, download: Downloader, repeats: int) -> Measure:
    times: list[float] = []
    complete = True
    server.reset_stats()
    for _ in range(repeats):
        elapsed, saved = _time_once(server, download)
        times.append(elapsed)
        complete = complete and saved
    return Measure(method, server.images, tuple(times), complete, server.max_in_flight)


def _downloaders(workers: int) -> dict[str, Downloader]:
    return {
        "sync": run_sync,
        "async": run_async,
        "threads": lambda urls, folder: thread_pool_main(urls, folder, workers),
    }


def run_bench(args: argparse.Namespace) -> list[Measure]:
    downloaders = _downloaders(args.workers)
    measures: list[Measure] = []
    for images in args.sizes:
        with ImageServer(images=images, latency=args.latency, ports=args.ports) as server:
            for method in METHODS:
                if method == "sync" and images > args.sync_max:
                    measures.append(Measure(method, images, (), True, 0))
                    continue
                print(f"  N = {images:>4} : {METHOD_LABELS[method]}…", flush=True)
                measures.append(measure(server, method, downloaders[method], args.repeats))
    return measures


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------


def _cell(measure: Measure, floor: float) -> str:
    median = measure.median
    if median is None:
        return f"{'—':>9} {'':>7}"
    flag = "" if measure.complete else " !"
    return f"{fr_seconds(median):>9} {'×' + fr_number(median / floor, 1):>7}{flag}"


def print_table(measures: list[Measure], sizes: list[int], floor: float) -> None:
    by_key = {(m.method, m.images): m for m in measures}
    header = " | ".join(f"{METHOD_LABELS[method]:^17}" for method in METHODS)
    print(f"\n{'N':>6} | {header}")
    print(f"{'':>6} | " + " | ".join(f"{'durée':>9} {'/plancher':>7}" for _ in METHODS))
    print("-" * (9 + 20 * len(METHODS)))
    for images in sizes:
        cells = " | ".join(_cell(by_key[(method, images)], floor) for method in METHODS)
        print(f"{images:>6} | {cells}")


def _peaks_line(measures: list[Measure], sizes: list[int]) -> str:
    parts = []
    for method in METHODS:
        peaks = [str(m.peak_concurrency) for m in measures if m.method == method and m.times]
        if peaks:
            parts.append(f"{METHOD_LABELS[method]} {'/'.join(peaks)}")
    sizes_text = "/".join(str(size) for size in sizes)
    return f"Requêtes simultanées au plus, côté serveur (N = {sizes_text}) : " + " ; ".join(parts)


def _async_target_note(measures: list[Measure], floor: float) -> str:
    small = [m for m in measures if m.method == "async" and m.images <= ASYNC_TARGET_MAX_N and m.times]
    limit = fr_number(ASYNC_TARGET_RATIO, 1)
    if not small:
        return f"Asynchrone ≤ {limit} × le plancher jusqu'à N = {ASYNC_TARGET_MAX_N} : non vérifié."
    ratios = [(m.images, (m.median or 0.0) / floor) for m in small]
    verdict = "oui" if all(ratio <= ASYNC_TARGET_RATIO for _, ratio in ratios) else "NON"
    details = " ; ".join(f"N = {n} : ×{fr_number(ratio, 2)}" for n, ratio in ratios)
    return f"Asynchrone ≤ {limit} × le plancher jusqu'à N = {ASYNC_TARGET_MAX_N} : {verdict} ({details})."


def print_notes(measures: list[Measure], args: argparse.Namespace) -> None:
    floor = args.latency
    print("\nRemarques :")
    print(f"- Plancher physique = une latence ({fr_milliseconds(floor)}) : le temps d'une seule")
    print("  requête, si toutes partent en même temps ; « /plancher » = durée / plancher.")
    print(f"- {_async_target_note(measures, floor)}")
    for images in (size for size in args.sizes if size > AIOHTTP_DEFAULT_LIMIT):
        waves = math.ceil(images / AIOHTTP_DEFAULT_LIMIT)
        print(
            f"- N = {images} : le connecteur d'aiohttp ouvre au plus {AIOHTTP_DEFAULT_LIMIT} "
            f"connexions à la fois (TCPConnector(limit={AIOHTTP_DEFAULT_LIMIT}) par défaut) : "
            f"les requêtes passent en {waves} vagues, soit environ {waves} × le plancher."
        )
    print(
        f"- Le pool de {args.workers} threads traite au plus {args.workers} requêtes à la fois : "
        f"N / {args.workers} vagues (arrondi au supérieur), soit autant de fois le plancher."
    )
    skipped = [size for size in args.sizes if size > args.sync_max]
    if skipped:
        longest = max(skipped)
        print(
            f"- Synchrone non mesuré au-delà de N = {args.sync_max} (option --sync-max) : « — ». "
            f"Il durerait N × latence, soit {fr_seconds(longest * floor, 0)} à N = {longest}."
        )
    print(f"- {_peaks_line(measures, args.sizes)}.")
    if not all(m.complete for m in measures):
        print("- « ! » : au moins un essai n'a pas enregistré toutes les images correctement.")


def write_csv(measures: list[Measure], path: Path, latency: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["images", "method", "latency_s", "repeats", "median_s", "min_s", "max_s",
             "ratio_to_floor", "complete", "peak_concurrency"]
        )  # fmt: skip
        for m in measures:
            median = m.median
            writer.writerow(
                [m.images, m.method, latency, len(m.times),
                 _csv_number(median), _csv_number(min(m.times, default=None)),
                 _csv_number(max(m.times, default=None)),
                 _csv_number(median / latency if median is not None else None),
                 m.complete if m.times else "", m.peak_concurrency if m.times else ""]
            )  # fmt: skip


def _csv_number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def write_chart(measures: list[Measure], path: Path, latency: float, sizes: list[int]) -> bool:
    """Draws the chart if matplotlib is installed (optional "plot" group); False otherwise."""
    try:
        # Imported by name: matplotlib is optional and has no stubs to satisfy mypy with.
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")  # no display needed: we only write a file
        pyplot = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return False
    figure, axes = pyplot.subplots(figsize=(8, 5))
    for method in METHODS:
        points = [(m.images, m.median) for m in measures if m.method == method and m.times]
        if points:
            axes.plot(*zip(*points, strict=True), marker="o", label=METHOD_LABELS[method])
    axes.plot(sizes, [latency] * len(sizes), "k--", label="plancher : une latence")
    axes.plot(sizes, [n * latency for n in sizes], "k:", label="somme des latences")
    axes.set(xscale="log", yscale="log", xlabel="nombre d'images N", ylabel="durée (s)")
    axes.set_title(f"Téléchargement de N images, latence {fr_milliseconds(latency)} par requête")
    axes.legend()
    axes.grid(True, which="both", alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    pyplot.close(figure)
    return True


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = FrenchArgumentParser(
        prog="python -m grader.bench",
        description=(
            "Banc d'essai : durée des téléchargements synchrone, asynchrone (solution de\n"
            "référence) et par pool de threads, pour plusieurs nombres d'images, sur le\n"
            "serveur d'images local. Affiche un tableau, l'écrit en CSV et, si matplotlib\n"
            "est installé (poetry install --with plot), dessine un graphique PNG."
        ),
    )
    parser.add_argument(
        "--sizes",
        type=int_list,
        default=[10, 50, 200, 1000],
        metavar="N,N,…",
        help="nombres d'images à essayer (défaut : 10,50,200,1000)",
    )
    parser.add_argument(
        "--latency",
        type=non_negative_float,
        default=0.1,
        metavar="SECONDES",
        help="latence de chaque requête, en secondes (défaut : %(default)s)",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=3,
        metavar="R",
        help="essais par mesure, on garde la médiane (défaut : %(default)s)",
    )
    parser.add_argument(
        "--workers", type=positive_int, default=20, metavar="T", help="threads du pool (défaut : %(default)s)"
    )
    parser.add_argument(
        "--sync-max",
        type=non_negative_int,
        default=200,
        metavar="N",
        help="ne mesure le synchrone que jusqu'à N images, car il dure N × latence (défaut : %(default)s)",
    )
    parser.add_argument(
        "--ports",
        type=positive_int,
        default=1,
        metavar="K",
        help="nombre de ports (d'« hôtes ») du serveur (défaut : %(default)s)",
    )
    parser.add_argument(
        "--csv",
        type=Path,
        default=Path("bench-results/bench.csv"),
        metavar="FICHIER",
        help="fichier CSV des résultats (défaut : %(default)s)",
    )
    parser.add_argument("--png", type=Path, default=Path("bench-results/bench.png"),
                        metavar="FICHIER", help="graphique, si matplotlib est installé "
                        "(défaut : %(default)s)")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.latency <= 0:
        print("La latence doit être strictement positive : le plancher sert de référence.")
        return 2
    # The solution logs every image at INFO level: far too much for a benchmark.
    logging.getLogger("solution").setLevel(logging.CRITICAL)
    print(
        f"Banc d'essai : latence {fr_milliseconds(args.latency)} par requête, médiane de "
        f"{args.repeats} essai(s), pool de {args.workers} threads, {args.ports} port(s)."
    )
    measures = run_bench(args)
    print_table(measures, args.sizes, args.latency)
    print_notes(measures, args)
    write_csv(measures, args.csv, args.latency)
    print(f"\nRésultats écrits dans {args.csv}.")
    if write_chart(measures, args.png, args.latency, args.sizes):
        print(f"Graphique écrit dans {args.png}.")
    else:
        print("matplotlib n'est pas installé : pas de graphique (poetry install --with plot).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
