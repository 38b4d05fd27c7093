"""Loading a student's module and calling into it, turning every failure into feedback."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from grader.guards import CheckTimeout, deadline

T = TypeVar("T")

IMPORT_TIMEOUT = 10.0


class Lost(AssertionError):
    """A check saw a behaviour that costs points: what was observed, and where to look."""

    def __init__(self, observed: str, hint: str) -> None:
        super().__init__(f"{observed}\nPiste : {hint}")
        self.observed = observed
        self.hint = hint


def expect(condition: bool, observed: str, hint: str) -> None:
    if not condition:
        raise Lost(observed, hint)


class NotDone(Exception):
    """The student's code still raises NotImplementedError (a TODO left)."""


class StudentCrash(Exception):
    """The student's code raised, called sys.exit() or ran too long."""


class LoadFailure(Exception):
    """The student's file could not be imported."""


def _student_location(error: BaseException, folder: Path) -> str:
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if Path(frame.filename).resolve().is_relative_to(folder)
    ]
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        return f"{Path(error.filename).name}, ligne {error.lineno}"
    if not frames:
        return ""
    last = frames[-1]
    return f"{Path(last.filename).name}, ligne {last.lineno}, dans {last.name}()"


def describe(error: BaseException, folder: Path) -> str:
    where = _student_location(error, folder)
    suffix = f" ({where})" if where else ""
    if isinstance(error, SystemExit):
        return f"sys.exit({error.code!r}) appelé par votre code{suffix}"
    if isinstance(error, CheckTimeout):
        return f"votre code tourne encore après {error.seconds:g} s{suffix} (boucle infinie ?)"
    return f"{type(error).__name__} : {error}{suffix}"


def run_student(action: Callable[[], T], folder: Path, timeout: float) -> T:
    """Runs student code under a deadline; raises NotDone or StudentCrash on failure."""
    try:
        with deadline(timeout):
            return action()
    except NotImplementedError as error:
        raise NotDone(str(error) or "TODO") from error
    except (Lost, NotDone, StudentCrash):
        raise
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt) and not isinstance(error, CheckTimeout):
            raise
        raise StudentCrash(describe(error, folder)) from error


@dataclass
class LoadedModule:
    path: Path
    module: ModuleType | None
    failure: str | None

    def get(self) -> ModuleType:
        if self.module is None:
            raise LoadFailure(self.failure or "module introuvable")
        return self.module

    def function(self, name: str) -> Callable[..., Any]:
        value = getattr(self.get(), name, None)
        if not callable(value):
            raise LoadFailure(f"{self.path.name} ne définit pas de fonction {name}()")
        return value  # type: ignore[no-any-return]


def load(path: Path, module_name: str) -> LoadedModule:
    """Imports a student file by path, whatever its folder is called."""
    if not path.is_file():
        return LoadedModule(path, None, f"fichier introuvable : {path}")
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader
    sys.modules[module_name] = module  # as a real import does: dataclasses and pickle look there
    try:
        run_student(lambda: loader.exec_module(module), path.parent.resolve(), IMPORT_TIMEOUT)
    except (NotDone, StudentCrash) as error:
        del sys.modules[module_name]
        if isinstance(error, NotDone):
            return LoadedModule(path, None, f"NotImplementedError à l'import : {error}")
        return LoadedModule(path, None, f"impossible d'importer {path.name} : {error}")
    return LoadedModule(path, module, None)


DEFAULT_TIMEOUT = 3.0
TIMEOUT_AFTER_A_HANG = 1.0


@dataclass
class StudentCode:
    """One student module, and a way to call into it under the grader's guards."""

    loaded: LoadedModule
    part: str
    hung_parts: set[str]

    @property
    def folder(self) -> Path:
        return self.loaded.path.parent.resolve()

    def function(self, name: str) -> Callable[..., Any]:
        return self.loaded.function(name)

    def run(self, action: Callable[[], T], timeout: float = DEFAULT_TIMEOUT) -> T:
        """Calls student code; once a part has hung, its later checks get a short deadline."""
        if self.part in self.hung_parts:
            timeout = min(timeout, TIMEOUT_AFTER_A_HANG)
        try:
            return run_student(action, self.folder, timeout)
        except StudentCrash as crash:
            if isinstance(crash.__cause__, CheckTimeout):
                self.hung_parts.add(self.part)
            raise
