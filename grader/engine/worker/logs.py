"""Logging seen from the worker: every record created, the student's console, and a reset.

A record factory sees every record past its logger's level, whatever handler (or none)
the student configured, so a named logger that does not propagate is seen too.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


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
            if len(self.records) < 500:
                try:
                    message = record.getMessage()
                except Exception:  # a wrong %-format in the student's call
                    message = str(record.msg)
                self.records.append(LoggedRecord(record.levelno, message[:300]))
            return record

        logging.setLogRecordFactory(recording_factory)


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


class ObservedBuffer(io.StringIO):
    """A buffer that also writes everything to the worker's real console (fd 2).

    The supervisor reads that console itself: a line the worker reports as shown counts only
    if it is there too, so a forged report cannot invent what the student's code printed.
    """

    def write(self, text: str) -> int:
        with contextlib.suppress(OSError, ValueError):
            os.write(2, text.encode("utf-8", "replace"))
        return super().write(text)


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


def console_from(setup: Callable[[], T]) -> tuple[Console, T]:
    """Runs the student's setup_logging and redirects its console handlers into a buffer."""
    bare_root()
    before = LoggingState.capture()
    outcome = setup()
    stream = ObservedBuffer()
    handlers = new_handlers(before)
    for handler in handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
    return Console(handlers, stream, RecordCollector()), outcome


def default_console() -> Console:
    """A plain INFO console, for checks that must not depend on setup_logging being done."""
    bare_root()
    stream = ObservedBuffer()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return Console([handler], stream, RecordCollector())
