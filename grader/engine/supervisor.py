"""The supervisor: runs every scenario in workers, under deadlines, and gathers observations.

Student code never runs here. This process copies the submission into a scratch folder,
starts one worker per part (both parts at once), serves the images the scripts download,
kills a worker that runs past its budget (and restarts one for the scenarios left), and
once every worker is dead, reads the files they wrote. The checks then judge.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.engine import evidence, plans, readback, sandbox
from grader.engine.evidence import ServerStats
from grader.engine.paths import KIT_ROOT, PART_FILES, PARTS
from grader.engine.plans import PartPlan
from grader.engine.worker import SCRIPT_END_MARK

if TYPE_CHECKING:
    from grader.engine.imageserver import ImageServer

HELLO_LIMIT = 30.0  # our own imports, on a loaded machine: never the student's time
RESTART_HELLO_FLOOR = 2.0
MAX_FILE_BYTES = readback.MAX_FILE_BYTES
STACK_DUMP_BYTES = 256 * 1024
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<function>\S+)')


class SubmissionRefused(Exception):
    """The submitted folder cannot be graded as it is (a symlink, a missing file…)."""


@dataclass
class ScenarioRun:
    """One scenario: what the worker reported, or how it ended without reporting."""

    name: str
    cwd: Path
    observed: dict[str, Any] | None = None
    ending: str = ""  # "", "hung", "crashed", "skipped", "not_loaded"
    chain: list[dict[str, Any]] = field(default_factory=list)  # the student's frames when it hung
    exit_code: int | None = None
    # Observed here, not reported: from the previous event of the worker to this one's report.
    seconds_seen: float | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # relative to cwd
    folders: set[str] = field(default_factory=set)  # relative to cwd


@dataclass
class PartRun:
    part: str
    plan: PartPlan
    folder: Path
    load: dict[str, Any] | None = None
    load_ending: str = ""  # "", "hung", "crashed", "refused", "missing", "unreadable"
    load_chain: list[dict[str, Any]] = field(default_factory=list)
    hello: dict[str, Any] = field(default_factory=dict)
    scenarios: dict[str, ScenarioRun] = field(default_factory=dict)
    console: str = ""
    console_truncated: bool = False
    blocked: list[str] = field(default_factory=list)  # what the guard refused while importing
    refused: str = ""
    source: str = ""
    servers: dict[str, ServerStats] = field(default_factory=dict)  # observed, by scenario name
    seconds: float = 0.0

    @property
    def loaded(self) -> bool:
        return self.load is not None and self.load.get("status") == "ok"


@dataclass
class GradeRun:
    target: Path
    parts: dict[str, PartRun]
    protections: sandbox.Protections
    seconds: float


def _copy_submission(target: Path, destination: Path) -> str:
    """Copies the two files, regular files only; returns a French refusal, or ''."""
    problems = []
    for name in PART_FILES.values():
        source = target / name
        try:
            info = os.lstat(source)
        except FileNotFoundError:
            continue  # the part is then « fichier introuvable »
        if not stat.S_ISREG(info.st_mode):
            kind = "un lien symbolique" if stat.S_ISLNK(info.st_mode) else "pas un fichier ordinaire"
            problems.append(f"{name} est {kind} : seul un fichier ordinaire est corrigé.")
            continue
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        descriptor = os.open(source, flags)
        with os.fdopen(descriptor, "rb") as handle:
            (destination / name).write_bytes(handle.read(MAX_FILE_BYTES))
    return " ".join(problems)


def _stack_chain(stack_file: Path, section: str, folder: Path) -> list[dict[str, Any]]:
    """The student's frames in the last dump of a section of the faulthandler file."""
    # The worker's file, in a folder the student's code owns: maybe a link or a FIFO now.
    raw = readback.read_file(stack_file, STACK_DUMP_BYTES)
    if raw is None:
        return []
    text = raw.decode("utf-8", errors="replace")
    if section:
        marker = f"@@ {section}\n"
        if marker not in text:
            return []
        text = text.rsplit(marker, 1)[1].split("\n@@ ", 1)[0]
    else:
        text = text.split("\n@@ ", 1)[0]
    for block in text.split("\n\n"):
        frames = [
            {"file": Path(m["file"]).name, "line": int(m["line"]), "function": m["function"]}
            for m in _FRAME.finditer(block)
            if m["file"].startswith(str(folder))
        ]
        if frames:
            return list(reversed(frames))[-6:]
    return []


