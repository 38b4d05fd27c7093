"""Driving « nox -s watch » as a student would, for the end-to-end tests and ``nox -s speed``.

The watcher runs in its own process group; its output is read line by line in a thread.
Ctrl-C is sent as the terminal sends it: SIGINT to the whole group (POSIX), CTRL_BREAK_EVENT
to the group (Windows). :func:`processes_mentioning` finds what would be left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from grader.engine.paths import KIT_ROOT

GRADES_DONE = "Corrections faites : {count}."


class WatchProcess:
    def __init__(self, command: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
        flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        self.process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=hasattr(os, "setsid"),
            creationflags=flags,
        )
        self.raw = bytearray()
        self._lock = threading.Lock()
        self._grew = threading.Condition(self._lock)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while chunk := os.read(stream.fileno(), 4096):
            with self._grew:
                self.raw += chunk
                self._grew.notify_all()
        with self._grew:
            self._grew.notify_all()

    def text(self, encoding: str = "utf-8") -> str:
        with self._lock:
            return bytes(self.raw).decode(encoding, errors="replace")

    def wait_for(self, needle: str, timeout: float, encoding: str = "utf-8", after: int = 0) -> bool:
        """True once ``needle`` appears in the output past character ``after``; False at the deadline."""
        deadline = time.monotonic() + timeout
        with self._grew:
            while True:
                if needle in bytes(self.raw).decode(encoding, errors="replace")[after:]:
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    return needle in bytes(self.raw).decode(encoding, errors="replace")[after:]
                self._grew.wait(min(left, 0.2))

    def interrupt(self) -> None:
        """Ctrl-C as a terminal sends it: to the whole process group."""
        if os.name == "nt":
            self.process.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined,unused-ignore]
        else:
            os.killpg(self.process.pid, signal.SIGINT)

    def finish(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def quit(self, timeout: float) -> int | None:
        """Ctrl-C, then its exit code; killed (None) if it has not ended within ``timeout``."""
        self.interrupt()
        code = self.finish(timeout)
        if code is None:
            self.kill()
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            if hasattr(os, "killpg"):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait(timeout=10)


def watch_command(folder: Path, *options: str, through_nox: bool = True) -> list[str]:
    if through_nox:
        return [sys.executable, "-m", "nox", "-s", "watch", "--", str(folder), *options]
    return [sys.executable, "-m", "grader.tools.watch", str(folder), *options]


def watch_environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(KIT_ROOT), env.get("PYTHONPATH")]))
    return env | extra


def processes_mentioning(marker: str) -> list[str]:
    """The running processes whose command line or environment mention ``marker`` (Linux: /proc)."""
    found: list[str] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environment = (entry / "environ").read_bytes().decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if (marker in command or marker in environment) and state != "Z":
            found.append(f"{entry.name} : {command.strip()}")
    return found


def edit(path: Path, text: str) -> None:
    """Saves ``text`` the way editors do: a new file renamed over the old one."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
