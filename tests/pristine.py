"""The untouched skeleton, as committed: the kit's tests never depend on a student's skeleton/.

Students fill in ``skeleton/`` in their own clone; the kit's tests that read the skeleton
(contract, « 0/20 and every criterion not done », run configurations, ``nox -s speed``)
expect it untouched. :func:`pristine_skeleton` therefore extracts ``skeleton/`` from the
last commit (``git show HEAD:skeleton/…``) into a temporary folder, once per process. Where
git or the repository is unavailable (a zip download, no git on the PATH), it falls back to
the working copy and says so in French (:attr:`PristineSkeleton.notice`).

A maintainer who edits the skeleton commits first: the tests read ``HEAD``.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.engine.paths import KIT_ROOT

SKELETON = "skeleton"
REVISION = "HEAD"
GIT_TIMEOUT = 30.0


class PristineUnavailable(Exception):
    """git could not give the committed skeleton (French message)."""


@dataclass(frozen=True)
class PristineSkeleton:
    """Where the untouched skeleton was put, and where it came from."""

    folder: Path  # a folder named « skeleton », alone in its parent (for « python -m skeleton.… »)
    origin: str  # « git HEAD » or « copie de travail »
    notice: str | None = None  # French: why the working copy is used instead of git

    def describe(self) -> str:
        if self.notice is None:
            return (
                f"squelette de référence : skeleton/ du dernier commit ({self.origin}), "
                f"copié dans {self.folder}"
            )
        return f"squelette de référence : {self.notice}"


def _git(root: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, timeout=GIT_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PristineUnavailable(f"git est introuvable ou ne répond pas ({error})") from error
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise PristineUnavailable(
            f"« git {' '.join(args)} » a échoué : {message[-1] if message else done.returncode}"
        )
    return done.stdout


def committed_files(
    root: Path = KIT_ROOT, folder: str = SKELETON, revision: str = REVISION
) -> dict[str, bytes]:
    """Every file of ``folder`` at ``revision``: path relative to ``folder`` → content."""
    listing = _git(root, "ls-tree", "-r", "-z", "--name-only", revision, "--", f"{folder}/")
    names = [name for name in listing.decode("utf-8").split("\0") if name]
    if not names:
        raise PristineUnavailable(f"aucun fichier {folder}/ dans le commit {revision}")
    files = {}
    for name in names:
        relative = PurePosixPath(name).relative_to(folder)
        # « :./ » : the path is relative to ``root`` even when the kit is a subfolder of a repository.
        files[str(relative)] = _git(root, "show", f"{revision}:./{name}")
    return files


def extract(destination: Path, root: Path = KIT_ROOT) -> PristineSkeleton:
    """Writes the committed skeleton to ``destination`` (or copies the working copy, with a notice)."""
    if destination.exists():
        shutil.rmtree(destination)
    try:
        files = committed_files(root)
    except PristineUnavailable as error:
        shutil.copytree(root / SKELETON, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        notice = (
            f"{error} ; les tests du kit lisent donc la copie de travail de skeleton/, "
            "qui doit être intacte (sinon, des échecs ne viendront pas du kit)"
        )
        return PristineSkeleton(destination, "copie de travail", notice)
    for relative, content in files.items():
        path = destination / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return PristineSkeleton(destination, f"git {REVISION}")


_lock = threading.Lock()
_extracted: PristineSkeleton | None = None


def pristine_skeleton() -> PristineSkeleton:
    """The committed skeleton, extracted once per process into a temporary folder."""
    global _extracted
    with _lock:
        if _extracted is None:
            parent = Path(tempfile.mkdtemp(prefix="tp-squelette-"))
            atexit.register(shutil.rmtree, parent, ignore_errors=True)
            _extracted = extract(parent / SKELETON)
        return _extracted
