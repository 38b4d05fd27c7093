"""Guards that keep a student's code from hanging, crashing or escaping the grader."""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any


class CheckTimeout(BaseException):
    """Raised in the main thread when a check runs past its deadline.

    A BaseException, so that a student's ``except Exception`` cannot swallow it.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(f"délai de {seconds:g} s dépassé")
        self.seconds = seconds


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupts the block after ``seconds``, then again every half second.

    The repeats break through cleanup code (``finally``, task cancellation) that a
    student's loop might otherwise keep busy.
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise CheckTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- network -----------------------------------------------------------------------------


def _is_local(host: object) -> bool:
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


@dataclass
class NetworkGuard:
    """Refuses every connection and name lookup that does not stay on this machine."""

    blocked: list[str] = field(default_factory=list)
    before_local_connection: Callable[[], None] | None = None  # runs before each allowed connect
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _refuse(self, host: object) -> OSError:
        with self._lock:
            self.blocked.append(str(host))
        return OSError(errno.ENETUNREACH, f"accès réseau bloqué par le correcteur : {host}")

    def install(self) -> None:
        original_getaddrinfo = socket.getaddrinfo
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex

        def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if not _is_local(host):
                raise self._refuse(host)
            return original_getaddrinfo(host, *args, **kwargs)

        def guarded(original: Callable[..., Any]) -> Callable[..., Any]:
            def connect(sock: socket.socket, address: Any) -> Any:
                if sock.family in (socket.AF_INET, socket.AF_INET6):
                    if not _is_local(address[0]):
                        raise self._refuse(address[0])
                    if self.before_local_connection is not None:
                        self.before_local_connection()
                return original(sock, address)

            return connect

        socket.getaddrinfo = guarded_getaddrinfo
        socket.socket.connect = guarded(original_connect)  # type: ignore[method-assign]
        socket.socket.connect_ex = guarded(original_connect_ex)  # type: ignore[method-assign]

    def take_blocked(self) -> list[str]:
        with self._lock:
            hosts, self.blocked = self.blocked, []
        return hosts


# --- files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileOpen:
    path: Path
    thread_id: int


@dataclass
class FileWatch:
    """Write-mode opens of files inside ``directory``, seen through the ``open`` audit event."""

    directory: Path
    fail_open_number: int | None = None
    opens: list[FileOpen] = field(default_factory=list)

    def record(self, path: Path) -> None:
        self.opens.append(FileOpen(path, threading.get_ident()))
        if len(self.opens) == self.fail_open_number:
            raise OSError(errno.ENOSPC, "Plus de place sur le disque (simulé par le correcteur)")


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR
_watches: list[FileWatch] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "open" or not _watches or not isinstance(args[0], str | bytes | os.PathLike):
        return
    flags = args[2]
    if not isinstance(flags, int) or not flags & _WRITE_FLAGS:
        return
    path = Path(os.fsdecode(args[0])).absolute()
    for watch in list(_watches):
        if path.is_relative_to(watch.directory):
            watch.record(path)


sys.addaudithook(_audit)


@contextmanager
def watch_writes(directory: Path, fail_open_number: int | None = None) -> Iterator[FileWatch]:
    """Records write-mode opens under ``directory``; can make the n-th one fail (disk error)."""
    watch = FileWatch(directory.absolute(), fail_open_number)
    _watches.append(watch)
    try:
        yield watch
    finally:
        _watches.remove(watch)
