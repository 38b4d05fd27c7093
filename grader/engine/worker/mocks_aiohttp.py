"""Part 2's mocked aiohttp (``aioresponses``), with replies handed over in a fixed order.

The order in which replies reach the student's tasks is fixed (:class:`Turns`): a reply is
handed over once its latency has passed and every request still in flight that comes before
it in the chosen order (``protocol.ReplyOrder``) has had its own. Scheduling, machine load
or which reply carries a latency can then never decide a mark; ``nox -s flake`` grades the
catalogue under every order to prove that no judgement depends on it either.

Imported by :func:`mocks.mocked_http` for part 2 only.
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
from aioresponses import CallbackResult

from .aioresponses_compat import MockedAiohttp
from .mocks import ERROR_PAGE, Failure, Traffic
from .protocol import ReplyOrder

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
def mocked_aiohttp(
    traffic: Traffic,
    images: list[tuple[str, bytes]],
    failures: list[Failure],
    latency: float,
    on_request: Callable[[], None],
    reply_order: ReplyOrder,
) -> Iterator[None]:
    """aiohttp's sessions mocked: every image, every failure, replies in ``reply_order``."""
    turns = Turns(reply_order, frozenset(failure.url for failure in failures), latency)
    with _RecordingMock(traffic, turns, on_request) as mocked:
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
            yield