@dataclass(frozen=True)
class ServerSpec:
    """An image server the supervisor runs for one scenario of a part."""

    scenario: str
    images: int
    latency: float
    seed: int


def server_specs(part: str) -> list[ServerSpec]:
    images, latency = plans.server_shape(part)
    return [
        ServerSpec(plans.Scenario.SCRIPT, plans.SCRIPT_IMAGES, plans.SCRIPT_LATENCY, _seed()),
        ServerSpec(plans.Scenario.SERVER, images, latency, _seed()),
        ServerSpec(
            plans.Scenario.SERVER_ERRORS, plans.SERVER_ERROR_IMAGES, plans.SERVER_ERROR_LATENCY, _seed()
        ),
    ]


def _scenario_urls(name: str, server: ImageServer) -> list[str]:
    """What main() is given for a loopback scenario: in the failing batch, faults in the middle."""
    if name != plans.Scenario.SERVER_ERRORS:
        return server.urls
    before = server.urls[: evidence.ERRORS_BEFORE_FAILURES]
    after = server.urls[evidence.ERRORS_BEFORE_FAILURES :]
    faults = [server.fault_url(kind, f"image-{kind}.png") for kind in plans.SERVER_FAULTS]
    return [*before, *faults, *after]


class _PartRunner:
    def __init__(
        self, run: PartRun, servers: list[ServerSpec], grade: sandbox.Isolation, echo: bool = False
    ) -> None:
        self.run = run
        self.server_specs = servers
        self.grade = grade
        self.echo = echo
        self.private_network = grade.protections.box
        self.started = 0.0
        self.deadline = 0.0
        self.deadline_limit = plans.PART_LIMIT
        self.deadline_after_hang = plans.PART_BUDGET

    def _open_servers(self, worker: sandbox.Worker) -> dict[str, ImageServer]:
        """This attempt's servers: on the sockets the worker opened in its namespace, or our own."""
        from grader.engine.imageserver import ImageServer  # aiohttp: imported while the worker starts

        count = 2 * len(self.server_specs)
        sockets = worker.receive_listeners(count, HELLO_LIMIT) if self.private_network and count else []
        servers: dict[str, ImageServer] = {}
        for index, spec in enumerate(self.server_specs):
            given = sockets[2 * index : 2 * index + 2]
            server = ImageServer(
                images=spec.images, latency=spec.latency, ports=2, seed=spec.seed, sockets=given
            )
            server.start()
            servers[spec.scenario] = server
        return servers

    def _record_servers(self, servers: dict[str, ImageServer], played: set[str]) -> None:
        for name, server in servers.items():
            if name in played or name not in self.run.servers:  # a restart replays what was left
                self.run.servers[name] = ServerStats(
                    requests=server.requests_served,
                    max_in_flight=server.max_in_flight,
                    connections=server.connections,
                    ports=len(server.base_urls),
                    expected=tuple(server.expected_bytes(url) for url in server.urls),
                    requested=server.requested,
                )
            server.stop()

    def _send_plan(
        self, worker: sandbox.Worker, specs: list[dict[str, Any]], after_hang: bool
    ) -> list[dict[str, Any]]:
        specs = [dict(spec) for spec in specs]
        for spec in specs:
            spec["cwd"] = str(self.run.folder / spec["name"])
            if after_hang:
                spec["budget"] = min(spec["budget"], plans.BUDGET_AFTER_A_HANG)
        protections = self.grade.protections
        worker.send_plan(
            {
                "part": self.run.part,
                "module": str(self.run.folder / PART_FILES[self.run.part]),
                "scratch": str(self.run.folder),
                "drop_uid": protections.uid,
                "seccomp": protections.seccomp,
                "kit": str(KIT_ROOT),
                "load_budget": plans.LOAD_BUDGET,
                "scenarios": specs,
            }
        )
        return specs

    def play(self) -> None:
        run = self.run
        remaining = [dict(spec) for spec in run.plan.specs]
        after_hang = False
        attempt = 0
        while remaining:
            if self.deadline and time.monotonic() >= self.deadline - plans.BUDGET_AFTER_A_HANG / 2:
                break  # not worth a new worker: what is left is skipped
            attempt += 1
            listeners = 2 * len(self.server_specs) if self.private_network else 0
            worker = sandbox.start_worker(self.grade, run.folder, echo=self.echo, listeners=listeners)
            servers: dict[str, ImageServer] = {}
            before = set(run.scenarios)
            try:
                servers = self._open_servers(worker)
                urls = {name: _scenario_urls(name, server) for name, server in servers.items()}
                for spec in remaining:  # this attempt's servers (new ports after a restart)
                    if spec["name"] in urls:
                        spec["urls"] = urls[spec["name"]]
                written = self._send_plan(worker, remaining, after_hang)
                remaining, hung = self._follow(worker, written, first=attempt == 1)
                after_hang = after_hang or hung
            except OSError:  # the worker died before handing its sockets over
                self._end_all(remaining, "crashed")
                remaining = []
            finally:
                worker.kill()
                self._record_servers(servers, set(run.scenarios) - before)
            # Each attempt's console, in order: the script's output (attempt 1) comes first.
            run.console += worker.console.text()
            run.console_truncated = run.console_truncated or worker.console.truncated
        for spec in remaining:
            run.scenarios.setdefault(
                spec["name"], ScenarioRun(spec["name"], run.folder / spec["name"], ending="skipped")
            )

    def _follow(
        self, worker: sandbox.Worker, specs: list[dict[str, Any]], first: bool
    ) -> tuple[list[dict[str, Any]], bool]:
        """Reads the worker's events; returns the scenarios left to play and whether it hung."""
        run = self.run
        stack_file = run.folder / "piles.txt"
        # Our own imports: on a loaded machine they may be slow, but a restart never gets
        # more than what is left of the part's time (its first worker already started).
        limit = HELLO_LIMIT if first else max(RESTART_HELLO_FLOOR, self.deadline - time.monotonic())
        try:
            hello = worker.channel.next(limit)
        except queue.Empty:
            hello = None
        if hello is None or hello.get("event") != "hello":
            self._end_all(specs, "crashed" if first else "skipped")
            return [], False
        run.hello = hello
        if first:
            self.started = time.monotonic()
            self.deadline = self.started + self.deadline_limit
        try:
            loaded = worker.channel.next(plans.LOAD_BUDGET)
        except queue.Empty:  # the student's module hangs at import
            worker.kill()
            run.load_ending = "hung"
            run.load_chain = _stack_chain(stack_file, "", run.folder)
            self._end_all(specs, "not_loaded")
            return [], False
        if loaded is None:
            worker.process.wait(timeout=5)
            run.load_ending = "crashed"
            self._end_all(specs, "not_loaded")
            return [], False
        if first:
            run.load = loaded.get("call")
            run.blocked += list(loaded.get("blocked", []))
        if (loaded.get("call") or {}).get("status") != "ok":
            self._end_all(specs, "not_loaded")
            return [], False
        for index, spec in enumerate(specs):
            name = spec["name"]
            scenario = ScenarioRun(name, run.folder / name)
            run.scenarios[name] = scenario
            budget = spec["budget"]
            left = self.deadline - time.monotonic()
            if left <= 0:  # the part's time is spent: nothing more runs
                for skipped in specs[index:]:
                    run.scenarios[skipped["name"]] = ScenarioRun(
                        skipped["name"], run.folder / skipped["name"], ending="skipped"
                    )
                return [], False
            previous = worker.channel.last_arrival
            try:
                event = worker.channel.next(min(budget, left))
            except queue.Empty:
                worker.kill()
                scenario.ending = "hung"
                scenario.chain = _stack_chain(stack_file, name, run.folder)
                # Code that hangs once will likely hang again: the part's time is now short.
                self.deadline = min(self.deadline, self.started + self.deadline_after_hang)
                return specs[index + 1 :], True
            if event is None or event.get("event") != "scenario" or event.get("name") != name:
                worker.kill()
                scenario.ending = "crashed"
                scenario.exit_code = worker.process.returncode
                return specs[index + 1 :], False
            scenario.observed = event.get("observed") or {}
            if previous is not None and worker.channel.last_arrival is not None:
                scenario.seconds_seen = worker.channel.last_arrival - previous
        return [], False

    def _end_all(self, specs: list[dict[str, Any]], ending: str) -> None:
        for spec in specs:
            self.run.scenarios.setdefault(
                spec["name"], ScenarioRun(spec["name"], self.run.folder / spec["name"], ending=ending)
            )


