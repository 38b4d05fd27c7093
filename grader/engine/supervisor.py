"""The supervisor: grades a submission by running both parts in workers and gathering facts.

Student code never runs here. This process stages the submission in a scratch folder owned
by the grade, plays each part in its own workers, both parts at once
(:class:`~grader.engine.part_runner.PartRunner`), and once every worker is dead reads back
the files they wrote. The checks then judge the :class:`~grader.engine.runs.GradeRun`.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.engine import loopback, plans, readback, sandbox, staging
from grader.engine.attempt import PartClock
from grader.engine.part_runner import PartRunner
from grader.engine.paths import PARTS
from grader.engine.runs import GradeRun, PartRun
from grader.engine.worker.protocol import LoadEnding


class WorkersStarted:
    """Calls ``then`` once, when every part's first worker is ready or its part is over."""

    def __init__(self, parts: list[str], then: Callable[[], None] | None) -> None:
        self.waiting = set(parts)
        self.then = then
        self.lock = threading.Lock()

    def part_ready(self, part: str) -> None:
        with self.lock:
            was_waiting = bool(self.waiting)
            self.waiting.discard(part)
            now_ready = was_waiting and not self.waiting
        if now_ready and self.then is not None:
            self.then()


def grade(
    target: Path,
    only: Mapping[str, Collection[str]] | None = None,
    workers_started: Callable[[], None] | None = None,
) -> GradeRun:
    """Runs both parts of ``target`` in workers and returns every observation.

    ``only`` (« --partie », « --critere ») maps each part to run to the scenarios to play
    in it; the other parts and scenarios are not run at all. ``workers_started`` is called
    once every part's first worker has done its imports (or its part is over): the CPU-heavy
    start of the grade is past.
    """
    start = time.perf_counter()
    chosen = [part for part in PARTS if only is None or part in only]
    started = WorkersStarted(chosen, workers_started)
    with sandbox.isolation("correction-") as isolated:
        parts = {part: staging.stage_part(part, target, isolated.scratch) for part in chosen}
        isolated.give_to_worker()
        for part, run in parts.items():
            run.plan = plans.build(part)
            if only is not None:
                run.plan = plans.restricted(run.plan, only[part])
        runners = [
            PartRunner(
                run,
                [s for s in loopback.server_specs(part) if s.scenario in run.plan.names],
                isolated,
                PartClock(on_start=functools.partial(started.part_ready, part)),
            )
            for part, run in parts.items()
        ]
        with ThreadPoolExecutor(max_workers=len(runners)) as pool:
            list(pool.map(functools.partial(_play_part, started=started), runners))
        for run in parts.values():
            _read_back(run)
        return GradeRun(target, parts, isolated.protections, time.perf_counter() - start)


def _play_part(runner: PartRunner, started: WorkersStarted) -> None:
    start = time.perf_counter()
    try:
        if runner.run.load_ending not in (LoadEnding.REFUSED, LoadEnding.MISSING):
            runner.play()
    finally:
        started.part_ready(runner.run.part)
    runner.run.seconds = time.perf_counter() - start


def _read_back(run: PartRun) -> None:
    """The files each scenario wrote; whatever the student's files did, it costs their part only."""
    try:
        for scenario in run.scenarios.values():
            contents = readback.read_tree(scenario.cwd)
            scenario.files = contents.files
            scenario.folders = contents.folders
    except Exception:
        run.load_ending = LoadEnding.UNREADABLE
