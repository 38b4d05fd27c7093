"""Loaded at start-up by every Python process of a batch grade (it sits on PYTHONPATH).

An audit hook (it cannot be removed once installed) refuses, in Python code, any write,
deletion, renaming or permission change under the folders listed in ``TP_CORRECTION_PROTEGE``
(the class folder, the output folder, the kit, the other submissions' copies), except under
``TP_CORRECTION_AUTORISE`` (this grade's scratch folders). It is a safety net against a
submission that tries to touch a classmate's files or the marks, not a sandbox: a program
started outside Python (a shell command) is not watched.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# Audit event → positions of the path arguments it changes.
_CHANGES: dict[str, tuple[int, ...]] = {
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.link": (1,),
    "os.symlink": (1,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "shutil.rmtree": (0,),
    "shutil.move": (0, 1),
    "shutil.copyfile": (1,),
    "shutil.copytree": (1,),
}


def _folders(variable: str) -> tuple[str, ...]:
    try:
        listed = json.loads(os.environ.get(variable, "[]"))
    except ValueError:
        return ()
    return tuple(os.path.realpath(str(folder)) for folder in listed if isinstance(folder, str))


_PROTECTED = _folders("TP_CORRECTION_PROTEGE")
_ALLOWED = _folders("TP_CORRECTION_AUTORISE")


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _forbidden(target: Any) -> bool:
    if target is None or isinstance(target, int):
        return False  # a file descriptor: opened (and checked) earlier
    try:
        path = os.path.realpath(os.fsdecode(target))
    except (TypeError, ValueError):
        return False
    if any(_inside(path, folder) for folder in _ALLOWED):
        return False
    return any(_inside(path, folder) for folder in _PROTECTED)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "open":
        flags = args[2] if len(args) >= 3 and isinstance(args[2], int) else 0
        mode = args[1] if len(args) >= 2 and isinstance(args[1], str) else ""
        writes = bool(flags & _WRITE_FLAGS or set(mode) & set("wax+"))
        targets: tuple[Any, ...] = (args[0],) if writes else ()
    elif event in _CHANGES:
        targets = tuple(args[i] for i in _CHANGES[event] if i < len(args))
    else:
        return
    for target in targets:
        if _forbidden(target):
            raise PermissionError(
                errno.EACCES,
                "écriture interdite pendant la correction (dossier protégé)",
                os.fsdecode(target),
            )


if _PROTECTED:
    sys.addaudithook(_hook)