def _read_files(scenario: ScenarioRun) -> None:
    contents = readback.read_tree(scenario.cwd)
    scenario.files = contents.files
    scenario.folders = contents.folders


def grade(target: Path) -> GradeRun:
    """Runs both parts of ``target`` in workers and returns every observation."""
    start = time.perf_counter()
    with sandbox.isolation("correction-") as isolated:
        parts = {part: _prepare(part, target, isolated.scratch) for part in PARTS}
        isolated.give_to_worker()
        for part, run in parts.items():
            run.plan = plans.build(part, [], [])  # the servers' URLs are set for each worker
        runners = [_PartRunner(run, server_specs(part), isolated) for part, run in parts.items()]
        with ThreadPoolExecutor(max_workers=len(runners)) as pool:
            list(pool.map(_play_part, runners))
        for run in parts.values():
            try:
                for scenario in run.scenarios.values():
                    _read_files(scenario)
            except Exception:  # whatever the student's files did, it costs their part only
                run.load_ending = "unreadable"
        return GradeRun(target, parts, isolated.protections, time.perf_counter() - start)


def _play_part(runner: _PartRunner) -> None:
    start = time.perf_counter()
    run = runner.run
    if run.refused or not (run.folder / PART_FILES[run.part]).is_file():
        run.load_ending = "refused" if run.refused else "missing"
    else:
        runner.play()
    run.seconds = time.perf_counter() - start


