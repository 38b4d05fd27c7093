"""Starting, watching and killing a worker process, with every protection the platform has.

- everywhere: an isolated interpreter (``-I -B``) in a scratch folder, a minimal
  environment without proxies, its plan on standard input, its own process group (POSIX)
  or a tree kill (Windows), console streams read in threads and capped;
- on Linux as root: the grade's own uid (:mod:`uids`), a private 0700 scratch folder, the
  bubblewrap box (:mod:`bubblewrap`) when the kernel allows namespaces, and in the worker
  a seccomp filter and rlimits; once the grade ends, every process of its uid is killed.

Nothing here trusts the worker: what it reports is read by :mod:`supervisor` as claims.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO

from grader.engine import bubblewrap, bytecode, uids
from grader.engine.channel import ReportChannel
from grader.engine.paths import WORKER_PACKAGE
from grader.engine.process_tree import NEW_GROUP_FLAGS, NEW_SESSION, kill_tree
from grader.engine.text import multi_line
from grader.engine.worker.protocol import WorkerPlan

# Every line the student's code shows is compared with this console: room for a chatty one.
STREAM_CAP = 1024 * 1024

_BOOT = bytecode.LOAD_WORKER_PACKAGE + "from worker.main import run\nrun(sys.argv[2:])\n"


@dataclass(frozen=True)
class Protections:
    """The layers in force for one grade, as the report lists them."""

    uid: int | None = None  # the grade's own unprivileged uid (root on POSIX only)
    box: bool = False  # bubblewrap: namespaces, own /proc, only the interpreter and scratch visible
    seccomp: bool = False  # no new process, no new namespace (kernel filter)
    rlimits: bool = False  # memory, file size, open files, threads, CPU time
    box_refused: bool = False  # root on Linux, but the kernel refused the namespaces (Docker…)

    def describe(self) -> list[str]:
        shown = ["processus séparé (interpréteur isolé, copie des fichiers, entrée standard vide)"]
        if self.box:
            shown.append(
                "bac à sable bubblewrap (Linux) : seuls l'interpréteur et le dossier de travail sont "
                "visibles, /proc et réseau privés réduits à la boucle locale"
            )
        elif self.box_refused:
            shown.append(
                "bac à sable refusé par le noyau (conteneur sans espaces de noms) : couches de repli"
            )
        if self.uid is not None:
            shown.append(f"utilisateur sans privilèges propre à cette correction (uid {self.uid})")
            shown.append("dossier de travail privé (droits 0700)")
        if self.seccomp:
            shown.append("filtre seccomp : aucun nouveau processus")
        if self.rlimits:
            shown.append(
                "limites de mémoire, de taille de fichier, de fichiers ouverts, de threads et de CPU"
            )
        shown.append("garde d'audit Python (messages clairs, seconde couche)")
        shown.append("arrêt de tous les processus de la correction à l'échéance")
        return shown


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@cache
def _seccomp_available() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import pyseccomp

        pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
    except Exception:  # no libseccomp on this system
        return False
    return True


def protections_for(uid: int | None) -> Protections:
    box = uid is not None and bubblewrap.available()
    return Protections(
        uid=uid,
        box=box,
        seccomp=_seccomp_available(),
        rlimits=importlib.util.find_spec("resource") is not None,
        box_refused=uid is not None and sys.platform.startswith("linux") and not box,
    )


def worker_environment(scratch: Path) -> dict[str, str]:
    """Minimal: no proxy (the only server is on loopback), no credentials, HOME in scratch."""
    keep = ("PATH", "SYSTEMROOT", "WINDIR", "TEMP", "TMP", "LANG", "LC_ALL")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update({"HOME": str(scratch), "USERPROFILE": str(scratch), "NO_PROXY": "*", "no_proxy": "*"})
    env.setdefault("LANG", "C.UTF-8")
    return env


def _reachable_by_all(folder: Path) -> bool:
    return all(os.stat(part).st_mode & stat.S_IXOTH for part in [folder, *folder.parents])


@dataclass
class Isolation:
    """One grade's isolation: its uid, its private scratch folder, and the layers in force.

    Two grades never share a uid nor a scratch folder; the scratch is 0700 and owned by the
    grade's uid, so no other grade's worker can enter it, list it or signal its processes.
    """

    scratch: Path
    protections: Protections
    claim: uids.ClaimedUid | None = None
    # Workers started ahead of time (warm_up), by (folder, listeners): the grade's first ones.
    waiting: dict[tuple[Path, int], Worker] = field(default_factory=dict)

    @property
    def uid(self) -> int | None:
        return self.protections.uid

    def give_to_worker(self) -> None:
        """The worker may write its scratch folder, and nothing else of ours."""
        if self.uid is None:
            return
        for root, folders, files in os.walk(self.scratch):
            for name in [*folders, *files]:
                os.chown(os.path.join(root, name), self.uid, self.uid, follow_symlinks=False)
        os.chown(self.scratch, self.uid, self.uid)
        os.chmod(self.scratch, 0o700)

    def close(self) -> None:
        """Kills whatever still runs under the grade's uid, removes the scratch, frees the uid."""
        for worker in self.waiting.values():  # started ahead, and not needed
            worker.kill()
        self.waiting.clear()
        if self.uid is not None:
            kill_every_process_of(self.uid)
        remove_tree(self.scratch)
        if self.claim is not None:
            self.claim.release()


