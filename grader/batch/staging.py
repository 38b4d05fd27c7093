"""Private copies of the submissions: each grade reads a fresh, read-only copy of the snapshot.

The copies live in a private temporary folder (mode 700), far from the class folder and the
output folder, which the grader's processes are not told about. Each grade also gets its
own temporary folder (TMPDIR). The student's code itself only ever runs in the grader's
isolated workers, which cannot write outside their scratch folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.batch.discovery import Submission


@dataclass(frozen=True)
class StagedCopy:
    root: Path  # this grade's private folder
    target: Path  # the copy of the two files, read-only: what the grader grades
    results: Path
    log: Path
    scratch: Path  # TMPDIR of the grader and the student's code
    hashes: dict[str, str]

    def intact(self) -> bool:
        """True if the copy still holds exactly the snapshot's bytes (nobody wrote into it)."""
        present = {p.name for p in self.target.iterdir()}
        if present != set(self.hashes):
            return False
        return all(
            hashlib.sha256((self.target / name).read_bytes()).hexdigest() == digest
            for name, digest in self.hashes.items()
        )


def _writable(function: Callable[..., object], path: str, _: object) -> None:
    """rmtree's error handler: read-only copies become writable, then removal is retried."""
    os.chmod(os.path.dirname(path), stat.S_IRWXU)
    os.chmod(path, stat.S_IRWXU)
    function(path)


def remove_tree(path: Path) -> None:
    if not path.exists():
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=_writable)
    else:
        shutil.rmtree(path, onerror=_writable)


class StagingArea:
    """A private temporary folder holding every grade's copy; removed by :meth:`close`."""

    def __init__(self, protected: Iterable[Path]) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="tp-correction-")).resolve()
        os.chmod(self.base, stat.S_IRWXU)
        self.protected = [str(Path(p).resolve()) for p in protected] + [str(self.base)]
        self._count = 0

    def stage(self, submission: Submission) -> StagedCopy:
        self._count += 1
        root = Path(tempfile.mkdtemp(prefix=f"{self._count:04d}-", dir=self.base))
        target, output, scratch = root / "copie", root / "sortie", root / "tmp"
        for folder in (target, output, scratch):
            folder.mkdir()
        for name, found in submission.files.items():
            path = target / name
            path.write_bytes(found.content)  # a new regular file: never a link, never the original
            path.chmod(stat.S_IRUSR | stat.S_IRGRP)
        target.chmod(stat.S_IRUSR | stat.S_IXUSR)
        hashes = {name: found.sha256 for name, found in submission.files.items()}
        return StagedCopy(root, target, output / "results.json", output / "grader.log", scratch, hashes)

    def environment(self, copy: StagedCopy) -> dict[str, str]:
        """The grader's extra environment: a private TMPDIR (student code itself runs in the
        grader's isolated workers, which cannot write outside their scratch folder)."""
        return {"TMPDIR": str(copy.scratch), "TEMP": str(copy.scratch), "TMP": str(copy.scratch)}

    def release(self, copy: StagedCopy) -> None:
        remove_tree(copy.root)

    def close(self) -> None:
        remove_tree(self.base)
