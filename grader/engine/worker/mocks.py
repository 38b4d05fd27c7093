"""Mocked HTTP for both parts (``responses``, ``aioresponses``) that records who asked.

Only what a mock can show is observed here: which session object sent each request and
how many sessions the student's code opened and closed. Each request may carry a
latency, and the output folder can appear at the first response (``auto_create``), so
that a missing ``mkdir`` costs the directory criterion only.
"""

from __future__ import annotations

import asyncio
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
from aioresponses import CallbackResult

from .aioresponses_compat import MockedAiohttp

ERROR_PAGE = b"<html><body><h1>Erreur</h1>Cette page n'est pas une image.</body></html>"


@dataclass(frozen=True)
class Failure:
    url: str
    kind: str  # "connection", "timeout", or an HTTP status such as "404"


@dataclass
class Traffic:
    """What the mocks saw: sessions opened, closed, and the session behind each request."""

    sessions: list[int] = field(default_factory=list)
    closed: set[int] = field(default_factory=set)
    sent: list[tuple[int, str]] = field(default_factory=list)

    def summary(self, given_session: int | None = None) -> dict[str, Any]:
        senders = {session for session, _ in self.sent}
        return {
            "sessions": len(self.sessions),
            "sessions_left_open": len([s for s in self.sessions if s not in self.closed]),
            "requests": len(self.sent),
            "senders": len(senders),
            "all_from_one_session": len(senders) == 1 and senders <= set(self.sessions),
            "all_from_given_session": given_session is not None and senders == {given_session},
        }


def _ensure(folder: Path | None) -> Callable[[], None]:
    def create() -> None:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    return create


def _serve_requests(
    mocked: responses.RequestsMock, url: str, body: bytes, latency: float, create: Callable[[], None]
) -> None:
    def reply(request: Any) -> tuple[int, dict[str, str], bytes]:
        time.sleep(latency) if latency else None
        create()
        return 200, {"Content-Type": "image/png"}, body

    mocked.add_callback(responses.GET, url, callback=reply)


def _fail_requests(mocked: responses.RequestsMock, failure: Failure) -> None:
    if failure.kind == "connection":
        mocked.add(responses.GET, failure.url, body=requests.ConnectionError("Connexion refusée (simulée)"))
    elif failure.kind == "timeout":
        mocked.add(responses.GET, failure.url, body=requests.Timeout("Délai dépassé (simulé)"))
    else:
        mocked.add(responses.GET, failure.url, status=int(failure.kind), body=ERROR_PAGE)


@contextmanager
def _requests_mock(
    traffic: Traffic,
    images: list[tuple[str, bytes]],
    failures: list[Failure],
    latency: float,
    create: Callable[[], None],
) -> Iterator[None]:
    original_init = requests.Session.__init__
    original_send = requests.Session.send
    original_close = requests.Session.close

    def init(session: requests.Session, *args: Any, **kwargs: Any) -> None:
        traffic.sessions.append(id(session))
        original_init(session, *args, **kwargs)

    def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
        traffic.sent.append((id(session), str(request.url)))
        return original_send(session, request, **kwargs)

    def close(session: requests.Session) -> None:
        traffic.closed.add(id(session))
        original_close(session)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        for url, body in images:
            _serve_requests(mocked, url, body, latency, create)
        for failure in failures:
            _fail_requests(mocked, failure)
        with (
            mock.patch.object(requests.Session, "__init__", init),
            mock.patch.object(requests.Session, "send", send),
            mock.patch.object(requests.Session, "close", close),
        ):
            yield


class _RecordingMock(MockedAiohttp):
    def __init__(self, traffic: Traffic, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._traffic = traffic

    async def _request_mock(self, orig_self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> Any:
        url = kwargs.get("str_or_url", args[1] if len(args) > 1 else "")
        self._traffic.sent.append((id(orig_self), str(url)))
        return await super()._request_mock(orig_self, *args, **kwargs)


@contextmanager
def mocked_http(
    part: str,
    images: list[tuple[str, bytes]],
    failures: list[Failure],
    latency: float = 0.0,
    auto_create: Path | None = None,
) -> Iterator[Traffic]:
    """Both libraries mocked (a coroutine calling requests is graded, not crashed)."""
    traffic = Traffic()
    create = _ensure(auto_create)
    if part == "sync":
        with _requests_mock(traffic, images, failures, latency, create):
            yield traffic
        return
    blocking = Traffic()  # requests called from a coroutine: counted apart, as other sessions
    with _requests_mock(blocking, images, failures, latency, create), _RecordingMock(traffic) as mocked:
        for url, body in images:

            async def reply(url: Any, _body: bytes = body, **kwargs: Any) -> CallbackResult:
                await asyncio.sleep(latency)
                create()
                return CallbackResult(status=200, body=_body, content_type="image/png")

            mocked.get(url, callback=reply, repeat=True)
        for failure in failures:
            if failure.kind == "connection":
                error: Exception = aiohttp.ClientConnectionError("Connexion refusée (simulée)")
                mocked.get(failure.url, exception=error, repeat=True)
            elif failure.kind == "timeout":
                mocked.get(failure.url, exception=TimeoutError(), repeat=True)
            else:
                mocked.get(
                    failure.url,
                    status=int(failure.kind),
                    body=ERROR_PAGE,
                    content_type="text/html",
                    repeat=True,
                )
        original_init = aiohttp.ClientSession.__init__
        original_close = aiohttp.ClientSession.close

        def init(session: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
            traffic.sessions.append(id(session))
            original_init(session, *args, **kwargs)

        async def close(session: aiohttp.ClientSession) -> None:
            traffic.closed.add(id(session))
            await original_close(session)

        with (
            mock.patch.object(aiohttp.ClientSession, "__init__", init),
            mock.patch.object(aiohttp.ClientSession, "close", close),
        ):
            yield traffic
    traffic.sessions += blocking.sessions
    traffic.sent += blocking.sent
    traffic.closed |= blocking.closed