@contextlib.contextmanager
def isolation(prefix: str) -> Iterator[Isolation]:
    """A new grade's isolation, closed at the end; the one prepared by :func:`warm_up` if any."""
    grade = _take_warm(prefix) or _new_isolation(prefix)
    try:
        yield grade
    finally:
        grade.close()


def _new_isolation(prefix: str) -> Isolation:
    claim = uids.claim() if _is_root() and hasattr(os, "setuid") else None
    protections = protections_for(claim.uid if claim else None)
    base: str | None = None
    if claim is not None and not protections.box:
        # Without a mount namespace the worker must reach its folder through the host's tree.
        temporary = Path(tempfile.gettempdir()).resolve()
        base = None if _reachable_by_all(temporary) else "/tmp"
    return Isolation(Path(tempfile.mkdtemp(prefix=prefix, dir=base)), protections, claim)


def kill_every_process_of(uid: int) -> None:
    """SIGKILL to every process of ``uid``: ``setsid`` or double forks cannot hide from it."""
    tool = shutil.which("kill")
    if tool is None:
        return
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [tool, "-9", "-1"], user=uid, group=uid, extra_groups=[], capture_output=True, timeout=10
        )


def remove_tree(folder: Path) -> None:
    """Removes a student-made tree: links never followed, any depth.

    rm's walk is iterative and descriptor-based; shutil.rmtree recurses, and a chain of a
    thousand folders would cost a RecursionError after most of the work.
    """
    tool = shutil.which("rm") if os.name == "posix" else None
    if tool is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run([tool, "-rf", "--one-file-system", "--", str(folder)], timeout=60, check=False)
    if folder.exists():
        with contextlib.suppress(OSError, RecursionError):
            shutil.rmtree(folder, ignore_errors=True)


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
        sys.stdout.write(multi_line(chunk.decode("utf-8", errors="replace")))
        sys.stdout.flush()

    def text(self, wait: float = 1.0) -> str:
        self._thread.join(wait)
        return multi_line(b"".join(self._chunks).decode("utf-8", errors="replace"))


WARM_HANDOVER_SECONDS = 60.0  # nobody waits for a grade prepared ahead: a loaded machine is fine
# At most one: the next grade's isolation, prepared by warm_up(), by its prefix.
_WARM: list[tuple[str, Isolation]] = []


def warm_up(prefix: str, parts: list[str], listeners: int) -> None:
    """Prepares the next grade before it is asked for (watch mode): its isolation, and one
    worker per part, in a folder of its scratch named after it, started and done with its imports.

    Nothing of the submission exists yet: it is copied in when the grade starts, and a
    worker reads nothing of it before it gets its plan. Everything else is as for a worker
    started on demand (same uid, scratch, box, limits), so isolation is the same.
    ``listeners``: as for :func:`start_worker`, in the box only.
    """
    if _WARM or _CANCELLED.is_set():
        return
    grade = _new_isolation(prefix)
    try:
        for name in parts:
            (grade.scratch / name).mkdir()
        grade.give_to_worker()
        count = listeners if grade.protections.box else 0
        for name in parts:
            grade.waiting[(grade.scratch / name, count)] = start_worker(
                grade, grade.scratch / name, name, listeners=count
            )
        for worker in grade.waiting.values():
            if count:  # taken now: the worker goes on with its imports once they are
                worker.received = worker.receive_listeners(count, WARM_HANDOVER_SECONDS)
    except BaseException:
        grade.close()
        raise
    _WARM.append((prefix, grade))


def _take_warm(prefix: str) -> Isolation | None:
    with _LIVE_LOCK:
        if _WARM and _WARM[0][0] == prefix:
            return _WARM.pop()[1]
    return None


