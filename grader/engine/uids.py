"""One unprivileged user id per grade, never shared by two grades running at once.

A worker's uid is the kernel's unit of ownership, signal permission and process count
(RLIMIT_NPROC). If two grades shared one, a student's code could delete, read or kill a
classmate's work. Each grade therefore claims a uid of its own from a range no account
uses, with an exclusive ``flock`` on a lock file in a root-only folder: the kernel drops
the lock when the grading process ends, however it ends, so a crash never leaks a uid.
"""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Above the ranges Debian, systemd (DynamicUser: 61184–65519) and subuid maps hand out.
FIRST_UID = 2_300_000
POOL_SIZE = 10_000
LOCK_FOLDER_NAME = "tp-correcteur-uids"


class NoUidLeft(RuntimeError):
    """Every uid of the pool is in use (10 000 grades at once): never in practice."""


@dataclass
class ClaimedUid:
    """A uid held for one grade; ``release`` (or the process's end) frees it."""

    uid: int
    _lock: int

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._lock)


def _lock_folder() -> Path:
    for base in (Path("/run"), Path(tempfile.gettempdir())):
        folder = base / LOCK_FOLDER_NAME
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            info = os.lstat(folder)
        except OSError:
            continue
        # Planted by someone else (a link, another owner): a student could then hold our locks.
        if info.st_uid == 0 and (info.st_mode & 0o077) == 0 and not os.path.islink(folder):
            return folder
    raise NoUidLeft("aucun dossier sûr pour réserver un utilisateur de correction")


def claim() -> ClaimedUid:
    """A free uid of the pool, held until released (root only: POSIX with flock)."""
    import fcntl

    folder = _lock_folder()
    start = random.randrange(POOL_SIZE)  # spread concurrent graders over the pool
    for offset in range(POOL_SIZE):
        uid = FIRST_UID + (start + offset) % POOL_SIZE
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        descriptor = os.open(folder / f"{uid}.lock", flags, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            continue
        return ClaimedUid(uid, descriptor)
    raise NoUidLeft("tous les utilisateurs de correction sont pris")
