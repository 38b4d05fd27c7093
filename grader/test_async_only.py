"""Checks proper to part 2: files written through aiofiles, and downloads that really overlap."""

from __future__ import annotations

import ast
import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import aiofiles.threadpool
import pytest

from grader.checks import expect_file_count
from grader.downloaders import Downloader
from grader.guards import watch_writes
from grader.imageserver import ImageServer
from grader.probes import Image, default_console, image_set
from grader.student import NotDone, StudentCode, expect

LATENCY = 0.2
SERVER_IMAGES = 10
BLOCKING_GAP = 0.08  # a heartbeat late by this much means the event loop was blocked
BLOCKED_BEATS = 3  # one such beat can be noise (GC, a busy machine); several cannot
LONG_BLOCK = 0.75 * LATENCY  # a single block this long is no noise (tasks blocking in one turn)


@pytest.fixture
def downloader(async_code: StudentCode) -> Downloader:
    return Downloader(async_code)


@pytest.fixture(scope="module")
def image_server() -> Iterator[ImageServer]:
    with ImageServer(images=SERVER_IMAGES, latency=LATENCY, ports=2) as server:
        yield server


@pytest.fixture(scope="module")
def server_runs() -> dict[str, ServerRun | BaseException]:
    """One run against the server serves every concurrency check (it is the slow part)."""
    return {}


@pytest.fixture
def server_run(
    downloader: Downloader,
    image_server: ImageServer,
    output_dir: Path,
    server_runs: dict[str, ServerRun | BaseException],
) -> ServerRun:
    """The student's async main() run against the loopback server, with a heartbeat."""
    if "run" not in server_runs:
        default_console()
        image_server.reset_stats()
        try:
            server_runs["run"] = _run_against_server(downloader, image_server, output_dir)
        except Exception as error:
            server_runs["run"] = error
    outcome = server_runs["run"]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


@pytest.fixture
def main_written(request: pytest.FixtureRequest) -> None:
    """Static checks give no credit while main() is still a TODO (the skeleton's entry point)."""
    try:
        request.getfixturevalue("server_run")
    except NotDone:
        raise
    except Exception:
        return


@dataclass
class ServerRun:
    output_dir: Path
    elapsed: float
    max_in_flight: int
    beats: list[float] = field(default_factory=list)

    @property
    def late_beats(self) -> list[float]:
        return [gap for gap in self.beats if gap >= BLOCKING_GAP]

    @property
    def blocked(self) -> bool:
        return len(self.late_beats) >= BLOCKED_BEATS or max(self.beats, default=0) >= LONG_BLOCK


def _run_against_server(downloader: Downloader, server: ImageServer, output_dir: Path) -> ServerRun:
    main = downloader.coroutine_function("main")
    beats: list[float] = []

    async def with_heartbeat() -> None:
        done = asyncio.Event()

        async def heartbeat() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                beats.append(now - last - 0.005)
                last = now

        beating = asyncio.create_task(heartbeat())
        try:
            await main(server.urls, output_dir)
        finally:
            done.set()
            await beating

    start = time.perf_counter()
    downloader.code.run(lambda: asyncio.run(with_heartbeat()), timeout=SERVER_IMAGES * LATENCY * 3)
    return ServerRun(output_dir, time.perf_counter() - start, server.max_in_flight, beats)


# --- files -----------------------------------------------------------------------------------


def _mocked_main(downloader: Downloader, images: list[Image], output_dir: Path) -> None:
    default_console()
    with downloader.mocked(output_dir) as http:
        for image in images:
            http.serve(image, latency=0.01)
        downloader.main([image.url for image in images], output_dir)


@pytest.mark.criterion("async.files")
def test_files_are_written_with_aiofiles(downloader: Downloader, output_dir: Path) -> None:
    """Les fichiers sont écrits avec aiofiles.open()"""
    images = image_set(4)
    opened: list[Path] = []
    original = aiofiles.threadpool.sync_open  # type: ignore[attr-defined]

    def recording_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(flag in mode for flag in "wax+"):
            opened.append(Path(file))
        return original(file, mode, *args, **kwargs)

    with mock.patch.object(aiofiles.threadpool, "sync_open", recording_open):
        _mocked_main(downloader, images, output_dir)
    expect(
        len(opened) >= len(images),
        f"{len(opened)} fichier(s) ouvert(s) en écriture avec aiofiles pour {len(images)} images.",
        "Dans la partie 2, quelle fonction remplace open() pour écrire sans bloquer la boucle ?",
    )


