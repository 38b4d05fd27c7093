"""Mocked HTTP for both parts (``responses``, ``aioresponses``) that records who asked.

Only what a mock can show is observed here: which session object sent each request and
how many sessions the student's code opened and closed. Each request may carry a
latency, and the output folder can appear at the first request (``on_first_request``), so
that a missing ``mkdir`` costs the directory criterion only, whatever reply comes first.

In part 2 the order in which replies reach the student's tasks is fixed (:class:`Turns`):
a reply is handed over once its latency has passed and every request still in flight that
comes before it in the chosen order (``protocol.ReplyOrder``) has had its own. Scheduling, machine
load or which reply carries a latency can then never decide a mark; ``nox -s flake`` grades
the catalogue under every order to prove that no judgement depends on it either.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import aiohttp
import requests
import responses
from aioresponses import CallbackResult

from .aioresponses_compat import MockedAiohttp
from .protocol import ReplyOrder

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
    first_sent: float | None = None  # time.perf_counter() when the first request was sent
    last_reply: float | None = None  # … and when the last reply was handed over

    def sending(self, session: int, url: str) -> None:
        self.sent.append((session, url))
        if self.first_sent is None:
            self.first_sent = time.perf_counter()

    def replied(self) -> None:
        self.last_reply = time.perf_counter()

    def summary(self, given_session: int | None = None) -> dict[str, Any]:
        senders = {session for session, _ in self.sent}
        return {
            "sessions": len(self.sessions),
            "sessions_left_open": len([s for s in self.sessions if s not in self.closed]),
            "requests": len(self.sent),
            "senders": len(senders),
            "all_from_one_session": len(senders) == 1 and senders <= set(self.sessions),
            "all_from_given_session": given_session is not None and senders == {given_session},
            # How long the downloads took, first request to last reply: what a stopwatch around
            # them must cover, whether they ran one after the other or together.
            "span": (self.last_reply - self.first_sent)
            if self.first_sent is not None and self.last_reply is not None
            else None,
        }


def _once(action: Callable[[], None] | None) -> Callable[[], None]:
    """``action`` at the first call only (the folder appears before any reply is handed over)."""
    done = False

    def run() -> None:
        nonlocal done
        if not done and action is not None:
            done = True
            action()

    return run


SETTLING_TURNS = 5
# Under a forced order (nox -s flake), replies are this far apart: each task has handled its
# reply (written its file in aiofiles' thread) before the next one arrives, the extreme case.
SPACING = 0.03


@dataclass
class Turns:
    """Hands the replies of part 2 over in a fixed order (see the module's docstring)."""

    order: ReplyOrder
    failing: frozenset[str]
    latency: float
    _arrivals: itertools.count[int] = field(default_factory=itertools.count)
    _in_flight: dict[int, tuple[int, int]] = field(default_factory=dict)  # arrival → rank
    _changed: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _last_delivery: float = 0.0

    def _rank(self, arrival: int, url: str) -> tuple[int, int]:
        failure = int(url in self.failing)
        if self.order is ReplyOrder.FAILURES_FIRST:
            return (1 - failure, arrival)
        if self.order is ReplyOrder.FAILURES_LAST:
            return (failure, arrival)
        if self.order is ReplyOrder.REVERSE:
            return (0, -arrival)
        return (0, arrival)

    def _event(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._changed is None:  # a new asyncio.run(): a new world
            self._loop, self._changed, self._in_flight = loop, asyncio.Event(), {}
        return self._changed

    async def wait(self, url: str) -> int:
        """Waits until this request's reply may be handed over; returns its ticket."""
        ticket = next(self._arrivals)
        self._event()
        self._in_flight[ticket] = self._rank(ticket, url)
        try:
            # Requests sent together (gather, create_task) arrive within a few turns of the
            # loop, without any real time passing: all of them are in flight before any reply.
            for _ in range(SETTLING_TURNS):
                await asyncio.sleep(0)
            if url not in self.failing and self.latency:
                await asyncio.sleep(self.latency)
            while min(self._in_flight.values()) != self._in_flight[ticket]:
                await self._event().wait()
            if self.order is not ReplyOrder.REQUEST:  # forced: each reply handled alone, files written
                await asyncio.sleep(max(0.0, self._last_delivery + SPACING - time.monotonic()))
        except BaseException:
            self.done(ticket)
            raise
        return ticket

    def done(self, ticket: int) -> None:
        self._last_delivery = time.monotonic()
        if self._in_flight.pop(ticket, None) is not None and self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()


def _serve_requests(mocked: responses.RequestsMock, url: str, body: bytes, latency: float) -> None:
    def reply(request: Any) -> tuple[int, dict[str, str], bytes]:
        time.sleep(latency) if latency else None
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
    on_request: Callable[[], None],
) -> Iterator[None]:
    original_init = requests.Session.__init__
    original_send = requests.Session.send
    original_close = requests.Session.close

    def init(session: requests.Session, *args: Any, **kwargs: Any) -> None:
        traffic.sessions.append(id(session))
        original_init(session, *args, **kwargs)

    def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
        traffic.sending(id(session), str(request.url))
        on_request()
        try:
            return original_send(session, request, **kwargs)
        finally:
            traffic.replied()

    def close(session: requests.Session) -> None:
        traffic.closed.add(id(session))
        original_close(session)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        for url, body in images:
            _serve_requests(mocked, url, body, latency)
        for failure in failures:
            _fail_requests(mocked, failure)
        with (
            mock.patch.object(requests.Session, "__init__", init),
            mock.patch.object(requests.Session, "send", send),
            mock.patch.object(requests.Session, "close", close),
        ):
            yield


class _RecordingMock(MockedAiohttp):
    def __init__(self, traffic: Traffic, turns: Turns, on_request: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._traffic = traffic
        self._turns = turns
        self._on_request = on_request

    async def _request_mock(self, orig_self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> Any:
        url = str(kwargs.get("str_or_url", args[1] if len(args) > 1 else ""))
        self._traffic.sending(id(orig_self), url)
        if orig_self.closed:  # refused at once, as aiohttp does
            return await super()._request_mock(orig_self, *args, **kwargs)
        self._on_request()
        ticket = await self._turns.wait(url)
        try:
            return await super()._request_mock(orig_self, *args, **kwargs)
        finally:
            self._turns.done(ticket)
            self._traffic.replied()


@contextmanager
def mocked_http(
    part: str,
    images: list[tuple[str, bytes]],
    failures: list[Failure],
    latency: float = 0.0,
    on_first_request: Callable[[], None] | None = None,
    reply_order: ReplyOrder = ReplyOrder.REQUEST,
) -> Iterator[Traffic]:
    """Both libraries mocked (a coroutine calling requests is graded, not crashed).

    ``on_first_request`` runs once, when the first request arrives (before any reply).
    """
    traffic = Traffic()
    on_request = _once(on_first_request)
    if part == "sync":
        with _requests_mock(traffic, images, failures, latency, on_request):
            yield traffic
        return
    blocking = Traffic()  # requests called from a coroutine: counted apart, as other sessions
    turns = Turns(reply_order, frozenset(failure.url for failure in failures), latency)
    with (
        _requests_mock(blocking, images, failures, latency, on_request),
        _RecordingMock(traffic, turns, on_request) as mocked,
    ):
        for url, body in images:

            async def reply(url: Any, _body: bytes = body, **kwargs: Any) -> CallbackResult:
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
    starts = [t for t in (traffic.first_sent, blocking.first_sent) if t is not None]
    ends = [t for t in (traffic.last_reply, blocking.last_reply) if t is not None]
    traffic.first_sent, traffic.last_reply = min(starts, default=None), max(ends, default=None)
