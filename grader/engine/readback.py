"""Reading what a worker left in its scratch folder, without trusting anything found there.

The folder belongs to the student's process: any entry may be a symbolic link, a FIFO, a
device, a hard link to a big file repeated a hundred times, or a chain of a thousand
nested folders. The supervisor reads it with root's rights, so every open refuses to
follow links and to block, only regular files are read, and the walk is iterative and
bounded (depth, entries, files, bytes; a file reached by several names is read once).
A name that is not valid UTF-8 keeps a replacement character instead of crashing later.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

MAX_DEPTH = 12
MAX_ENTRIES = 5000
MAX_FILES = 300
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_TOTAL_BYTES = 32 * 1024 * 1024

_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NON_BLOCKING = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def readable_name(raw: str) -> str:
    """A file name as text that always encodes: undecodable bytes become U+FFFD."""
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


@dataclass
class FolderContents:
    """Regular files (path relative to the root, with ``/``) and folders found by the walk."""

    files: dict[str, bytes] = field(default_factory=dict)
    folders: set[str] = field(default_factory=set)
    truncated: bool = False  # a bound was reached: what is missing was never read


def _read_regular(descriptor: int, cap: int) -> bytes:
    chunks: list[bytes] = []
    left = cap
    while left > 0:
        chunk = os.read(descriptor, min(left, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_file(path: Path, cap: int = MAX_FILE_BYTES) -> bytes | None:
    """A regular file's first ``cap`` bytes, or None (missing, a link, a FIFO, a device…)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | _NO_FOLLOW | _NON_BLOCKING | _BINARY)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        return _read_regular(descriptor, cap)
    except OSError:
        return None
    finally:
        os.close(descriptor)


def read_tree(root: Path) -> FolderContents:
    """Everything under ``root`` within the bounds; never raises, never follows a link."""
    found = FolderContents()
    if not hasattr(os, "scandir") or os.name == "nt":
        return _read_tree_portable(root, found)
    try:
        top = os.open(root, os.O_RDONLY | _DIRECTORY | _NO_FOLLOW)
    except OSError:
        return found
    pending: deque[tuple[int, str, int]] = deque([(top, "", 0)])
    seen_inodes: dict[tuple[int, int], bytes] = {}
    budget = _Budget()
    try:
        while pending:
            descriptor, prefix, depth = pending.popleft()
            try:
                _read_folder(descriptor, prefix, depth, pending, seen_inodes, budget, found)
            finally:
                os.close(descriptor)
    finally:
        for descriptor, _, _ in pending:
            with contextlib.suppress(OSError):
                os.close(descriptor)
    found.truncated = found.truncated or budget.exhausted
    return found


@dataclass
class _Budget:
    entries: int = 0
    total_bytes: int = 0
    exhausted: bool = False


def _read_folder(
    descriptor: int,
    prefix: str,
    depth: int,
    pending: deque[tuple[int, str, int]],
    seen_inodes: dict[tuple[int, int], bytes],
    budget: _Budget,
    found: FolderContents,
) -> None:
    try:
        names = sorted(os.listdir(descriptor))
    except OSError:
        return
    for raw in names:
        budget.entries += 1
        if budget.entries > MAX_ENTRIES or len(found.files) >= MAX_FILES:
            budget.exhausted = True
            return
        relative = f"{prefix}{readable_name(raw)}"
        try:
            info = os.stat(raw, dir_fd=descriptor, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            found.folders.add(relative)
            if depth + 1 >= MAX_DEPTH:
                budget.exhausted = True
                continue
            try:
                child = os.open(raw, os.O_RDONLY | _DIRECTORY | _NO_FOLLOW, dir_fd=descriptor)
            except OSError:
                continue
            pending.append((child, relative + "/", depth + 1))
        elif stat.S_ISREG(info.st_mode):
            body = _file_body(raw, descriptor, info, seen_inodes, budget)
            if body is not None:
                found.files[relative] = body


def _file_body(
    raw: str, folder: int, info: os.stat_result, seen: dict[tuple[int, int], bytes], budget: _Budget
) -> bytes | None:
    key = (info.st_dev, info.st_ino)
    if key in seen:  # another name of a file already read: same bytes, no new read
        return seen[key]
    cap = min(MAX_FILE_BYTES, MAX_TOTAL_BYTES - budget.total_bytes)
    if cap <= 0:
        budget.exhausted = True
        return None
    try:
        file = os.open(raw, os.O_RDONLY | _NO_FOLLOW | _NON_BLOCKING, dir_fd=folder)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(file).st_mode):  # replaced between stat and open
            return None
        body = _read_regular(file, cap)
    except OSError:
        return None
    finally:
        os.close(file)
    budget.total_bytes += len(body)
    seen[key] = body
    return body


def _read_tree_portable(root: Path, found: FolderContents) -> FolderContents:
    """Windows: no dir_fd, but no untrusted owner either (a student grading their own work)."""
    pending: deque[tuple[Path, str, int]] = deque([(root, "", 0)])
    total = 0
    while pending:
        folder, prefix, depth = pending.popleft()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            if len(found.files) >= MAX_FILES or total >= MAX_TOTAL_BYTES:
                found.truncated = True
                return found
            relative = f"{prefix}{readable_name(entry.name)}"
            try:
                if entry.is_dir(follow_symlinks=False):
                    found.folders.add(relative)
                    if depth + 1 < MAX_DEPTH:
                        pending.append((Path(entry.path), relative + "/", depth + 1))
                    else:
                        found.truncated = True
                elif entry.is_file(follow_symlinks=False):
                    body = read_file(Path(entry.path), min(MAX_FILE_BYTES, MAX_TOTAL_BYTES - total))
                    if body is not None:
                        found.files[relative] = body
                        total += len(body)
            except OSError:
                continue
    return found
