"""The worker's seccomp filter: no new process, no new namespace, no peeking at others.

Installed by the worker once its own imports are done and before any student code runs.
A filter cannot be removed or loosened by the process that carries it, and the kernel
applies it to every thread (TSYNC) and every later thread: this is the wall, the audit
hook only explains. Threads stay allowed (asyncio's executor, aiofiles), processes don't:
``clone`` without CLONE_THREAD, ``fork``, ``vfork`` and every ``exec`` fail with EPERM,
and ``clone3`` with ENOSYS so that the C library falls back to ``clone`` for threads.
"""

from __future__ import annotations

import errno
import importlib
import sys
from types import ModuleType


# Imported with the worker, before it drops its privileges: once it is the grade's uid, the
# interpreter's own folder may be out of reach (pyenv under /root, mode 0700).
def _library() -> ModuleType | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return importlib.import_module("pyseccomp")
    except Exception:  # no libseccomp on this system
        return None


seccomp = _library()

CLONE_THREAD = 0x00010000

DENIED = (
    "execve",
    "execveat",
    "fork",
    "vfork",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "kexec_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
)


def install() -> bool:
    """Loads the filter; False when this system has no seccomp (then nothing is loaded)."""
    if seccomp is None:
        return False
    try:
        rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        rules.set_attr(seccomp.Attr.CTL_TSYNC, 1)
        refuse = seccomp.ERRNO(errno.EPERM)
        for name in DENIED:
            try:
                rules.add_rule(refuse, name)
            except (OSError, ValueError, RuntimeError):
                continue  # a call this architecture does not have
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
        rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        rules.load()
    except Exception:  # no libseccomp, an old kernel
        return False
    return True
