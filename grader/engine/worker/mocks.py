"""Mocked HTTP for both parts (``responses``, ``aioresponses``) that records who asked.

Only what a mock can show is observed here: which session object sent each request and
how many sessions the student's code opened and closed. Each request may carry a
latency, and the output folder can appear at the first request (``on_first_request``), so
that a missing ``mkdir`` costs the directory criterion only, whatever reply comes first.

Part 2's aiohttp mock, and the fixed order of its replies, are in :mod:`mocks_aiohttp`:
part 1's worker never loads aiohttp.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import requests
import responses

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

    def merge(self, other: Traffic) -> None:
        """Adds what another mock saw in the same run (requests called from a coroutine)."""
        self.sessions += other.sessions
        self.sent += other.sent
        self.closed |= other.closed
        starts = [t for t in (self.first_sent, other.first_sent) if t is not None]
        ends = [t for t in (self.last_reply, other.last_reply) if t is not None]
        self.first_sent, self.last_reply = min(starts, default=None), max(ends, default=None)

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
    from .mocks_aiohttp import mocked_aiohttp  # part 2 only: part 1's worker never loads aiohttp

    blocking = Traffic()  # requests called from a coroutine: counted apart, as other sessions
    with (
        _requests_mock(blocking, images, failures, latency, on_request),
        mocked_aiohttp(traffic, images, failures, latency, on_request, reply_order),
    ):
        yield traffic
    traffic.merge(blocking)
