"""The order of ``except`` clauses, read in the student's source: a broad clause placed before
a network one catches the network errors first.

``requests.RequestException`` (and every error of requests) inherits from ``OSError``, as do
``TimeoutError`` and aiohttp's connection errors: with ``except OSError`` first, a refused
connection is handled, and logged, as a write error. The program still works, so this is a
remark worth no points (README, grading table); its text names both lines.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

# Clauses that catch the network errors of both parts when placed first.
_BROAD = {"OSError", "IOError", "EnvironmentError", "Exception", "BaseException"}
_CATCH_ALL = {"Exception", "BaseException"}
# Network errors outside requests (whose errors all inherit from OSError).
_NETWORK_BUILTINS = {"TimeoutError", "ConnectionError", "ConnectionRefusedError", "ConnectionResetError"}
_NETWORK_MODULES = ("requests", "aiohttp", "asyncio")
# Errors of those modules that do not inherit from OSError (an HTTP status, a bad payload…).
_NOT_OSERROR = ("Response", "Payload", "ContentType", "InvalidURL", "Warning", "CancelledError")


@dataclass(frozen=True)
class ShadowedClause:
    broad: str
    broad_line: int
    network: str
    network_line: int

    def remark(self) -> str:
        if self.broad in _CATCH_ALL:
            why = f"{self.broad} attrape aussi {self.network}, dont le except ne s'exécute donc jamais"
        else:
            why = (
                "les erreurs réseau héritent d'OSError (toutes celles de requests, les erreurs de "
                "connexion d'aiohttp, TimeoutError) : elles passent par le premier except et sont "
                "traitées (et loguées) comme des erreurs d'écriture"
            )
        return (
            f"« except {self.broad} » (ligne {self.broad_line}) est placé avant « except {self.network} » "
            f"(ligne {self.network_line}) : {why}. Placez l'except le plus précis en premier (remarque sans "
            "effet sur la note)."
        )


def _origins(tree: ast.Module) -> dict[str, str]:
    """Each imported name → the module it comes from (``RequestException`` → ``requests``)."""
    origins: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                origins[alias.asname or alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                origins[alias.asname or alias.name] = node.module.split(".")[0]
    return origins


def _names(handler: ast.ExceptHandler) -> list[ast.expr]:
    if handler.type is None:
        return []
    return list(handler.type.elts) if isinstance(handler.type, ast.Tuple) else [handler.type]


def _is_network(expression: ast.expr, origins: dict[str, str]) -> bool:
    dotted = ast.unparse(expression)
    root, _, rest = dotted.partition(".")
    module = origins.get(root, "")
    if module == "asyncio":
        return dotted.rsplit(".", 1)[-1] == "TimeoutError"
    if module in _NETWORK_MODULES and (rest or root != module):
        return not any(part in dotted for part in _NOT_OSERROR)
    return dotted in _NETWORK_BUILTINS


def shadowed_clauses(source: str) -> list[ShadowedClause]:
    """Every broad ``except`` placed before a network ``except`` of the same ``try``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    origins = _origins(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try | ast.TryStar):
            continue
        for position, handler in enumerate(node.handlers):
            broad = [ast.unparse(name) for name in _names(handler) if ast.unparse(name) in _BROAD]
            if not broad:
                continue
            for later in node.handlers[position + 1 :]:
                network = [name for name in _names(later) if _is_network(name, origins)]
                if network:
                    found.append(
                        ShadowedClause(broad[0], handler.lineno, ast.unparse(network[0]), later.lineno)
                    )
    return found
