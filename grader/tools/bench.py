"""``python -m grader.tools.bench``: sync, async and thread-pool downloads for growing N.

Times the reference solution's ``main`` (sync and async) and a thread pool built on the
same ``download_and_save``, against the local :class:`ImageServer`, and compares each median
to the physical floor: one latency, the time of a single request when all run at once.

By default the server runs in a child process: in the same process it would share the GIL
with the clients, and its CPU time would be billed to them.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import importlib
import json
import logging
import math
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

import requests

from grader.engine.french_numbers import fr_milliseconds, fr_number, fr_seconds
from grader.engine.imageserver import STATS_PATH, ImageServer, make_png
from grader.tools.children import child_environment
from grader.tools.french_cli import (
    FrenchArgumentParser,
    int_list,
    non_negative_float,
    non_negative_int,
    positive_int,
)
from solution import async_downloader, sync_downloader

METHODS = ("sync", "async", "threads")
METHOD_LABELS = {"sync": "synchrone", "async": "asynchrone", "threads": "pool de threads"}
# aiohttp.TCPConnector's default limit: at most 100 connections open at once.
AIOHTTP_DEFAULT_LIMIT = 100
ASYNC_TARGET_RATIO = 1.5
ASYNC_TARGET_MAX_N = 100
# Untimed first run on a few URLs: pays for lazy imports, thread creation, first connections.
WARM_UP_IMAGES = 5

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
# The server, in this process or in a child process
# ---------------------------------------------------------------------------------------------


class BenchServer(Protocol):
    """What the bench needs from a server: ImageServer or ServerProcess."""

    @property
    def images(self) -> int: ...
    @property
    def urls(self) -> list[str]: ...
    @property
    def max_in_flight(self) -> int: ...
    def expected_bytes(self, url: str) -> bytes: ...
    def reset_stats(self) -> None: ...


class ServerProcess:
    """``python -m grader.tools.imageserver --json`` in a child process, so on its own core and GIL."""

    def __init__(self, *, images: int, latency: float, ports: int) -> None:
        self._arguments = ["--images", str(images), "--latency", str(latency), "--ports", str(ports)]
        self._process: subprocess.Popen[str] | None = None
        self._urls: list[str] = []
        self._index: dict[str, int] = {}
        self._seed = 0
        self._stats_url = ""
        self._http = requests.Session()
        self._http.trust_env = False  # an environment proxy must not see our local requests

    def __enter__(self) -> ServerProcess:
        command = [sys.executable, "-m", "grader.tools.imageserver", "--json", *self._arguments]
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True, encoding="utf-8", env=child_environment()
        )
        self._read_description(self._process.stdout)
        return self

    def _read_description(self, stdout: IO[str] | None) -> None:
        # The server prints one JSON line once it listens: reading it is our readiness signal.
        line = stdout.readline() if stdout is not None else ""
        if not line:
            self.__exit__(None, None, None)
            raise RuntimeError("le serveur d'images n'a pas pu démarrer dans un autre processus")
        description = json.loads(line)
        self._urls, self._seed = description["urls"], description["seed"]
        self._index = {url: index for index, url in enumerate(self._urls)}
        self._stats_url = description["base_urls"][0] + STATS_PATH

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._http.close()
        if self._process is None:
            return
        self._process.terminate()  # SIGTERM: the server stops cleanly
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None

    @property
    def images(self) -> int:
        return len(self._urls)

    @property
    def urls(self) -> list[str]:
        return list(self._urls)

    def expected_bytes(self, url: str) -> bytes:
        return make_png(self._index[url], self._seed)

    def _stats(self, **query: str) -> dict[str, int]:
        response = self._http.get(self._stats_url, params=query, timeout=10)
        response.raise_for_status()
        stats: dict[str, int] = response.json()
        return stats

    def reset_stats(self) -> None:
        self._stats(reset="1")

    @property
    def max_in_flight(self) -> int:
        return self._stats()["max_in_flight"]


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


def _all_saved(server: BenchServer, urls: list[str], folder: Path) -> bool:
    saved = {path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    return all(server.expected_bytes(url) in saved for url in urls)


def _time_once(server: BenchServer, download: Downloader, urls: list[str]) -> tuple[float, bool]:
    with tempfile.TemporaryDirectory(prefix="tp-bench-") as folder:
        start = time.perf_counter()
        download(urls, Path(folder) / "images")
        elapsed = time.perf_counter() - start
        return elapsed, _all_saved(server, urls, Path(folder))


def measure(server: BenchServer, method: str, download: Downloader, repeats: int) -> Measure:
    urls = server.urls
    _time_once(server, download, urls[:WARM_UP_IMAGES])
    times: list[float] = []
    complete = True
    server.reset_stats()
    for _ in range(repeats):
        elapsed, saved = _time_once(server, download, urls)
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
    server_class = ImageServer if args.same_process else ServerProcess
    for images in args.sizes:
        with server_class(images=images, latency=args.latency, ports=args.ports) as server:
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


TIME_WIDTH, RATIO_WIDTH = 9, 11
CELL_WIDTH = TIME_WIDTH + 1 + RATIO_WIDTH


def _cell(measure: Measure, floor: float) -> str:
    median = measure.median
    if median is None:
        return f"{'—':>{TIME_WIDTH}} {'':>{RATIO_WIDTH}}"
    ratio = "×" + fr_number(median / floor, 1) + ("" if measure.complete else " !")
    return f"{fr_seconds(median):>{TIME_WIDTH}} {ratio:>{RATIO_WIDTH}}"


def print_table(measures: list[Measure], sizes: list[int], floor: float) -> None:
    by_key = {(m.method, m.images): m for m in measures}
    titles = " | ".join(f"{METHOD_LABELS[method]:^{CELL_WIDTH}}" for method in METHODS)
    units = " | ".join(f"{'durée':>{TIME_WIDTH}} {'/ plancher':>{RATIO_WIDTH}}" for _ in METHODS)
    print(f"\n{'N':>6} | {titles}")
    print(f"{'':>6} | {units}")
    print("-" * (9 + (CELL_WIDTH + 3) * len(METHODS)))
    for images in sizes:
        cells = " | ".join(_cell(by_key[(method, images)], floor) for method in METHODS)
        print(f"{images:>6} | {cells}")


def _note(text: str) -> None:
    print(textwrap.fill(text, width=100, initial_indent="- ", subsequent_indent="  "))


def _peaks_note(measures: list[Measure], sizes: list[int]) -> str:
    parts = []
    for method in METHODS:
        peaks = [str(m.peak_concurrency) for m in measures if m.method == method and m.times]
        if peaks:
            parts.append(f"{METHOD_LABELS[method]} {'/'.join(peaks)}")
    sizes_text = "/".join(str(size) for size in sizes)
    return f"Requêtes simultanées au plus, vues du serveur (N = {sizes_text}) : {' ; '.join(parts)}."


def _async_target_note(measures: list[Measure], floor: float) -> str:
    small = [m for m in measures if m.method == "async" and m.images <= ASYNC_TARGET_MAX_N and m.times]
    claim = f"Asynchrone ≤ {fr_number(ASYNC_TARGET_RATIO, 1)} × le plancher jusqu'à N = {ASYNC_TARGET_MAX_N}"
    if not small:
        return f"{claim} : non vérifié (aucune taille mesurée jusque-là)."
    ratios = [(m.images, (m.median or 0.0) / floor) for m in small]
    details = " ; ".join(f"N = {n} : ×{fr_number(ratio, 2)}" for n, ratio in ratios)
    if all(ratio <= ASYNC_TARGET_RATIO for _, ratio in ratios):
        return f"{claim} : oui ({details})."
    # Beyond the floor, the time left is CPU work per image: connections, files, Python itself.
    largest = max(small, key=lambda m: m.images)
    overhead = ((largest.median or 0.0) - floor) / largest.images * 1000
    return (
        f"{claim} : NON ({details}). Le surplus est du temps de calcul, environ "
        f"{fr_number(overhead, 1)} ms par image à N = {largest.images} (connexions, écriture des "
        "fichiers, Python) : il dépend du processeur, pas du réseau."
    )


def print_notes(measures: list[Measure], args: argparse.Namespace) -> None:
    floor = args.latency
    print("\nRemarques :")
    _note(
        f"Plancher physique = une latence ({fr_milliseconds(floor)}) : le temps d'une seule requête, "
        "si toutes partent en même temps. « / plancher » = durée divisée par ce plancher."
    )
    _note(_async_target_note(measures, floor))
    for images in (size for size in args.sizes if size > AIOHTTP_DEFAULT_LIMIT):
        waves = math.ceil(images / AIOHTTP_DEFAULT_LIMIT)
        _note(
            f"N = {images} : le connecteur d'aiohttp ouvre au plus {AIOHTTP_DEFAULT_LIMIT} connexions "
            f"à la fois (TCPConnector(limit={AIOHTTP_DEFAULT_LIMIT}) par défaut) : les requêtes "
            f"passent en {waves} vagues : au moins {waves} × le plancher, plus le temps de calcul."
        )
    _note(
        f"Le pool de {args.workers} threads traite au plus {args.workers} requêtes à la fois : "
        f"N / {args.workers} vagues (arrondi au supérieur), donc au moins autant de fois le plancher."
    )
    skipped = [size for size in args.sizes if size > args.sync_max]
    if skipped:
        longest = max(skipped)
        _note(
            f"Synchrone non mesuré au-delà de N = {args.sync_max} (option --sync-max), d'où « — » : "
            f"il durerait N × latence, soit {fr_seconds(longest * floor, 0)} à N = {longest}."
        )
    _note(_peaks_note(measures, args.sizes))
    if not all(m.complete for m in measures):
        _note("« ! » : au moins un essai n'a pas enregistré toutes les images correctement.")


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
    # Label exactly the measured sizes, not matplotlib's "2×10^1"-style log ticks.
    axes.set_xticks(sizes, labels=[str(size) for size in sizes])
    axes.tick_params(axis="x", which="minor", labelbottom=False)
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
        prog="python -m grader.tools.bench",
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
        "--same-process",
        action="store_true",
        help="fait tourner le serveur dans ce processus-ci, au lieu d'un processus à part : plus "
        "simple, mais il partage alors le GIL et le processeur avec les téléchargements mesurés",
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
        f"{args.repeats} essai(s), pool de {args.workers} threads, {args.ports} port(s), "
        f"serveur {'dans ce processus' if args.same_process else 'dans un processus à part'}."
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
