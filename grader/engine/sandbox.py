"""Starting, watching and killing a worker process, with every protection the platform has.

- an isolated interpreter (``-I -B``) in a scratch folder, stdin empty, a minimal
  environment without proxies;
- on Linux as root: an unprivileged uid (dropped by the worker once it has imported what
  it needs), and a new PID namespace, so that the worker cannot see or signal the
  supervisor and every process it starts dies with it;
- its own process group (POSIX) or a tree kill (Windows), so a deadline kills it all;
- console streams read in threads and capped, control characters removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

from grader.engine.paths import ENGINE_DIR
from grader.engine.worker import SCRIPT_END_MARK

WORKER_PACKAGE = ENGINE_DIR / "worker"
UNPRIVILEGED_UID = 65534  # « nobody »
STREAM_CAP = 64 * 1024

_BOOT = (
    "import sys, importlib.util as u\n"
    "p = sys.argv[1]\n"
    "s = u.spec_from_file_location('worker', p + '/__init__.py', submodule_search_locations=[p])\n"
    "m = u.module_from_spec(s); sys.modules['worker'] = m; s.loader.exec_module(m)\n"
    "from worker.main import run\n"
    "run(sys.argv[2:])\n"
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]|\x1b\[[0-9;?]*[A-Za-z]")


def clean_text(text: str) -> str:
    """Removes control characters and terminal escapes, keeping line breaks and tabs."""
    return _CONTROL.sub("", text.replace("\r\n", "\n"))


@dataclass(frozen=True)
class Protections:
    """Which protections this platform gives the workers (shown in the report)."""

    unprivileged_uid: int | None
    pid_namespace: bool
    network_namespace: bool = False

    def describe(self) -> list[str]:
        shown = ["processus séparé (interpréteur isolé, copie des fichiers, entrée standard vide)"]
        shown.append("garde réseau, processus et fichiers (crochet d'audit)")
        if self.unprivileged_uid is not None:
            shown.append(f"utilisateur sans privilèges (uid {self.unprivileged_uid})")
        if self.pid_namespace:
            shown.append("espace de processus séparé (Linux)")
        if self.network_namespace:
            shown.append("réseau privé réduit à la boucle locale (Linux)")
        shown.append("arrêt de tout l'arbre de processus à l'échéance")
        return shown


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@cache
def _unshare_works(*namespaces: str) -> bool:
    """New namespaces need root and util-linux's unshare (containers may forbid them)."""
    tool = shutil.which("unshare")
    if tool is None or not _is_root() or not sys.platform.startswith("linux"):
        return False
    try:
        command = [tool, *namespaces, "--fork", "--kill-child", "true"]
        done = subprocess.run(command, capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@cache
def protections() -> Protections:
    if os.environ.get("GRADER_NO_SANDBOX") == "1":  # the kit's own tests of the fallbacks
        return Protections(None, False)
    drop = UNPRIVILEGED_UID if _is_root() and hasattr(os, "setuid") else None
    pid = _unshare_works("--pid")
    network = pid and hasattr(socket, "send_fds") and _unshare_works("--pid", "--net")
    return Protections(drop, pid, network)


def worker_environment(scratch: Path) -> dict[str, str]:
    """Minimal: no proxy (the only server is on loopback), no credentials, HOME in scratch."""
    keep = ("PATH", "SYSTEMROOT", "WINDIR", "TEMP", "TMP", "LANG", "LC_ALL")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update({"HOME": str(scratch), "USERPROFILE": str(scratch), "NO_PROXY": "*", "no_proxy": "*"})
    env.setdefault("LANG", "C.UTF-8")
    return env


def scratch_base() -> str | None:
    """Where scratch folders go: the usual temporary folder, unless the unprivileged worker
    could not reach it (a private TMPDIR of mode 700), then the system's shared one."""
    if protections().unprivileged_uid is None:
        return None
    folder = Path(tempfile.gettempdir()).resolve()
    reachable = all(os.stat(part).st_mode & stat.S_IXOTH for part in [folder, *folder.parents])
    return None if reachable else "/tmp"


def give_to_worker(folder: Path) -> None:
    """The unprivileged worker must be able to write its scratch folder, and only that."""
    uid = protections().unprivileged_uid
    if uid is None:
        return
    for root, _, files in os.walk(folder):
        os.chown(root, uid, uid)
        for name in files:
            os.chown(os.path.join(root, name), uid, uid)


class CappedStream:
    """Reads a pipe to its end in a thread, keeping only the first ``cap`` bytes."""

    def __init__(self, pipe: IO[bytes], cap: int = STREAM_CAP, echo: bool = False) -> None:
        self._echo = echo
        self._chunks: list[bytes] = []
        self._size = 0
        self.truncated = False
        self._cap = cap
        self._thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self._thread.start()

    def _pump(self, pipe: IO[bytes]) -> None:
        try:
            while chunk := (pipe.read1(4096) if hasattr(pipe, "read1") else pipe.read(4096)):
                if self._echo:
                    self._show(chunk)
                kept = chunk[: max(0, self._cap - self._size)]
                if kept:
                    self._chunks.append(kept)
                    self._size += len(kept)
                self.truncated = self.truncated or len(kept) < len(chunk)
        except (OSError, ValueError):
            pass

    @staticmethod
    def _show(chunk: bytes) -> None:
        text = clean_text(chunk.decode("utf-8", errors="replace"))
        shown = text.split(SCRIPT_END_MARK, 1)[0]
        sys.stdout.write(shown)
        sys.stdout.flush()

    def text(self, wait: float = 1.0) -> str:
        self._thread.join(wait)
        return clean_text(b"".join(self._chunks).decode("utf-8", errors="replace"))


REPORT_LINE_CAP = 4 * 1024 * 1024


class ReportChannel:
    """The worker's JSON lines, read in a thread so that waiting for one has a deadline."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(pipe,), daemon=True).start()

    def _pump(self, pipe: IO[bytes]) -> None:
        try:
            while line := pipe.readline(REPORT_LINE_CAP):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # not ours: garbage written to the channel
                if isinstance(event, dict):
                    self._queue.put(event)
        except (OSError, ValueError):
            pass
        self._queue.put(None)

    def next(self, timeout: float) -> dict[str, Any] | None:
        """The next event; None when the worker ended; raises queue.Empty at the deadline."""
        return self._queue.get(timeout=max(0.0, timeout))


@dataclass
class Worker:
    """One running worker: its report channel and its console."""

    process: subprocess.Popen[bytes]
    console: CappedStream
    channel: ReportChannel
    handover: socket.socket | None = None  # listening sockets come through it (network namespace)

    def receive_listeners(self, count: int, timeout: float) -> list[socket.socket]:
        """The listening sockets the worker opened in its namespace, for our image servers."""
        assert self.handover is not None
        self.handover.settimeout(timeout)
        try:
            _, descriptors, _, _ = socket.recv_fds(self.handover, 1024, count)
            self.handover.send(b"k")
        finally:
            self.handover.close()
        if len(descriptors) != count:
            raise OSError("sockets d'écoute non reçus de l'ouvrier")
        return [socket.socket(fileno=descriptor) for descriptor in descriptors]

    def kill(self) -> None:
        """Kills the worker and every process it started (whole group, or tree on Windows)."""
        process = self.process
        if hasattr(os, "killpg"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        elif os.name == "nt":
            subprocess.run(
                ["taskkill", "/F", "/T", "/PID", str(process.pid)], capture_output=True, check=False
            )
        with contextlib.suppress(OSError):
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def start_worker(plan_path: Path, scratch: Path, echo: bool = False, listeners: int = 0) -> Worker:
    """Starts a worker; it imports its libraries while the plan is being written.

    With ``listeners`` (and a network namespace available), the worker runs in a private
    network and hands over that many listening sockets (:meth:`Worker.receive_listeners`).
    """
    boot = [sys.executable, "-I", "-B", "-u", "-X", "utf8", "-c", _BOOT, str(WORKER_PACKAGE), str(plan_path)]
    ours: socket.socket | None = None
    theirs: socket.socket | None = None
    namespaces = ["--pid"] if protections().pid_namespace else []
    if listeners and protections().network_namespace:
        ours, theirs = socket.socketpair()
        boot += [str(theirs.fileno()), str(listeners)]
        namespaces.append("--net")
    command = boot
    if namespaces:
        tool = shutil.which("unshare")
        assert tool is not None
        command = [tool, *namespaces, "--fork", "--kill-child", *boot]
    # Its own process group (POSIX) or process group for taskkill /T (Windows): killed as a whole.
    flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    process = subprocess.Popen(
        command,
        cwd=scratch,
        env=worker_environment(scratch),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=hasattr(os, "killpg"),
        creationflags=flags,
        pass_fds=(theirs.fileno(),) if theirs is not None else (),
    )
    if theirs is not None:
        theirs.close()
    assert process.stderr is not None and process.stdout is not None
    return Worker(process, CappedStream(process.stderr, echo=echo), ReportChannel(process.stdout), ours)
