"""Copying a submission into the grade's scratch folder: its two files, regular files only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from grader.engine import readback
from grader.engine.paths import PART_FILES
from grader.engine.plans import PartPlan
from grader.engine.runs import PartRun
from grader.engine.worker.protocol import LoadEnding


def _refusal(source: Path) -> str:
    """Why ``source`` is not copied (a French sentence), or '' when it is a regular file or absent."""
    try:
        info = os.lstat(source)
    except FileNotFoundError:
        return ""
    if stat.S_ISREG(info.st_mode):
        return ""
    kind = "un lien symbolique" if stat.S_ISLNK(info.st_mode) else "pas un fichier ordinaire"
    return f"{source.name} est {kind} : seul un fichier ordinaire est corrigé."


def _copy(source: Path, destination: Path) -> bytes | None:
    """Copies ``source`` if it is still a regular file, and returns its bytes: it may have been
    swapped for a FIFO (whose opening would wait for ever) or a link since :func:`_refusal`."""
    body = readback.read_file(source, readback.MAX_FILE_BYTES)
    if body is not None:
        destination.write_bytes(body)
    return body


def stage_part(part: str, target: Path, scratch: Path) -> PartRun:
    """The part's folder in ``scratch``, holding a copy of its file when there is one to grade."""
    folder = scratch / part
    folder.mkdir(exist_ok=True)  # made already when its worker was started ahead (watch mode)
    run = PartRun(part, PartPlan(part, (), {}), folder)
    name = PART_FILES[part]
    source = target / name
    run.refused = _refusal(source) if target.is_dir() else ""
    if run.refused:
        run.load_ending = LoadEnding.REFUSED
    elif target.is_dir() and source.is_file():
        copied = _copy(source, folder / name)
        if copied is not None:
            # As read_text() would give it: universal newlines (a Windows file ends lines in \r\n).
            text = copied.decode("utf-8", errors="replace")
            run.source = text.replace("\r\n", "\n").replace("\r", "\n")
        else:
            run.refused = f"{name} a changé pendant sa copie : seul un fichier ordinaire est corrigé."
            run.load_ending = LoadEnding.REFUSED
    else:
        run.load_ending = LoadEnding.MISSING
    return run
