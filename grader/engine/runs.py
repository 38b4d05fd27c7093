"""What a grade observed: per scenario, per part, for the whole grade. Records only, no logic
beyond reading them; the supervisor fills them and the checks read them through
:mod:`grader.engine.observations`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.engine import sandbox
from grader.engine.evidence import ServerStats
from grader.engine.plans import PartPlan
from grader.engine.worker.protocol import LoadEnding, ScenarioEnding

Frames = list[dict[str, Any]]  # the student's frames (file, line, function), outermost first


@dataclass
class ScenarioRun:
    """One scenario: what the worker reported, or how it ended without reporting."""

    name: str
    cwd: Path
    observed: dict[str, Any] | None = None  # the worker's claims: see observations.ScenarioView
    ending: ScenarioEnding = ScenarioEnding.REPORTED
    chain: Frames = field(default_factory=list)  # where the student's code was when it hung
    exit_code: int | None = None
    # Observed here, not reported: from the worker's previous report to this one.
    seconds_seen: float | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # relative to cwd, read back after the worker
    folders: set[str] = field(default_factory=set)  # relative to cwd


@dataclass
class PartRun:
    part: str
    plan: PartPlan
    folder: Path
    load: dict[str, Any] | None = None  # how importing the module went (the ``loaded`` event's call)
    load_ending: LoadEnding = LoadEnding.NOT_STARTED
    load_chain: Frames = field(default_factory=list)
    scenarios: dict[str, ScenarioRun] = field(default_factory=dict)
    console: str = ""
    console_truncated: bool = False
    blocked: list[str] = field(default_factory=list)  # what the guard refused while importing
    refused: str = ""
    source: str = ""
    servers: dict[str, ServerStats] = field(default_factory=dict)  # observed, by scenario name
    seconds: float = 0.0


@dataclass
class GradeRun:
    target: Path
    parts: dict[str, PartRun]
    protections: sandbox.Protections
    seconds: float


@dataclass
class ScriptRun:
    """A student's script run for real (its ``__main__`` block) on the given URLs."""

    observed: dict[str, Any] | None
    ending: ScenarioEnding
    load: dict[str, Any] | None
    console: str
    files: dict[str, bytes]
    chain: Frames

    @property
    def call(self) -> dict[str, Any]:
        if self.observed is not None:
            return dict(self.observed.get("call") or {})
        return dict(self.load or {})
