"""Markers that tie a check to the criterion it counts toward, and to the scenarios it reads.

Each decorator names the scenarios its check reads (``reads``): that declaration, made once
here where the check is registered, is what « --partie » and « --critere » use to run only
the scenarios a selection needs (:func:`scenarios_by_criterion`). tests/test_rapide_selection.py
proves that each declaration names exactly the scenarios its check's code reads.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from grader.engine.paths import PARTS
from grader.engine.plans import Scenario

# criterion id → the scenarios its checks read, filled as the check modules are imported.
_READS: dict[str, set[str]] = {}


def _declare(criterion_id: str, reads: Iterable[Scenario]) -> None:
    names = {str(scenario) for scenario in reads}
    if not names:
        raise ValueError(f"{criterion_id} : une vérification doit déclarer les scénarios qu'elle lit")
    _READS.setdefault(criterion_id, set()).update(names)


def for_both_parts(criterion: str, weight: float = 1.0, *, reads: Iterable[Scenario]) -> Callable[[Any], Any]:
    """Runs a check on both parts (``part`` parameter), each counting toward its own criterion."""
    scenarios = tuple(reads)
    params = []
    for part in PARTS:
        _declare(f"{part}.{criterion}", scenarios)
        mark = pytest.mark.criterion(f"{part}.{criterion}", weight=weight)
        params.append(pytest.param(part, marks=mark, id=part))
    return pytest.mark.parametrize("part", params)


def only_in(
    part: str, criterion: str, weight: float = 1.0, *, reads: Iterable[Scenario]
) -> Callable[[Any], Any]:
    """A check proper to one part."""
    _declare(f"{part}.{criterion}", reads)
    mark = pytest.mark.criterion(f"{part}.{criterion}", weight=weight)
    return pytest.mark.parametrize("part", [pytest.param(part, marks=mark, id=part)])


def async_only(criterion: str, weight: float = 1.0, *, reads: Iterable[Scenario]) -> Callable[[Any], Any]:
    """A check proper to part 2."""
    return only_in("async", criterion, weight, reads=reads)


def scenarios_by_criterion() -> dict[str, frozenset[str]]:
    """For each criterion, the scenarios its checks read (every check module imported once)."""
    folder = Path(__file__).parent
    for module in pkgutil.iter_modules([str(folder)]):
        if module.name.startswith("test_"):
            importlib.import_module(f"{__package__}.{module.name}")
    return {criterion: frozenset(names) for criterion, names in _READS.items()}


# For a check that judges only what the supervisor observed itself (its loopback servers,
# the disk): it needs no corroboration. Every other check counts once the work is observed.
observed_outside = pytest.mark.observed_outside
