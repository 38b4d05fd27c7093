"""Test doubles and probes: realistic image URLs, mocked HTTP that records who asked, logs."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp
import requests
import responses
from aioresponses import CallbackResult, aioresponses

from grader.aioresponses_compat import MockedAiohttp

# Realistic shapes: shared last segments, query strings, two hosts. Reserved domains only.
_URL_SHAPES = (
    "https://images.example.org/photos/{i}/full.jpg",
    "https://cdn.example.net/img/{i}.png?size=large",
    "https://cdn.example.net/img/{i}.png?size=small",
    "https://images.example.org/gallery/{i}/cat.png",
    "https://cdn.example.net/gallery/{i}/cat.png",
    "https://images.example.org/photos/{i}/full.jpg?v=2",
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Image:
    url: str
    body: bytes


def image_set(count: int, start: int = 1) -> list[Image]:
    """``count`` distinct images whose URLs look like real ones."""
    images = []
    for index in range(start, start + count):
        url = _URL_SHAPES[index % len(_URL_SHAPES)].format(i=index)
        body = PNG_SIGNATURE + f"image {index} de {url}".encode() * 8
        images.append(Image(url, body))
    return images


ERROR_PAGE = b"<html><body><h1>Erreur</h1>Cette page n'est pas une image.</body></html>"


# --- requests ------------------------------------------------------------------------------


def _ensure(folder: Path | None) -> None:
    """Creates the output folder at the first response if main() did not.

    A missing or wrong mkdir then costs the directory criterion only, not every check.
    """
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)


@dataclass
class RequestsProbe:
    """Mocked HTTP for requests (``responses``) that also records sessions and senders."""

    mock: responses.RequestsMock
    folder: Path | None = None
    sessions: list[requests.Session] = field(default_factory=list)
    sent: list[tuple[int, str]] = field(default_factory=list)

    def serve(self, image: Image, latency: float = 0.0) -> None:
        def reply(request: Any) -> tuple[int, dict[str, str], bytes]:
            time.sleep(latency)
            _ensure(self.folder)
            return 200, {"Content-Type": "image/png"}, image.body

        self.mock.add_callback(responses.GET, image.url, callback=reply)

    def fail(self, url: str, *, status: int | None = None, error: Exception | None = None) -> None:
        if error is not None:
            self.mock.add(responses.GET, url, body=error)
        else:
            self.mock.add(responses.GET, url, status=status, body=ERROR_PAGE)

    def senders(self) -> set[int]:
        return {session_id for session_id, _ in self.sent}


@contextmanager
def mocked_requests(folder: Path | None = None) -> Iterator[RequestsProbe]:
    original_init = requests.Session.__init__
    original_send = requests.Session.send
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        probe = RequestsProbe(rsps, folder)

        def init(session: requests.Session, *args: Any, **kwargs: Any) -> None:
            probe.sessions.append(session)
            original_init(session, *args, **kwargs)

        def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
            probe.sent.append((id(session), str(request.url)))
            return original_send(session, request, **kwargs)

        with (
            mock.patch.object(requests.Session, "__init__", init),
            mock.patch.object(requests.Session, "send", send),
        ):
            yield probe


# --- aiohttp -------------------------------------------------------------------------------


class _RecordingMock(MockedAiohttp):
    def __init__(self, sent: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sent = sent

    async def _request_mock(self, orig_self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> Any:
        url = kwargs.get("str_or_url", args[1] if len(args) > 1 else "")
        self._sent.append((id(orig_self), str(url)))
        return await super()._request_mock(orig_self, *args, **kwargs)


@dataclass
class AiohttpProbe:
    """Mocked HTTP for aiohttp (``aioresponses``) that also records sessions and senders."""

    mock: aioresponses
    blocking: RequestsProbe  # the same images for requests: a coroutine calling it is graded
    folder: Path | None = None  # created at the first response if main() did not
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)
    sent: list[tuple[int, str]] = field(default_factory=list)

    def serve(self, image: Image, latency: float = 0.0) -> None:
        async def reply(url: Any, **kwargs: Any) -> CallbackResult:
            await asyncio.sleep(latency)
            _ensure(self.folder)
            return CallbackResult(status=200, body=image.body, content_type="image/png")

        self.mock.get(image.url, callback=reply, repeat=True)
        self.blocking.serve(image, latency)

    def fail(self, url: str, *, status: int | None = None, error: Exception | None = None) -> None:
        if error is not None:
            self.mock.get(url, exception=error, repeat=True)
            self.blocking.fail(url, error=requests.ConnectionError(str(error)))
        else:
            self.mock.get(url, status=status, body=ERROR_PAGE, content_type="text/html", repeat=True)
            self.blocking.fail(url, status=status)

    def senders(self) -> set[int]:
        return {session_id for session_id, _ in self.sent}


@contextmanager
def mocked_aiohttp(folder: Path | None = None) -> Iterator[AiohttpProbe]:
    original_init = aiohttp.ClientSession.__init__
    sent: list[tuple[int, str]] = []
    with _RecordingMock(sent) as mocked, mocked_requests(folder) as blocking:
        probe = AiohttpProbe(mocked, blocking, folder, sent=sent)

        def init(session: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
            probe.sessions.append(session)
            original_init(session, *args, **kwargs)

        with mock.patch.object(aiohttp.ClientSession, "__init__", init):
            yield probe


# --- logging -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedRecord:
    level: int
    message: str


class RecordCollector:
    """Every record the student's code creates (past its loggers' levels), wherever it goes.

    It hooks the record factory rather than the root logger, so that a named logger with
    ``propagate = False`` and handlers of its own is seen too.
    """

    def __init__(self) -> None:
        self.records: list[LoggedRecord] = []
        make_record = logging.getLogRecordFactory()

        def recording_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            self.records.append(LoggedRecord(record.levelno, record.getMessage()))
            return record

        logging.setLogRecordFactory(recording_factory)

    def at_least(self, level: int) -> list[LoggedRecord]:
        return [record for record in self.records if record.level >= level]


def _all_loggers() -> list[logging.Logger]:
    loggers = [logging.getLogger()]
    for candidate in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(candidate, logging.Logger):
            loggers.append(candidate)
    return loggers


@dataclass
class LoggingState:
    """Every logger's handlers, level and flags, to undo what a student's code changes."""

    saved: list[tuple[logging.Logger, list[logging.Handler], int, bool, bool]]
    disable: int
    record_factory: Callable[..., logging.LogRecord]

    @classmethod
    def capture(cls) -> LoggingState:
        saved = [
            (logger, list(logger.handlers), logger.level, logger.propagate, logger.disabled)
            for logger in _all_loggers()
        ]
        return cls(saved, logging.root.manager.disable, logging.getLogRecordFactory())

    def handlers(self) -> set[logging.Handler]:
        return {handler for _, handlers, *_ in self.saved for handler in handlers}

    def restore(self) -> None:
        known = {logger for logger, *_ in self.saved}
        added = {h for logger in _all_loggers() for h in logger.handlers} - self.handlers()
        for logger, handlers, level, propagate, disabled in self.saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled
        for logger in _all_loggers():
            if logger not in known:
                logger.handlers.clear()
        for handler in added:
            handler.close()
        logging.disable(self.disable)
        logging.setLogRecordFactory(self.record_factory)


def new_handlers(before: LoggingState) -> list[logging.Handler]:
    known = before.handlers()
    return [h for logger in _all_loggers() for h in logger.handlers if h not in known]


@dataclass
class Console:
    """What the student's own console handlers print, plus every record emitted."""

    handlers: list[logging.Handler]
    stream: io.StringIO
    collector: RecordCollector

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stream.getvalue().splitlines() if line.strip()]


def bare_root() -> None:
    """Root logger as in a fresh interpreter: no handler, level WARNING."""
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(logging.WARNING)
    logging.disable(logging.NOTSET)


def console_from(setup: Callable[[], None]) -> Console:
    """Runs the student's setup_logging and redirects its console handlers into a buffer."""
    bare_root()
    before = LoggingState.capture()
    setup()
    stream = io.StringIO()
    handlers = new_handlers(before)
    for handler in handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
    return Console(handlers, stream, RecordCollector())


def default_console() -> Console:
    """A plain INFO console, for checks that must not depend on setup_logging being done."""
    bare_root()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return Console([handler], stream, RecordCollector())
