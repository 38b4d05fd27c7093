"""Writing a file atomically: readers see the old content or the new one, never half of it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` through a temporary file beside it, then os.replace.

    The parent folder is created if needed. A symlink at ``path`` is replaced itself, never
    followed. On failure (OSError, raised as is), ``path`` is unchanged and no temporary
    file is left behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