@pytest.mark.criterion("async.files")
def test_no_file_is_written_on_the_event_loop(downloader: Downloader, output_dir: Path) -> None:
    """Aucune écriture de fichier ne bloque la boucle d'événements"""
    images = image_set(4)
    with watch_writes(output_dir) as writes:
        _mocked_main(downloader, images, output_dir)
    loop_thread = threading.main_thread().ident
    blocking = [opened.path.name for opened in writes.opens if opened.thread_id == loop_thread]
    expect(
        not blocking,
        f"{len(blocking)} fichier(s) ouvert(s) en écriture directement dans la boucle d'événements "
        "(open(), Path.write_bytes()…).",
        "Une écriture synchrone dans une coroutine bloque toutes les autres tâches : "
        "quelle bibliothèque le TP propose-t-il pour écrire les fichiers ?",
    )


# --- concurrency -----------------------------------------------------------------------------


@pytest.mark.criterion("async.concurrency", weight=2)
def test_downloads_overlap_on_a_real_server(server_run: ServerRun, image_server: ImageServer) -> None:
    """Plusieurs téléchargements sont en cours en même temps"""
    sequential = SERVER_IMAGES * LATENCY
    expect(
        server_run.max_in_flight >= 2 and server_run.elapsed < 0.75 * sequential,
        f"Le serveur a vu au plus {server_run.max_in_flight} requête(s) à la fois ; "
        f"{SERVER_IMAGES} images à {LATENCY:g} s de latence ont pris {server_run.elapsed:.2f} s "
        f"(l'une après l'autre : {sequential:.1f} s).",
        "Attendez-vous chaque téléchargement avant de lancer le suivant ? Créez toutes les "
        "tâches puis attendez-les ensemble.",
    )
    folder = server_run.output_dir
    expect_file_count(SERVER_IMAGES, folder, folder.parent, "main() sur le serveur local")


@pytest.mark.criterion("async.concurrency")
def test_event_loop_is_never_blocked(server_run: ServerRun) -> None:
    """Rien ne bloque la boucle d'événements pendant les téléchargements"""
    late = server_run.late_beats
    expect(
        not server_run.blocked,
        f"La boucle d'événements a été bloquée {len(late)} fois (jusqu'à {max(late, default=0):.2f} s "
        "d'affilée) pendant main().",
        "Un appel synchrone (time.sleep, requests, lecture/écriture de fichier…) dans une "
        "coroutine arrête toutes les tâches : quel équivalent asynchrone utiliser ?",
    )


def _called_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Attribute):
                names.add(function.attr)
            elif isinstance(function, ast.Name):
                names.add(function.id)
    return names


def _source_tree(downloader: Downloader) -> ast.Module:
    return ast.parse(downloader.code.loaded.path.read_text(encoding="utf-8"))


_EQUIVALENTS = ("TaskGroup", "as_completed", "create_task", "ensure_future", "wait")


@pytest.mark.criterion("async.concurrency", weight=0.5)
@pytest.mark.usefixtures("main_written")
def test_tasks_are_launched_together_with_gather(downloader: Downloader, notes: list[str]) -> None:
    """Les tâches sont lancées ensemble avec asyncio.gather()"""
    called = _called_names(_source_tree(downloader))
    if "gather" in called:
        return
    used = [name for name in _EQUIVALENTS if name in called]
    expect(
        bool(used),
        "Aucun lancement groupé des tâches (asyncio.gather) dans async_downloader.py.",
        "Comment lancer une tâche par URL et attendre qu'elles soient toutes finies ?",
    )
    notes.append(
        f"vous lancez les tâches avec {', '.join(used)} : c'est correct, mais le TP demandait "
        "asyncio.gather()."
    )


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    names = {p.id for p in parts if isinstance(p, ast.Name)}
    values = {p.value for p in parts if isinstance(p, ast.Constant)}
    return names == {"__name__"} and values == {"__main__"}


def _runs_main(call: ast.Call) -> bool:
    function = call.func
    is_run = (isinstance(function, ast.Attribute) and function.attr == "run") or (
        isinstance(function, ast.Name) and function.id == "run"
    )
    argument = call.args[0] if call.args else None
    return (
        is_run
        and isinstance(argument, ast.Call)
        and isinstance(argument.func, ast.Name)
        and argument.func.id == "main"
    )


@pytest.mark.criterion("async.concurrency", weight=0.5)
@pytest.mark.usefixtures("main_written")
def test_entry_point_starts_main_with_asyncio_run(downloader: Downloader) -> None:
    """Le point d'entrée lance main() avec asyncio.run()"""
    guards = [node for node in _source_tree(downloader).body if _is_main_guard(node)]
    calls = [n for g in guards for n in ast.walk(g) if isinstance(n, ast.Call) and _runs_main(n)]
    expect(
        bool(calls),
        'Le bloc « if __name__ == "__main__": » ne lance pas main() avec asyncio.run().'
        if guards
        else 'Aucun bloc « if __name__ == "__main__": » dans async_downloader.py.',
        "Quelle fonction d'asyncio crée la boucle d'événements, exécute une coroutine et referme la boucle ?",
    )
