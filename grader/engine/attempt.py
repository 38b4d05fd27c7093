"""One worker's life, as the supervisor follows it: a state machine fed by the report channel.

The worker says ``hello`` once it is ready, ``loaded`` once the student's module is imported,
then one ``scenario`` report per scenario of its plan. Each event is dispatched by name to a
``worker_<event>`` handler, allowed only in its phase; silence past a deadline, the channel's
end, or an event out of turn is handled by the phase it happens in. Nothing here starts a
process: the machine sees a :class:`~grader.engine.channel.Channel` and a
:class:`WorkerControl`, so tests drive it with scripted ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from grader.engine import plans, stackdump
from grader.engine.channel import Channel, Quiet
from grader.engine.runs import PartRun, ScenarioRun
from grader.engine.worker.protocol import (
    Event,
    Hello,
    Loaded,
    LoadEnding,
    ScenarioEnding,
    ScenarioReport,
    ScenarioSpec,
)

# Our own imports, on a loaded machine: never counted in the student's time.
HELLO_LIMIT = 30.0
# A restarted worker gets what is left of the part's time, but at least this to start.
RESTART_HELLO_FLOOR = 2.0
EXIT_WAIT = 5.0


class WorkerControl(Protocol):
    """What the machine may do to the worker it follows."""

    def kill(self) -> None: ...

    def exit_code(self, wait: float) -> int | None: ...


@dataclass
class PartClock:
    """The part's deadline: set when its first worker says hello, shortened once code hangs."""

    limit: float = plans.PART_LIMIT
    after_hang: float = plans.PART_BUDGET
    now: Callable[[], float] = time.monotonic
    started: float = 0.0
    deadline: float = 0.0
    on_start: Callable[[], None] | None = None  # told once the part's first worker is ready

    def start(self) -> None:
        self.started = self.now()
        self.deadline = self.started + self.limit
        if self.on_start is not None:
            self.on_start()

    def left(self) -> float:
        return self.deadline - self.now()

    def shorten_after_hang(self) -> None:
        """Code that hangs once will likely hang again: the part's time is now short."""
        self.deadline = min(self.deadline, self.started + self.after_hang)

    def worth_a_restart(self) -> bool:
        return not self.deadline or self.left() > plans.BUDGET_AFTER_A_HANG / 2


class Phase(StrEnum):
    HELLO = "hello"  # waiting for the worker to be ready
    LOADING = "loading"  # waiting for the student's module to import
    PLAYING = "playing"  # waiting for the report of the current scenario
    OVER = "over"


@dataclass
class AttemptResult:
    remaining: list[ScenarioSpec] = field(default_factory=list)  # to play in a new worker
    hung: bool = False


