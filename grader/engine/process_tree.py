"""A process and everything it starts, killed as a whole: the grader's workers, the batch's graders.

Start the process with ``start_new_session=NEW_SESSION, creationflags=NEW_GROUP_FLAGS``:
on POSIX it then leads its own process group, on Windows its own process group for
``taskkill /T``. :func:`kill_tree` kills that group (or tree), then the process itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import Any

NEW_SESSION = hasattr(os, "killpg")  # POSIX: a new session, so a process group of its own
NEW_GROUP_FLAGS: int = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)  # Windows only, else 0


def kill_tree(process: subprocess.Popen[Any]) -> None:
    """Kills ``process`` and every process it started; does not wait for it.

    Even after a normal exit: what the process left behind still runs in its group.
    """
    if hasattr(os, "killpg"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    elif os.name == "nt":
        subprocess.run(
            ["taskkill", "/F", "/T", "/PID", str(process.pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    with contextlib.suppress(OSError):
        process.kill()
