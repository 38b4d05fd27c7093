"""Where the student's code was when its worker was killed: read from faulthandler's dumps.

faulthandler writes plain text (the only thing it can write from a watchdog thread while the
interpreter is stuck), so this is the one place that parses text from a worker. The file sits
in a folder the student's code owns: it is read like any other file of theirs (no link
followed, bounded), and only frames of the student's own files are kept.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from grader.engine import readback
from grader.engine.worker.protocol import STACK_FILE, STACK_SECTION

STACK_DUMP_BYTES = 256 * 1024
FRAMES_KEPT = 6
# A line number of ten digits or more is not faulthandler's: the student's code can write here
# too, and int() refuses more than 4 300 digits (a ValueError that would end the whole grade).
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>[0-9]{1,9}) in (?P<function>\S+)')


def student_frames(folder: Path, section: str = "") -> list[dict[str, Any]]:
    """The student's frames, outermost first, in the last dump of ``section`` ('' = the import)."""
    raw = readback.read_file(folder / STACK_FILE, STACK_DUMP_BYTES)
    if raw is None:
        return []
    dumps = raw.decode("utf-8", errors="replace")
    separator = f"\n{STACK_SECTION}"
    if section:
        marker = f"{separator}{section}\n"
        if marker not in dumps:
            return []
        dumps = dumps.rsplit(marker, 1)[1].split(separator, 1)[0]
    else:
        dumps = dumps.split(separator, 1)[0]
    for block in dumps.split("\n\n"):
        frames = [
            {"file": Path(match["file"]).name, "line": int(match["line"]), "function": match["function"]}
            for match in _FRAME.finditer(block)
            if match["file"].startswith(str(folder))
        ]
        if frames:
            return list(reversed(frames))[-FRAMES_KEPT:]
    return []
