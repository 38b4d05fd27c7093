"""What the supervisor saw the student's code do, by itself, on its own loopback servers.

The worker shares its process with the student's code, so everything it reports is a
claim: a student who reads the grader can forge any of it. The image servers run in the
supervisor; their bodies are random for each grade and never sent to the worker; the
files are read from disk once the worker is dead. So when a server counted requests, the
code really downloaded, and when its exact bytes are on disk, it really saved them. A
check that judges claims earns its points only once downloads are observed
(:func:`work_observed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.engine.plans import Scenario

if TYPE_CHECKING:
    from grader.engine.supervisor import PartRun

LOOPBACK_SCENARIOS = (Scenario.SERVER, Scenario.SCRIPT)


@dataclass(frozen=True)
class LoopbackWork:
    """One loopback scenario, as the supervisor observed it."""

    scenario: Scenario
    requests: int  # counted by the server
    images: int  # served by the server
    saved: int  # of those, found byte for byte on disk after the worker ended

    @property
    def done(self) -> bool:
        return self.requests > 0


def loopback_work(run: PartRun) -> list[LoopbackWork]:
    found = []
    for name, stats in ((Scenario.SERVER, run.server), (Scenario.SCRIPT, run.script_server)):
        scenario = run.scenarios.get(str(name))
        if scenario is None or not stats:
            continue
        written = set(scenario.files.values())
        expected = [bytes(body) for body in stats.get("expected", [])]
        saved = sum(1 for body in expected if body in written)
        found.append(LoopbackWork(name, int(stats.get("requests", 0)), len(expected), saved))
    return found


def work_observed(run: PartRun) -> bool:
    """True once a loopback server received requests for its URLs from this part's code.

    Requests, not saved files: a check about sessions or errors judges code that downloads,
    and whether it saves correctly is the download criterion's business (not lost twice).
    """
    return any(work.done for work in loopback_work(run))
