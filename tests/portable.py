"""Runs pytest as on Windows: the POSIX-only APIs are removed before the grader starts.

``python -m tests.portable grader --target=DIR …``: no SIGALRM, setitimer, alarm,
pthread_sigmask, fork, process groups or uid changes, and no ``resource`` module.
"""

from __future__ import annotations

import os
import signal
import sys

MISSING_ON_WINDOWS = {
    signal: ("SIGALRM", "setitimer", "alarm", "pthread_sigmask", "ITIMER_REAL", "getitimer"),
    os: ("fork", "forkpty", "killpg", "setuid", "setgid", "setgroups", "geteuid", "setsid"),
}


def remove_posix_apis() -> None:
    for module, names in MISSING_ON_WINDOWS.items():
        for name in names:
            if hasattr(module, name):
                delattr(module, name)
    sys.modules["resource"] = None  # type: ignore[assignment]  # import resource → ImportError


if __name__ == "__main__":
    remove_posix_apis()
    import pytest

    raise SystemExit(pytest.main(sys.argv[1:]))
