"""What watch mode watches: the two files of a folder, by the system's events or by polling.

:class:`Watcher` reports, from its own thread, the parts whose file changed (watchfiles:
native events on Linux, macOS and Windows, or its polling mode). :func:`events_may_not_arrive`
names the folders where events are known not to arrive (WSL2's /mnt/c, network drives), and
:func:`content_key` lets the watcher grade a part only when its file really changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from grader.engine import readback
from grader.engine.paths import PART_FILES

POLL_DELAY_MS = 300


def events_may_not_arrive(folder: Path) -> str:
    """Why the operating system's file events may never arrive for ``folder`` ('' if they should)."""
    resolved = str(folder.resolve())
    if sys.platform.startswith("linux") and resolved.startswith("/mnt/"):
        with contextlib.suppress(OSError):
            if "microsoft" in Path("/proc/version").read_text(encoding="utf-8").lower():
                return "dossier Windows vu depuis WSL"
    if os.name == "nt":
        if resolved.startswith("\\\\"):
            return "dossier réseau"
        import ctypes

        drive = resolved[:3]
        windll = getattr(ctypes, "windll", None)
        if windll is not None and windll.kernel32.GetDriveTypeW(drive) == 4:  # DRIVE_REMOTE
            return "lecteur réseau"
    return ""


def content_key(path: Path) -> str:
    """What a file holds, as a digest ('' when it is missing or unreadable).

    Read as the grade reads it: a link (to /dev/zero, say) is not followed, a FIFO is not
    waited on, and no more is read than the grade would copy. Anything but a regular file is
    known by its kind and date, so that becoming one, or changing, is still seen.
    """
    body = readback.read_file(path, readback.MAX_FILE_BYTES + 1)
    if body is not None:
        return hashlib.sha256(body).hexdigest()
    try:
        info = os.lstat(path)
    except OSError:
        return ""
    return f"{stat.S_IFMT(info.st_mode)}:{info.st_mtime_ns}:{info.st_size}"


class Watcher:
    """Reports the parts whose file changed, through ``notify`` (from its own thread)."""

    def __init__(self, folder: Path, notify: Callable[[set[str]], None], poll: bool) -> None:
        self.folder = folder
        self.notify = notify
        self.polling = poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="surveillance", daemon=True)
        self._thread.start()

    def switch_to_polling(self) -> None:
        if self.polling:
            return
        self.stop()
        self.polling = True
        self.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        try:
            self._follow_events()
        except Exception:  # the folder vanished, the system refused a watch…: the safety check takes over
            return

    def _follow_events(self) -> None:
        import watchfiles

        names = {name: part for part, name in PART_FILES.items()}

        def ours(_: watchfiles.Change, path: str) -> bool:
            return Path(path).name in names

        for changes in watchfiles.watch(
            self.folder,
            watch_filter=ours,
            recursive=False,
            force_polling=self.polling,
            poll_delay_ms=POLL_DELAY_MS,
            stop_event=self._stop,
            debounce=400,
            step=50,
            raise_interrupt=False,
        ):
            parts = {names[Path(path).name] for _, path in changes if Path(path).name in names}
            if parts:
                self.notify(parts)
