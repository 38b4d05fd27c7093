"""Pinned requirements from poetry.lock, without Poetry (``poetry export`` is a plugin).

Each ``[[package]]`` of the wanted groups becomes ``name==version ; markers`` followed by
the sha256 of every file the lock lists, so that ``pip install --require-hashes`` installs
exactly the locked set, nothing resolved at install time.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_GROUPS = ("main", "dev")


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: str | None
    hashes: tuple[str, ...]

    def requirement(self) -> str:
        line = f"{self.name}=={self.version}"
        if self.marker:
            line += f" ; {self.marker}"
        return " \\\n    ".join([line, *(f"--hash={digest}" for digest in self.hashes)])


def _marker(package: dict[str, Any], groups: set[str]) -> str | None:
    """The lock's markers for the wanted groups: none if any of them installs it unconditionally."""
    markers = package.get("markers")
    if markers is None:
        return None
    if isinstance(markers, str):
        return markers
    wanted = [group for group in package.get("groups", []) if group in groups]
    if any(group not in markers for group in wanted):
        return None
    distinct = list(dict.fromkeys(str(markers[group]) for group in wanted))
    return distinct[0] if len(distinct) == 1 else " or ".join(f"({m})" for m in distinct)


def pins(lock_path: Path, groups: Iterable[str] = DEFAULT_GROUPS) -> list[Pin]:
    wanted = set(groups)
    document = tomllib.loads(lock_path.read_text(encoding="utf-8"))
    result = []
    for package in document.get("package", []):
        if not wanted & set(package.get("groups", ["main"])):
            continue
        hashes = tuple(sorted(str(f["hash"]) for f in package.get("files", []) if "hash" in f))
        result.append(Pin(str(package["name"]), str(package["version"]), _marker(package, wanted), hashes))
    return sorted(result, key=lambda pin: pin.name.lower())


def requirements_text(lock_path: Path, groups: Iterable[str] = DEFAULT_GROUPS) -> str:
    groups = list(groups)
    header = f"# Généré depuis {lock_path.name} (groupes {', '.join(groups)}) : versions figées.\n"
    return header + "".join(pin.requirement() + "\n" for pin in pins(lock_path, groups))
