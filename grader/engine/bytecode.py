"""Compiled bytecode for what a worker imports, written once by the kit, never by a worker.

Workers run with ``-B``: they must not write into the kit or the virtual environment (inside
the box they cannot, and the student's code shares their process). Poetry installs packages
without compiling them, so with no bytecode on disk every worker compiled aiohttp, requests
and the worker package from source at each start: 0,25 to 0,3 s of CPU per worker, two or
more workers per grade. The first worker of a supervisor process therefore checks for that
bytecode and, when it is missing or older than its source, has a child process import exactly
what a worker imports, with bytecode writing on. Failing to write (a read-only installation)
only costs that time back; nothing is printed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import sys
import threading
from pathlib import Path

from grader.engine.paths import WORKER_PACKAGE

# The heavy libraries a worker loads; the child process imports all of their dependencies too.
LIBRARIES = ("aiohttp", "aiofiles", "aioresponses", "requests", "responses", "urllib3", "yarl", "yaml")
COMPILE_LIMIT = 120.0

# The worker package loaded under its own name from its folder (sys.argv[1]): the first lines
# of every worker, and of the child that compiles what workers import.
LOAD_WORKER_PACKAGE = (
    "import sys, importlib, importlib.util as u\n"
    "p = sys.argv[1]\n"
    "s = u.spec_from_file_location('worker', p + '/__init__.py', submodule_search_locations=[p])\n"
    "m = u.module_from_spec(s); sys.modules['worker'] = m; s.loader.exec_module(m)\n"
)
_COMPILE = LOAD_WORKER_PACKAGE + (
    "import worker.main, worker.network\n"
    "for name in sorted({n for names in worker.main.PRELOAD.values() for n in names}):\n"
    "    try:\n"
    "        importlib.import_module(name)\n"
    "    except BaseException:\n"
    "        pass\n"
)

_LOCK = threading.Lock()
_checked = False


def sources(package: Path = WORKER_PACKAGE) -> list[Path]:
    """The source files whose bytecode tells whether a worker would compile at start."""
    found = sorted(package.glob("*.py"))
    for name in LIBRARIES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            found.append(Path(spec.origin))
    return found


def is_current(source: Path) -> bool:
    """Whether ``source`` has bytecode at least as recent as itself."""
    try:
        compiled = Path(importlib.util.cache_from_source(str(source)))
        return compiled.stat().st_mtime >= source.stat().st_mtime
    except (OSError, NotImplementedError, ValueError):
        return False


def missing(package: Path = WORKER_PACKAGE) -> list[Path]:
    """The sources a worker started now would compile."""
    return [source for source in sources(package) if not is_current(source)]


def compile_imports(package: Path = WORKER_PACKAGE) -> None:
    """Has a child process import what a worker of ``package`` imports, writing its bytecode."""
    # -I: the child ignores PYTHONDONTWRITEBYTECODE and the user's site, like a worker.
    command = [sys.executable, "-I", "-c", _COMPILE, str(package)]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            command,
            cwd=package,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=COMPILE_LIMIT,
            check=False,
        )


def ensure() -> None:
    """Makes sure the worker's imports are compiled; the work is done once per process."""
    global _checked
    with _LOCK:
        if _checked:
            return
        _checked = True
        if missing():
            compile_imports()