def _prepare(part: str, target: Path, scratch: Path) -> PartRun:
    folder = scratch / part
    folder.mkdir()
    refused = _copy_submission(target, folder) if target.is_dir() else ""
    empty = PartPlan(part, [], {})
    run = PartRun(part, empty, folder)
    name = PART_FILES[part]
    if name in refused:
        run.refused = next(sentence for sentence in refused.split(". ") if name in sentence).rstrip(".") + "."
    elif (folder / name).is_file():
        run.source = (folder / name).read_text(encoding="utf-8", errors="replace")
    return run


def _seed() -> int:
    return int.from_bytes(os.urandom(4), "big")


@dataclass
class ScriptRun:
    """A student's script run for real (its ``__main__`` block) on the given URLs."""

    observed: dict[str, Any] | None
    ending: str  # "", "hung", "crashed", "not_loaded"
    load: dict[str, Any] | None
    console: str
    files: dict[str, bytes]
    chain: list[dict[str, Any]]

    @property
    def call(self) -> dict[str, Any]:
        if self.observed is not None:
            return dict(self.observed.get("call") or {})
        return dict(self.load or {})


def run_script(module_file: Path, urls: list[str], budget: float, *, echo: bool = False) -> ScriptRun:
    """Runs ``module_file`` as a script in a worker: no grader help (no folder created for it)."""
    with sandbox.isolation("script-") as isolated:
        folder = isolated.scratch / "script"
        folder.mkdir()
        part = "async" if module_file.name == PART_FILES["async"] else "sync"
        shutil.copyfile(module_file, folder / PART_FILES[part])
        spec = {"name": "script", "kind": "script", "budget": budget, "urls": urls, "auto_create": False}
        run = PartRun(part, PartPlan(part, [spec], {}), folder)
        isolated.give_to_worker()
        runner = _PartRunner(run, [], isolated, echo=echo)
        runner.deadline_limit = runner.deadline_after_hang = budget + plans.LOAD_BUDGET
        runner.play()
        scenario = run.scenarios.get("script") or ScenarioRun(
            "script", folder / "script", ending="not_loaded"
        )
        _read_files(scenario)
        console = run.console.split(SCRIPT_END_MARK, 1)[0]
        return ScriptRun(
            scenario.observed, scenario.ending, run.load, console, scenario.files, scenario.chain
        )
