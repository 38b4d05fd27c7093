"""The student's two scripts run for real, in subprocesses, started early in the background."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from grader.entrypoint import EntryPointRun, run_entry_point
from grader.imageserver import ImageServer

IMAGES = 6
LATENCY = 0.05
SCRIPT_TIMEOUT = 20.0


@dataclass
class ScriptRun:
    server: ImageServer
    run: EntryPointRun
    max_in_flight: int


def _run_script(module_file: Path, folder: Path) -> ScriptRun:
    folder.mkdir(parents=True, exist_ok=True)
    # One server per script, so that the overlap each one sees is its own.
    with ImageServer(images=IMAGES, latency=LATENCY, ports=2) as server:
        result = run_entry_point(module_file, server.urls, folder, SCRIPT_TIMEOUT)
        return ScriptRun(server, result, server.max_in_flight)


class BackgroundScripts:
    """Starts both scripts at once, so that they run while the in-process checks do."""

    def __init__(self, target: Path, scratch: Path) -> None:
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="script")
        self._runs: dict[str, Future[ScriptRun]] = {
            part: self._pool.submit(_run_script, target / f"{part}_downloader.py", scratch / part)
            for part in ("sync", "async")
        }
        self._pool.shutdown(wait=False)

    def result(self, part: str) -> ScriptRun:
        return self._runs[part].result()
