"""Playing every scenario of one part: worker after worker until none is left or time is up.

Each attempt starts a worker, gives it this attempt's loopback servers and its plan, and
follows it (:class:`~grader.engine.attempt.Attempt`). A worker killed for hanging is replaced
by a new one for the scenarios left, with shorter budgets and within the part's deadline.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from grader.engine import loopback, plans, sandbox
from grader.engine.attempt import HELLO_LIMIT, Attempt, PartClock
from grader.engine.paths import KIT_ROOT, PART_FILES
from grader.engine.runs import PartRun, ScenarioRun
from grader.engine.worker.protocol import ScenarioEnding, ScenarioSpec, WorkerPlan

if TYPE_CHECKING:
    from grader.engine.imageserver import ImageServer


class PartRunner:
    def __init__(
        self,
        run: PartRun,
        servers: list[loopback.ServerSpec],
        grade: sandbox.Isolation,
        clock: PartClock | None = None,
        echo: bool = False,
    ) -> None:
        self.run = run
        self.server_specs = servers
        self.grade = grade
        self.clock = clock or PartClock()
        self.echo = echo
        self.private_network = grade.protections.box

    def play(self) -> None:
        run = self.run
        remaining = list(run.plan.specs)
        after_hang = False
        first = True
        while remaining and self.clock.worth_a_restart():
            listeners = loopback.listeners_needed(self.server_specs) if self.private_network else 0
            worker = sandbox.start_worker(
                self.grade, run.folder, run.part, echo=self.echo, listeners=listeners
            )
            servers: dict[str, ImageServer] = {}
            before = set(run.scenarios)
            try:
                sockets = worker.receive_listeners(listeners, HELLO_LIMIT) if listeners else []
                servers = loopback.open_servers(self.server_specs, sockets)
                specs = self._for_this_worker(remaining, servers, after_hang)
                worker.send_plan(self._plan(specs))
                result = Attempt(run, specs, self.clock, worker, first).follow(worker.channel)
                remaining, after_hang = result.remaining, after_hang or result.hung
            except OSError:  # the worker died before handing its sockets over
                for spec in remaining:
                    run.scenarios.setdefault(
                        spec.name,
                        ScenarioRun(spec.name, run.folder / spec.name, ending=ScenarioEnding.CRASHED),
                    )
                remaining = []
            finally:
                worker.kill()
                self._record_servers(servers, played=set(run.scenarios) - before)
            first = False
            # Each attempt's console, in order: the script's output (attempt 1) comes first.
            run.console += worker.console.text()
            run.console_truncated = run.console_truncated or worker.console.truncated
        for spec in remaining:
            run.scenarios.setdefault(
                spec.name, ScenarioRun(spec.name, run.folder / spec.name, ending=ScenarioEnding.SKIPPED)
            )

    def _record_servers(self, servers: dict[str, ImageServer], played: set[str]) -> None:
        for name, server in servers.items():
            if name in played or name not in self.run.servers:  # a restart replays what was left
                self.run.servers[name] = loopback.stats(server)
            server.stop()

    def _for_this_worker(
        self, specs: list[ScenarioSpec], servers: dict[str, ImageServer], after_hang: bool
    ) -> list[ScenarioSpec]:
        """This attempt's URLs (new servers, new ports), folders and budgets."""
        ready = []
        for spec in specs:
            changes: dict[str, object] = {"cwd": str(self.run.folder / spec.name)}
            if spec.name in servers:
                changes["urls"] = loopback.scenario_urls(spec.name, servers[spec.name])
            if after_hang:
                changes["budget"] = min(spec.budget, plans.BUDGET_AFTER_A_HANG)
            ready.append(dataclasses.replace(spec, **changes))  # type: ignore[arg-type]
        return ready

    def _plan(self, specs: list[ScenarioSpec]) -> WorkerPlan:
        protections = self.grade.protections
        return WorkerPlan(
            part=self.run.part,
            module=str(self.run.folder / PART_FILES[self.run.part]),
            scratch=str(self.run.folder),
            load_budget=plans.LOAD_BUDGET,
            scenarios=tuple(specs),
            drop_uid=protections.uid,
            seccomp=protections.seccomp,
            kit=str(KIT_ROOT),
        )
