"""Loading the student's file and calling into it: every outcome becomes plain data.

Nothing here judges: a call reports what it returned or how it failed (exception type,
message, and the student's own call chain), and the supervisor decides what that costs.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

_TODO = re.compile(r"TODO\s*(\d+)\s*:?\s*(\w*)")


def student_chain(tb: TracebackType | None, folder: str) -> list[dict[str, Any]]:
    """The frames of the student's files, outermost first (function name and line)."""
    return [
        {"file": Path(frame.filename).name, "line": frame.lineno, "function": frame.name}
        for frame in traceback.extract_tb(tb)
        if frame.filename.startswith(folder)
    ][-6:]


def describe_value(value: Any) -> dict[str, Any]:
    """A returned value as JSON: numbers and paths kept, anything else by its repr."""
    if value is None:
        return {"type": "None"}
    if isinstance(value, bool):
        return {"type": "bool", "repr": repr(value)}
    if isinstance(value, int | float):
        return {"type": "number", "number": float(value), "repr": repr(value)[:80]}
    if isinstance(value, Path):
        return {"type": "Path", "path": str(value), "repr": repr(value)[:200]}
    try:
        shown = repr(value)
    except Exception:
        shown = f"<{type(value).__name__}>"
    return {"type": type(value).__name__, "repr": shown[:200]}


@dataclass
class Call:
    """How one call into student code ended."""

    status: str = "ok"  # ok, raised, not_done, exit
    value: dict[str, Any] = field(default_factory=lambda: {"type": "None"})
    exception: str = ""
    message: str = ""
    todo: str = ""
    chain: list[dict[str, Any]] = field(default_factory=list)
    line: int | None = None  # for a SyntaxError
    column: int | None = None  # for a SyntaxError: where the caret goes (from 1), when Python knows

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "value": self.value,
            "exception": self.exception,
            "message": self.message[:500],
            "todo": self.todo,
            "chain": self.chain,
            "line": self.line,
            "column": self.column,
        }


def call(action: Callable[[], Any], folder: str) -> tuple[Call, Any]:
    """Runs student code; every BaseException, KeyboardInterrupt included, ends only this call."""
    try:
        value = action()
    except NotImplementedError as error:
        match = _TODO.search(str(error))
        todo = f"TODO {match.group(1)} : {match.group(2)}".strip(" :") if match else "TODO"
        return Call("not_done", message=str(error), todo=todo), None
    except SystemExit as error:
        chain = student_chain(error.__traceback__, folder)
        return Call("exit", exception="SystemExit", message=repr(error.code), chain=chain), None
    except BaseException as error:
        line = error.lineno if isinstance(error, SyntaxError) else None
        column = error.offset if isinstance(error, SyntaxError) else None
        try:
            message = str(error.msg) if isinstance(error, SyntaxError) else str(error)
        except Exception:
            message = ""
        chain = student_chain(error.__traceback__, folder)
        return (
            Call(
                "raised",
                exception=type(error).__name__,
                message=message,
                chain=chain,
                line=line,
                column=column,
            ),
            None,
        )
    return Call("ok", describe_value(value)), value


def load(path: Path, name: str) -> tuple[Call, ModuleType | None]:
    """Imports the student's file under its own name, as ``import sync_downloader`` would."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader
    sys.modules[name] = module  # dataclasses and pickle look the module up there
    outcome, _ = call(lambda: loader.exec_module(module), str(path.parent))
    if outcome.status != "ok":
        sys.modules.pop(name, None)
        return outcome, None
    return outcome, module
