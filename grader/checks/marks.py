"""Markers that tie a check to the criterion it counts toward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from grader.engine.paths import PARTS


def for_both_parts(criterion: str, weight: float = 1.0) -> Callable[[Any], Any]:
    """Runs a check on both parts (``part`` parameter), each counting toward its own criterion."""
    params = [
        pytest.param(part, marks=pytest.mark.criterion(f"{part}.{criterion}", weight=weight), id=part)
        for part in PARTS
    ]
    return pytest.mark.parametrize("part", params)


def only_in(part: str, criterion: str, weight: float = 1.0) -> Callable[[Any], Any]:
    """A check proper to one part."""
    mark = pytest.mark.criterion(f"{part}.{criterion}", weight=weight)
    return pytest.mark.parametrize("part", [pytest.param(part, marks=mark, id=part)])


def async_only(criterion: str, weight: float = 1.0) -> Callable[[Any], Any]:
    """A check proper to part 2."""
    return only_in("async", criterion, weight)


# For a check that judges only what the supervisor observed itself (its loopback servers,
# the disk): it needs no corroboration. Every other check counts once the work is observed.
observed_outside = pytest.mark.observed_outside
