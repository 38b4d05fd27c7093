"""One interface over the student's two modules, so that shared checks are written once."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import requests

from grader.probes import Image, mocked_aiohttp, mocked_requests
from grader.student import Lost, StudentCode


class Probe(Protocol):
    @property
    def sessions(self) -> Sequence[object]: ...
    @property
    def sent(self) -> Sequence[tuple[int, str]]: ...

    def serve(self, image: Image, latency: float = 0.0) -> None: ...
    def fail(self, url: str, *, status: int | None = None, error: Exception | None = None) -> None: ...
    def senders(self) -> set[int]: ...


@dataclass
class DownloadOne:
    returned: Any
    session_id: int


@dataclass
class Downloader:
    code: StudentCode

    @property
    def is_async(self) -> bool:
        return self.code.part == "async"

    @property
    def session_class(self) -> str:
        return "aiohttp.ClientSession" if self.is_async else "requests.Session"

    def mocked(self, folder: Path | None = None) -> AbstractContextManager[Probe]:
        """Mocked HTTP; with ``folder``, the output folder appears at the first response."""
        if self.is_async:
            return mocked_aiohttp(folder)
        return mocked_requests(folder)

    def connection_error(self) -> Exception:
        if self.is_async:
            return aiohttp.ClientConnectionError("Connexion refusée (simulée)")
        return requests.ConnectionError("Connexion refusée (simulée)")

    def coroutine_function(self, name: str) -> Callable[..., Any]:
        function = self.code.function(name)
        if self.is_async and not inspect.iscoroutinefunction(function):
            raise Lost(
                f"{name} n'est pas une coroutine.",
                f"Dans la partie 2, {name} doit être définie avec « async def ».",
            )
        return function

    def setup_logging(self) -> None:
        setup = self.code.function("setup_logging")
        self.code.run(setup)

    def main(self, urls: list[str], output_dir: Path, timeout: float | None = None) -> Any:
        main = self.coroutine_function("main")
        kwargs = {} if timeout is None else {"timeout": timeout}
        if self.is_async:
            return self.code.run(lambda: asyncio.run(main(urls, output_dir)), **kwargs)
        return self.code.run(lambda: main(urls, output_dir), **kwargs)

    def saved_names(self, image: Image, output_dir: Path) -> list[str]:
        """Names under which this image may appear in the log: its file, found by content or name."""
        names = [
            path.name for path in output_dir.glob("*") if path.is_file() and path.read_bytes() == image.body
        ]
        with contextlib.suppress(Exception):
            names.append(str(self.code.function("filename_from_url")(image.url)))
        return names

    def download_one(self, url: str, output_dir: Path) -> DownloadOne:
        """Calls download_and_save with a session opened by the grader."""
        download = self.coroutine_function("download_and_save")
        if self.is_async:

            async def call() -> DownloadOne:
                async with aiohttp.ClientSession() as session:
                    return DownloadOne(await download(session, url, output_dir), id(session))

            return self.code.run(lambda: asyncio.run(call()))
        with requests.Session() as session:
            return DownloadOne(self.code.run(lambda: download(session, url, output_dir)), id(session))
