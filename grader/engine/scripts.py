"""Running a student's file as a script, for real, in a worker: the demo and the bench use it."""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.engine import plans, readback, sandbox
from grader.engine.attempt import PartClock
from grader.engine.part_runner import PartRunner
from grader.engine.paths import PART_FILES
from grader.engine.plans import PartPlan
from grader.engine.runs import PartRun, ScenarioRun, ScriptRun
from grader.engine.worker.protocol import ScenarioEnding, ScenarioKind, ScenarioSpec

SCRIPT = "script"


def run_script(module_file: Path, urls: list[str], budget: float, *, echo: bool = False) -> ScriptRun:
    """Runs ``module_file``'s ``__main__`` block in a worker on ``urls``, with no help from the
    grader (no folder created for it), and returns what it did. ``echo`` shows its console live."""
    with sandbox.isolation("script-") as isolated:
        folder = isolated.scratch / SCRIPT
        folder.mkdir()
        part = "async" if module_file.name == PART_FILES["async"] else "sync"
        shutil.copyfile(module_file, folder / PART_FILES[part])
        spec = ScenarioSpec(SCRIPT, ScenarioKind.SCRIPT, budget, urls=tuple(urls))
        run = PartRun(part, PartPlan(part, (spec,), {}), folder)
        isolated.give_to_worker()
        whole = budget + plans.LOAD_BUDGET
        PartRunner(run, [], isolated, PartClock(limit=whole, after_hang=whole), echo=echo).play()
        scenario = run.scenarios.get(SCRIPT) or ScenarioRun(
            SCRIPT, folder / SCRIPT, ending=ScenarioEnding.NOT_LOADED
        )
        contents = readback.read_tree(scenario.cwd)
        return ScriptRun(
            scenario.observed, scenario.ending, run.load, run.console, contents.files, scenario.chain
        )
