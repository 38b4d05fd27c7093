"""The worker's report channel, read in a thread so that waiting for an event has a deadline.

Each event is stamped with the time it arrived here: the supervisor's own observation of how
long the worker took between two reports, whatever the worker claims. The part's state
machine (:mod:`grader.engine.attempt`) depends only on :class:`Channel`, so that tests can
drive it with a scripted channel instead of a process.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from enum import Enum
from typing import IO, Protocol

from grader.engine.worker.protocol import Event, decode_event

REPORT_LINE_CAP = 4 * 1024 * 1024


class Quiet(Enum):
    """What a channel gives instead of an event."""

    SILENCE = "silence"  # nothing arrived before the deadline
    ENDED = "ended"  # the worker closed its channel: it is gone


Received = Event | Quiet


class Channel(Protocol):
    @property
    def last_arrival(self) -> float | None:
        """When the event returned last by :meth:`next` arrived (monotonic clock)."""

    def next(self, timeout: float) -> Received:
        """The next event, or why there is none."""


class ReportChannel:
    """The worker's standard output, one JSON event per line; anything else is skipped."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._queue: queue.Queue[tuple[Event, float] | None] = queue.Queue()
        self._last_arrival: float | None = None
        threading.Thread(target=self._pump, args=(pipe,), daemon=True).start()

    @property
    def last_arrival(self) -> float | None:
        return self._last_arrival

    def _pump(self, pipe: IO[bytes]) -> None:
        try:
            while line := pipe.readline(REPORT_LINE_CAP):
                arrival = time.monotonic()
                try:
                    event = decode_event(json.loads(line))
                except (ValueError, RecursionError):  # RecursionError: arrays nested 100 000 deep
                    continue  # not ours: garbage written to the channel
                if event is not None:
                    self._queue.put((event, arrival))
        except (OSError, ValueError):
            pass
        self._queue.put(None)

    def next(self, timeout: float) -> Received:
        try:
            received = self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return Quiet.SILENCE
        if received is None:
            self._queue.put(None)  # every later call sees the end too
            return Quiet.ENDED
        event, self._last_arrival = received
        return event
