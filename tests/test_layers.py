"""Layers: the engine depends on nothing else of the kit, the worker on nothing of grader at all.

The tools, the batch, the platforms and the checks are built on the engine, never the reverse;
the worker package is loaded by path in the sandbox, where only grader/engine/worker is
visible. Read with ast, without importing anything: fast, and no process started.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from grader.engine.paths import ENGINE_DIR, KIT_ROOT

WORKER_DIR = ENGINE_DIR / "worker"
ABOVE_THE_ENGINE = ("grader.tools", "grader.batch", "grader.platforms", "grader.checks")


def _module_name(path: Path) -> str:
    parts = path.relative_to(KIT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line, absolute module name, relative?) for every import of ``path``, lazy ones included."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, False
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module, bool(node.level)
            # « from grader import tools » imports grader.tools.
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}", bool(node.level)


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def _offenders(folder: Path, forbidden: tuple[str, ...], own_package: str = "") -> list[str]:
    """Imports of ``folder``'s modules that fall in ``forbidden``; relative imports that stay
    in ``own_package`` are allowed (they resolve the same once the package is loaded alone)."""
    found: dict[str, str] = {}  # one per import statement: « path:line » → the module
    for path in sorted(folder.rglob("*.py")):
        for line, module, relative in _imports(path):
            if relative and own_package and _within(module, (own_package,)):
                continue
            if _within(module, forbidden):
                found.setdefault(f"{path.relative_to(KIT_ROOT)}:{line}", module)
    return [f"{where} importe {module}" for where, module in found.items()]


def test_the_engine_imports_nothing_from_the_layers_built_on_it() -> None:
    offenders = _offenders(ENGINE_DIR, ABOVE_THE_ENGINE)
    assert not offenders, (
        f"Attendu : grader/engine n'importe rien de {', '.join(ABOVE_THE_ENGINE)} ; vu :\n"
        + "\n".join(offenders)
    )


def test_the_worker_imports_nothing_from_grader() -> None:
    offenders = _offenders(WORKER_DIR, ("grader",), own_package=_module_name(WORKER_DIR / "__init__.py"))
    assert not offenders, (
        "Attendu : grader/engine/worker n'importe rien de grader (il est chargé seul, par son chemin, "
        "dans le bac à sable) ; vu :\n" + "\n".join(offenders)
    )


def test_the_import_reader_sees_relative_and_lazy_imports() -> None:
    # The reader itself, on the engine's own files: a relative import resolves inside the package.
    scenarios = {module for _, module, relative in _imports(WORKER_DIR / "scenarios.py") if relative}
    assert "grader.engine.worker.source" in scenarios, (
        f"Attendu : « from .source import … » lu comme grader.engine.worker.source ; vu {sorted(scenarios)}"
    )
    loopback = {module for _, module, _ in _imports(ENGINE_DIR / "loopback.py")}
    assert "grader.engine.imageserver" in loopback, (
        f"Attendu : l'import paresseux de l'ImageServer lu ; vu {sorted(loopback)}"
    )
