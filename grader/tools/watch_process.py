"""A process that grades for watch mode, started before it is needed (:mod:`watch_runner`)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from grader.engine.paths import KIT_ROOT
from grader.engine.process_tree import NEW_GROUP_FLAGS, NEW_SESSION, kill_tree
from grader.tools.children import child_environment

Answer = Callable[[Any], None]


class Runner:
    """A :mod:`watch_runner` process: started early, given one job, then gone."""

    def __init__(self, log: IO[bytes]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.tools.watch_runner"],
            cwd=KIT_ROOT,
            env=child_environment() | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            encoding="utf-8",
            # Ctrl-C reaches the watcher only: it stops its runners itself, in order.
            start_new_session=NEW_SESSION,
            creationflags=NEW_GROUP_FLAGS,
        )
        self.parts: tuple[str, ...] = ()

    def start(
        self, parts: tuple[str, ...], target: Path, results: Path, answer: Callable[[Any], None]
    ) -> None:
        """Sends the job; ``answer`` gets the runner's JSON answer (None if it gave none)."""
        self.parts = parts
        job = {"target": str(target), "parts": list(parts), "results": str(results), "cwd": os.getcwd()}
        assert self.process.stdin is not None and self.process.stdout is not None
        stdout = self.process.stdout

        def read() -> None:
            reply: Any = None
            with contextlib.suppress(OSError, ValueError):
                for line in stdout:
                    if line.strip().startswith("{"):
                        reply = json.loads(line)
            answer(reply)

        try:
            self.process.stdin.write(json.dumps(job) + "\n")
            self.process.stdin.flush()
        except OSError:
            pass  # the runner is gone: its reader says so
        threading.Thread(target=read, name="correction", daemon=True).start()

    def cancel(self) -> None:
        """Stops its grade (or tells an idle runner to leave): a line, then the end of its input."""
        stdin = self.process.stdin
        if stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                stdin.write("stop\n")
                stdin.flush()
            with contextlib.suppress(OSError, ValueError):
                stdin.close()

    def finish(self, timeout: float) -> None:
        """Waits for it to end; past ``timeout``, kills it and what it started."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(self.process)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