class Attempt:
    """Follows one worker through its plan and records what happened in the part's run."""

    def __init__(
        self, run: PartRun, specs: list[ScenarioSpec], clock: PartClock, worker: WorkerControl, first: bool
    ) -> None:
        self.run = run
        self.specs = specs
        self.clock = clock
        self.worker = worker
        self.first = first
        self.phase = Phase.HELLO
        self.index = 0  # the scenario whose report is awaited
        self.result = AttemptResult()
        self.previous_arrival: float | None = None  # of the event before the one being handled

    # -- the loop ---------------------------------------------------------------------------

    def follow(self, channel: Channel) -> AttemptResult:
        while self.phase is not Phase.OVER:
            limit = self._wait_limit()
            if limit is None:
                break
            received = channel.next(limit)
            if received is Quiet.SILENCE:
                self._on_silence()
            elif received is Quiet.ENDED:
                self._on_end()
            else:
                self._dispatch(received, channel)
                self.previous_arrival = channel.last_arrival
        return self.result

    def _dispatch(self, event: Event, channel: Channel) -> None:
        """Each event to its handler, in its own phase only (``Done`` is never awaited: the
        machine stops after the last report)."""
        match event:
            case Hello() if self.phase is Phase.HELLO:
                self.worker_hello(event)
            case Loaded() if self.phase is Phase.LOADING:
                self.worker_loaded(event)
            case ScenarioReport() if self.phase is Phase.PLAYING:
                self.worker_scenario(event, channel)
            case _:
                self._on_out_of_turn()

    def _wait_limit(self) -> float | None:
        """How long to wait for the next event; None when the part's time is already spent."""
        if self.phase is Phase.HELLO:
            return HELLO_LIMIT if self.first else max(RESTART_HELLO_FLOOR, self.clock.left())
        if self.phase is Phase.LOADING:
            return plans.LOAD_BUDGET
        left = self.clock.left()
        if left <= 0:  # the part's time is spent: nothing more runs
            self._end_from(self.index, ScenarioEnding.SKIPPED)
            self._over()
            return None
        scenario = ScenarioRun(self.current.name, self.run.folder / self.current.name)
        self.run.scenarios[scenario.name] = scenario
        return min(self.current.budget, left)

    # -- handlers, by event name --------------------------------------------------------------

    def worker_hello(self, hello: Hello) -> None:
        # What it says of itself (uid, limits) is a claim: the report lists the protections
        # the supervisor applied, never these.
        if self.first:
            self.clock.start()
        self.phase = Phase.LOADING

    def worker_loaded(self, loaded: Loaded) -> None:
        self.run.load_ending = LoadEnding.LOADED
        if self.first:
            self.run.load = loaded.call
            self.run.blocked += list(loaded.blocked)
        if loaded.call.get("status") != "ok":
            self._end_from(0, ScenarioEnding.NOT_LOADED)
            self._over()
            return
        self.phase = Phase.PLAYING if self.specs else Phase.OVER

    def worker_scenario(self, report: ScenarioReport, channel: Channel) -> None:
        if report.name != self.current.name:
            self._on_out_of_turn()
            return
        scenario = self.run.scenarios[report.name]
        scenario.observed = report.observed
        arrival = channel.last_arrival
        if self.previous_arrival is not None and arrival is not None:
            scenario.seconds_seen = arrival - self.previous_arrival
        self.index += 1
        if self.index == len(self.specs):
            self._over()

    # -- what is not an expected event ---------------------------------------------------------

    def _on_silence(self) -> None:
        if self.phase is Phase.HELLO:
            self._never_ready()
        elif self.phase is Phase.LOADING:  # the student's module hangs at import
            self.worker.kill()
            self.run.load_ending = LoadEnding.HUNG
            self.run.load_chain = stackdump.student_frames(self.run.folder)
            self._end_from(0, ScenarioEnding.NOT_LOADED)
            self._over()
        else:
            self.worker.kill()
            scenario = self.run.scenarios[self.current.name]
            scenario.ending = ScenarioEnding.HUNG
            scenario.chain = stackdump.student_frames(self.run.folder, scenario.name)
            self.clock.shorten_after_hang()
            self.result = AttemptResult(self.specs[self.index + 1 :], hung=True)
            self._over()

    def _on_end(self) -> None:
        if self.phase is Phase.HELLO:
            self._never_ready()
        elif self.phase is Phase.LOADING:
            self.worker.exit_code(EXIT_WAIT)
            self.run.load_ending = LoadEnding.CRASHED
            self._end_from(0, ScenarioEnding.NOT_LOADED)
            self._over()
        else:
            self._scenario_crashed()

    def _on_out_of_turn(self) -> None:
        if self.phase is Phase.PLAYING:
            self._scenario_crashed()
            return
        self.worker.kill()
        if self.phase is Phase.HELLO:
            self._never_ready()
        else:
            self.run.load_ending = LoadEnding.CRASHED
            self._end_from(0, ScenarioEnding.NOT_LOADED)
            self._over()

    def _never_ready(self) -> None:
        # A first worker that never starts is a crash; a restart that cannot is out of time.
        self._end_from(0, ScenarioEnding.CRASHED if self.first else ScenarioEnding.SKIPPED)
        self._over()

    def _scenario_crashed(self) -> None:
        self.worker.kill()
        scenario = self.run.scenarios[self.current.name]
        scenario.ending = ScenarioEnding.CRASHED
        scenario.exit_code = self.worker.exit_code(0)
        self.result = AttemptResult(self.specs[self.index + 1 :])
        self._over()

    # -- helpers ---------------------------------------------------------------------------

    @property
    def current(self) -> ScenarioSpec:
        return self.specs[self.index]

    def _end_from(self, index: int, ending: ScenarioEnding) -> None:
        """Gives every scenario from ``index`` on that ending, unless it already has a record."""
        for spec in self.specs[index:]:
            existing = self.run.scenarios.get(spec.name)
            if existing is None or (existing.observed is None and existing.ending is ScenarioEnding.REPORTED):
                self.run.scenarios[spec.name] = ScenarioRun(
                    spec.name, self.run.folder / spec.name, ending=ending
                )

    def _over(self) -> None:
        self.phase = Phase.OVER
