"""The worker's box on Linux: bubblewrap's namespaces, seen from the supervisor.

bubblewrap (Flatpak's sandbox, a Debian package) builds the box from kernel mechanisms:
new mount, PID, network, IPC and UTS namespaces, its own ``/proc``, and a root made only
of what we bind: the system's ``/usr``, the interpreter and its libraries read-only, and
the grade's scratch folder read-write. The kit, ``solution/``, other submissions, the
host's ``/proc`` and ``/tmp`` do not exist inside. bubblewrap is PID 1 of the box:
killing it kills every process the student started, ``setsid`` or not, and
``--die-with-parent`` does the same if the supervisor dies first.

bubblewrap runs as root without a user namespace, so that the box's uids are the host's:
the worker keeps only CAP_SETUID/CAP_SETGID, and drops to the grade's own uid before it
loads any student code (``worker.main``). nsjail and isolate would do the same job but
are not packaged here; cgroups belong to the machine, so limits are rlimits (worker side).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path

SYSTEM_LINKS = ("/bin", "/lib", "/lib32", "/lib64", "/libx32", "/sbin")
# Read-only: time zone (log timestamps), the loader's cache, name resolution of localhost.
ETC_FILES = ("/etc/localtime", "/etc/ld.so.cache", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf")
PROBE_SECONDS = 10.0

_NAMESPACES = [
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",  # no TIOCSTI into the grader's terminal
    "--hostname",
    "correction",
    "--cap-drop",
    "ALL",
    "--cap-add",
    "CAP_SETUID",
    "--cap-add",
    "CAP_SETGID",
]


def _system_root() -> list[str]:
    arguments = ["--ro-bind", "/usr", "/usr"]
    for link in SYSTEM_LINKS:
        if os.path.islink(link):
            arguments += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            arguments += ["--ro-bind", link, link]
    arguments += ["--perms", "0755", "--dir", "/etc"]
    for name in ETC_FILES:
        if os.path.exists(name):
            arguments += ["--ro-bind", name, name]
    return [*arguments, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]


def _is_below(path: Path, folders: Iterable[Path]) -> bool:
    return any(path == folder or folder in path.parents for folder in folders)


def _binds(readable: Iterable[Path], writable: Path) -> list[str]:
    """Each folder at its own path, its parents created world-traversable (bwrap makes them 0700)."""
    arguments: list[str] = []
    created: set[Path] = {Path("/"), Path("/tmp")}
    bound: list[Path] = [Path("/usr")]
    wanted = [(path.resolve(), "--ro-bind") for path in sorted(set(readable))] + [(writable, "--bind")]
    for path, how in wanted:
        if _is_below(path, bound) and how == "--ro-bind":
            continue
        for parent in reversed(path.parents):
            if parent not in created and not _is_below(parent, bound):
                arguments += ["--perms", "0755", "--dir", str(parent)]
                created.add(parent)
        arguments += [how, str(path), str(path)]
        bound.append(path)
    return arguments


def interpreter_folders() -> list[Path]:
    """What the worker's interpreter needs to start and import its libraries."""
    folders = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent}
    return sorted(folder.resolve() for folder in folders)


def command(
    scratch: Path, readable: Iterable[Path], inner: list[str], *, private_network: bool = True
) -> list[str]:
    """``inner`` run in a box that sees the system, ``readable`` and ``scratch`` (writable).

    ``private_network=False`` keeps the host's network, for a script whose server lives
    outside the box (the demo); the grade's servers listen inside it (sockets handed over).
    """
    tool = shutil.which("bwrap")
    assert tool is not None
    return [
        tool,
        *_NAMESPACES,
        *(["--unshare-net"] if private_network else []),
        *_system_root(),
        *_binds(readable, scratch),
        "--chdir",
        "/",  # the scratch folder is 0700, for the grade's uid only: the worker enters once it is that uid
        "--",
        *inner,
    ]


@cache
def available() -> bool:
    """True when bubblewrap can build the box here: root on Linux, and namespaces allowed.

    A default Docker container refuses (no CAP_SYS_ADMIN, seccomp forbids ``unshare`` and
    ``mount``): the grader then falls back to its other layers and says so.
    """
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or shutil.which("bwrap") is None:
        return False
    with tempfile.TemporaryDirectory(prefix="sonde-bwrap-") as scratch:
        probe = command(Path(scratch), [], ["/bin/true"])
        try:
            done = subprocess.run(probe, capture_output=True, timeout=PROBE_SECONDS, check=False)
        except (OSError, subprocess.SubprocessError):
            return False
    return done.returncode == 0
