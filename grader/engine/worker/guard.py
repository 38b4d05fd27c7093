"""The worker's in-process guard: an audit hook that student code cannot remove.

Audit hooks run inside the C implementation of each audited call, so they also see raw
``_socket`` use, ``os.system`` and the like. The guard refuses, and records:

- every connection, datagram and name lookup that leaves the loopback interface;
- every new process (``subprocess``, ``os.system``, ``os.exec*``, ``os.fork``…);
- signals sent to any process other than the worker itself;
- writes, renames and deletions outside the scratch folder;
- loading native code through ``ctypes`` once the worker is ready.

It also watches what the checks need: write-mode opens in a folder (with the thread that
opened them, to tell a blocking write on the event-loop thread), blocking socket connects
and ``time.sleep`` on the event-loop thread, and it can make the n-th open fail (disk full).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_SPAWN_EVENTS = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "os.startfile",
        "pty.spawn",
    }
)
_PATH_EVENTS = {  # event → indexes of its path arguments
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.rename": (0, 1),
    "os.link": (0, 1),
    "os.symlink": (0, 1),
    "os.truncate": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.utime": (0,),
    "shutil.rmtree": (0,),
    "os.mkdir": (0,),
}
_NATIVE_EVENTS = frozenset({"ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.cdata"})


class Refused(PermissionError):
    """What the guard raises: an OSError, as the real failure would be."""


def is_loopback(host: object) -> bool:
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name in {"localhost", "", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def _loop_running_here() -> bool:
    import asyncio

    return asyncio._get_running_loop() is not None


@dataclass(frozen=True)
class FileOpen:
    name: str
    on_loop_thread: bool


@dataclass
class WriteWatch:
    """Write-mode opens under ``folder``; the ``fail_at``-th one fails like a full disk."""

    folder: str
    fail_at: int | None = None
    opens: list[FileOpen] = field(default_factory=list)
    mkdirs: int = 0  # the student's os.mkdir calls on the folder, its parents or inside it

    def concerns(self, path: str) -> bool:
        inside, above = path.startswith(self.folder + os.sep), self.folder.startswith(path + os.sep)
        return path == self.folder or inside or above


@dataclass
class Guard:
    scratch: str
    kit: str = ""  # the grader's own folder: nothing in it is the student's to read
    kit_readable: tuple[str, ...] = ()  # except these (the virtual environment's packages)
    blocked: list[str] = field(default_factory=list)
    blocking_calls: list[str] = field(default_factory=list)
    watches: list[WriteWatch] = field(default_factory=list)
    native_locked: bool = False
    first_local_connect: Callable[[], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _own: threading.local = field(default_factory=threading.local)

    # -- recording -------------------------------------------------------------------------

    def _refuse(self, what: str) -> Refused:
        with self._lock:
            if len(self.blocked) < 50:
                self.blocked.append(what)
        return Refused(errno.EACCES, f"refusé par le correcteur : {what}")

    def _blocking(self, what: str) -> None:
        with self._lock:
            if len(self.blocking_calls) < 50:
                self.blocking_calls.append(what)

    def take(self) -> tuple[list[str], list[str]]:
        with self._lock:
            blocked, self.blocked = self.blocked, []
            blocking, self.blocking_calls = self.blocking_calls, []
        return blocked, blocking

    # -- the hook --------------------------------------------------------------------------

    def _inside_scratch(self, path: object) -> bool:
        if isinstance(path, int):
            return True  # an already-open descriptor: its opening was checked
        try:
            resolved = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return resolved == self.scratch or resolved.startswith(self.scratch + os.sep)

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            self._on_open(args)
        elif event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
            self._on_socket(event, args)
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
            if not is_loopback(args[0]):
                raise self._refuse(f"résolution de nom sur le réseau ({args[0]!r})")
        elif event in _SPAWN_EVENTS:
            raise self._refuse(f"lancement d'un programme externe ({event}), réseau compris")
        elif event in ("os.kill", "os.killpg", "signal.pthread_kill"):
            if event != "signal.pthread_kill" and args[0] not in (os.getpid(), 0):
                raise self._refuse(f"signal envoyé au processus {args[0]}")
        elif event in _PATH_EVENTS:
            for index in _PATH_EVENTS[event]:
                if index < len(args) and not self._inside_scratch(args[index]):
                    raise self._refuse(f"modification hors du dossier de travail ({event} {args[index]})")
            if event == "os.mkdir" and not getattr(self._own, "active", False):
                self._on_mkdir(args[0])
        elif event in _NATIVE_EVENTS and self.native_locked:
            raise self._refuse(f"chargement de code natif ({event})")
        elif event == "sys.addaudithook" and self.native_locked:
            raise self._refuse("ajout d'un autre crochet d'audit")

    def _in_kit(self, path: object) -> bool:
        if not self.kit or isinstance(path, int):
            return False
        try:
            resolved = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        inside = resolved.startswith(self.kit + os.sep)
        return inside and not any(resolved.startswith(allowed + os.sep) for allowed in self.kit_readable)

    def _on_open(self, args: tuple[Any, ...]) -> None:
        path, mode, flags = args[0], args[1], args[2]
        writing = (isinstance(flags, int) and bool(flags & _WRITE_FLAGS)) or (
            isinstance(mode, str) and any(c in mode for c in "wax+")
        )
        if path is None or isinstance(path, int):
            return
        if not writing:
            if self._in_kit(path):  # the reference solution, the grader's sources…
                raise self._refuse(
                    f"lecture d'un fichier du correcteur ({os.path.basename(os.fsdecode(path))})"
                )
            return
        if not self._inside_scratch(path):
            raise self._refuse(f"écriture hors du dossier de travail ({os.fsdecode(path)})")
        absolute = os.path.abspath(os.fsdecode(path))
        for watch in list(self.watches):
            if absolute.startswith(watch.folder + os.sep):
                watch.opens.append(FileOpen(os.path.basename(absolute), _loop_running_here()))
                if len(watch.opens) == watch.fail_at:
                    raise OSError(errno.ENOSPC, "Plus de place sur le disque (simulé par le correcteur)")

    def _on_socket(self, event: str, args: tuple[Any, ...]) -> None:
        sock, address = args[0], args[1]
        if not isinstance(address, tuple) or not address:
            return  # AF_UNIX and friends stay on this machine
        if not is_loopback(address[0]):
            raise self._refuse(f"accès réseau vers {address[0]}")
        if event == "socket.connect":
            if self.first_local_connect is not None:
                self.first_local_connect()
            if _loop_running_here() and sock.gettimeout() != 0.0:
                self._blocking("connexion réseau bloquante (requests ?)")

    def _on_mkdir(self, path: object) -> None:
        try:
            absolute = os.path.abspath(os.fsdecode(path))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        for watch in list(self.watches):
            if watch.concerns(absolute):
                watch.mkdirs += 1

    # -- helpers for scenarios -------------------------------------------------------------

    def own_mkdir(self, folder: Path) -> None:
        """The grader creates ``folder`` itself: not counted as the student's mkdir."""
        self._own.active = True
        try:
            folder.mkdir(parents=True, exist_ok=True)
        finally:
            self._own.active = False

    @contextmanager
    def watch_writes(self, folder: Path, fail_at: int | None = None) -> Iterator[WriteWatch]:
        watch = WriteWatch(os.path.abspath(folder), fail_at)
        self.watches.append(watch)
        try:
            yield watch
        finally:
            self.watches.remove(watch)


def install(scratch: Path, kit: str = "", kit_readable: tuple[str, ...] = ()) -> Guard:
    guard = Guard(
        os.path.realpath(scratch),
        os.path.realpath(kit) if kit else "",
        tuple(os.path.realpath(path) for path in kit_readable),
    )
    sys.addaudithook(guard.hook)
    _watch_sleep(guard)
    return guard


def _watch_sleep(guard: Guard) -> None:
    """``time.sleep`` on the event-loop thread freezes every task: record it, then sleep."""
    original = time.sleep

    def sleep(seconds: Any) -> None:
        if _loop_running_here():
            guard._blocking(f"time.sleep({seconds!r}) dans une coroutine")
        original(seconds)

    time.sleep = sleep