class GradeCancelled(Exception):
    """Every grade of this process was cancelled (:func:`cancel_every_grade`): no new worker."""


# The workers running in this process, by pid: what cancelling a grade must kill at once.
_LIVE: dict[int, Worker] = {}
_LIVE_LOCK = threading.Lock()
_CANCELLED = threading.Event()


def cancel_every_grade() -> None:
    """Stops every grade of this process now (watch mode: the file changed again, or Ctrl-C).

    No new worker starts from then on (:class:`GradeCancelled`), and the running ones are
    killed with everything they started; each grade then ends as usual, closing its isolation
    (its uid swept, its scratch removed). Meant for a process that grades once and exits.
    """
    _CANCELLED.set()
    with _LIVE_LOCK:
        running = list(_LIVE.values())
        prepared = [grade for _, grade in _WARM]
        _WARM.clear()
    for worker in running:
        worker.kill()
    for grade in prepared:
        grade.close()


@dataclass
class Worker:
    """One running worker: its plan pipe, its report channel and its console."""

    process: subprocess.Popen[bytes]
    console: CappedStream
    channel: ReportChannel
    handover: socket.socket | None = None  # listening sockets come through it (network namespace)
    received: list[socket.socket] | None = None  # already taken (a worker started ahead)

    def send_plan(self, plan: WorkerPlan) -> None:
        """The plan goes through the worker's standard input: never a file in its folder."""
        stream = self.process.stdin
        assert stream is not None
        try:
            stream.write(plan.encode().encode("utf-8") + b"\n")
            stream.close()
        except OSError:  # the worker is already gone: its channel says so
            pass

    def receive_listeners(self, count: int, timeout: float) -> list[socket.socket]:
        """The listening sockets the worker opened in its namespace, for our image servers."""
        if self.received is not None and len(self.received) == count:
            received, self.received = self.received, None
            return received
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
        """Kills the worker and every process it started.

        In the box, the worker's bubblewrap is the PID namespace's parent: killing it kills
        the namespace. Elsewhere, its process group (POSIX) or its tree (Windows); the
        grade's uid is swept once the grade ends (:meth:`Isolation.close`).
        """
        kill_tree(self.process)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        with _LIVE_LOCK:
            _LIVE.pop(self.process.pid, None)

    def exit_code(self, wait: float) -> int | None:
        """The worker's exit status, waiting up to ``wait`` seconds for it to end."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=wait)
        return self.process.returncode


def start_worker(grade: Isolation, folder: Path, part: str, echo: bool = False, listeners: int = 0) -> Worker:
    """Starts a worker for ``folder`` (inside the grade's scratch); it imports while we prepare.

    With ``listeners`` and the box, the worker runs in a private network and hands over that
    many listening sockets (:meth:`Worker.receive_listeners`) for the supervisor's servers.
    """
    if _CANCELLED.is_set():
        raise GradeCancelled("correction annulée")
    waiting = None if echo else grade.waiting.pop((folder, listeners), None)
    if waiting is not None:
        return waiting
    bytecode.ensure()
    # The part goes first: the worker imports that part's libraries before its plan arrives.
    inner = [sys.executable, "-I", "-B", "-u", "-X", "utf8", "-c", _BOOT, str(WORKER_PACKAGE), part]
    ours: socket.socket | None = None
    theirs: socket.socket | None = None
    if listeners and grade.protections.box:
        ours, theirs = socket.socketpair()
        inner += [str(theirs.fileno()), str(listeners)]
    command = inner
    if grade.protections.box:
        readable = [*bubblewrap.interpreter_folders(), WORKER_PACKAGE]
        # Without sockets to hand over, the script's server runs outside: keep the host's loopback.
        command = bubblewrap.command(grade.scratch, readable, inner, private_network=bool(listeners))
    # Its own process group (POSIX) or process group for taskkill /T (Windows): killed as a whole.
    process = subprocess.Popen(
        command,
        cwd=folder,
        env=worker_environment(folder),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=NEW_SESSION,
        creationflags=NEW_GROUP_FLAGS,
        pass_fds=(theirs.fileno(),) if theirs is not None else (),
    )
    if theirs is not None:
        theirs.close()
    assert process.stderr is not None and process.stdout is not None
    worker = Worker(process, CappedStream(process.stderr, echo=echo), ReportChannel(process.stdout), ours)
    with _LIVE_LOCK:
        _LIVE[process.pid] = worker
    if _CANCELLED.is_set():  # cancelled while it started: it must not outlive the grade
        worker.kill()
    return worker
