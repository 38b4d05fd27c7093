"""The one contract between the supervisor and a worker: the plan it receives, the events it sends.

Both sides import this module (the worker package is all a worker can see, so it lives here
and needs nothing but the standard library). Every record is a frozen dataclass with one
``encode`` (to a JSON object) and one ``decode`` (from whatever arrived): nothing crosses
the boundary as a loose dict, so mypy sees both sides, and a renamed field breaks here
instead of silently changing marks.

What a worker sends is a claim: its process runs the student's code. ``decode_event``
therefore accepts only well-formed events and returns None for anything else; the
scenario's observations stay a JSON object that the supervisor reads through
:mod:`grader.engine.observations`, which trusts none of it without the facts it observes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, TypeGuard

PLAN_CAP = 16 * 1024 * 1024  # one line on the worker's standard input
STACK_FILE = "piles.txt"  # where faulthandler dumps the stacks of a worker about to be killed
STACK_SECTION = "@@ "  # + the scenario's name: starts that scenario's dumps in the stack file
# The message of the sample lines that the log format scenario sends through the student's
# handlers: the grader's own text, never the student's.
SAMPLE_MESSAGE = "message-témoin"


class ScenarioKind(StrEnum):
    """How a scenario calls the student's code (the worker's dispatch table is keyed by it)."""

    SCRIPT = "script"
    LOG_FORMAT = "log_format"
    DOWNLOAD_ONE = "download_one"
    MAIN = "main"


class ReplyOrder(StrEnum):
    """How the mocked replies of part 2 that are in flight together reach the student's tasks.

    Every grade uses REQUEST (by arrival); nox -s flake forces each of the others in turn
    (``plans.REPLY_ORDER_VARIABLE``) to prove that no mark depends on it.
    """

    REQUEST = "request"
    FAILURES_FIRST = "failures_first"
    FAILURES_LAST = "failures_last"
    REVERSE = "reverse"


class ConsoleMode(StrEnum):
    """Whose logging configuration a scenario runs under."""

    DEFAULT = "default"  # the grader's own handler: what the student's code logs is collected
    STUDENT = "student"  # the student's setup_logging(): what their console shows is judged


class ScenarioEnding(StrEnum):
    """How a scenario ended, as the supervisor saw it."""

    REPORTED = "reported"  # the worker sent its observations in time
    HUNG = "hung"  # past its budget: the worker was killed
    CRASHED = "crashed"  # the worker died, or sent something else than this scenario's report
    SKIPPED = "skipped"  # never started: the part's time was spent
    NOT_LOADED = "not_loaded"  # the module never loaded in this worker


class LoadEnding(StrEnum):
    """How loading a part's module went, as the supervisor saw it."""

    LOADED = "loaded"  # imported (its outcome, ok or not, is in the ``loaded`` event)
    NOT_STARTED = "not_started"  # no worker has reported yet
    HUNG = "hung"
    CRASHED = "crashed"
    REFUSED = "refused"  # the submitted file is a link or not a regular file
    MISSING = "missing"  # the part's file was not handed in
    UNREADABLE = "unreadable"  # what the code wrote could not be read back safely


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(first), str(second)) for first, second in value or ())


@dataclass(frozen=True)
class ScenarioSpec:
    """One scenario a worker plays: what it serves, where it writes, how long it may take."""

    name: str
    kind: ScenarioKind
    budget: float
    cwd: str = ""  # set by the supervisor for each worker
    images: tuple[tuple[str, str], ...] = ()  # (url, base64 body) served by the mocks
    urls: tuple[str, ...] = ()  # what main() is given; defaults to the images' URLs
    url: str = ""  # what download_and_save() is given
    failures: tuple[tuple[str, str], ...] = ()  # (url, kind of failure) for the mocks
    out: str = "images"
    auto_create: bool = False  # the grader creates the output folder for the code
    console: ConsoleMode = ConsoleMode.DEFAULT
    latency: float = 0.0
    precreate: bool = False  # the output folder exists before main() runs
    runs: int = 1  # main() called this many times in a row
    fail_open: int | None = None  # this many opens for writing fail (a full disk)
    force_info: bool = False  # INFO shown even if the student's level hides it
    stand_in: bool = False  # download_and_save() replaced by the grader's own
    server: bool = False  # the URLs point at the supervisor's loopback server
    reply_order: ReplyOrder = ReplyOrder.REQUEST  # part 2's mocked replies in flight together

    def encode(self) -> dict[str, Any]:
        """A JSON object (lists, not tuples: what json.loads gives back)."""
        return {
            key: [list(item) if isinstance(item, tuple) else item for item in value]
            if isinstance(value, tuple)
            else value
            for key, value in asdict(self).items()
        }

    @classmethod
    def decode(cls, data: dict[str, Any]) -> ScenarioSpec:
        fail_open = data.get("fail_open")
        return cls(
            name=str(data["name"]),
            kind=ScenarioKind(data["kind"]),
            budget=float(data["budget"]),
            cwd=str(data.get("cwd", "")),
            images=_pairs(data.get("images")),
            urls=tuple(str(url) for url in data.get("urls") or ()),
            url=str(data.get("url", "")),
            failures=_pairs(data.get("failures")),
            out=str(data.get("out", "images")),
            auto_create=bool(data.get("auto_create", False)),
            console=ConsoleMode(data.get("console", ConsoleMode.DEFAULT)),
            latency=float(data.get("latency", 0.0)),
            precreate=bool(data.get("precreate", False)),
            runs=int(data.get("runs", 1)),
            fail_open=None if fail_open is None else int(fail_open),
            force_info=bool(data.get("force_info", False)),
            stand_in=bool(data.get("stand_in", False)),
            server=bool(data.get("server", False)),
            reply_order=ReplyOrder(data.get("reply_order", ReplyOrder.REQUEST)),
        )


@dataclass(frozen=True)
class WorkerPlan:
    """Everything a worker needs, sent once on its standard input (never a file it could swap)."""

    part: str
    module: str  # the student's file, in the grade's scratch folder
    scratch: str
    load_budget: float
    scenarios: tuple[ScenarioSpec, ...]
    drop_uid: int | None = None
    seccomp: bool = False
    kit: str = ""  # the kit's root: the guard refuses to read there

    def encode(self) -> str:
        data = asdict(self)
        data["scenarios"] = [spec.encode() for spec in self.scenarios]
        return json.dumps(data)

    @classmethod
    def decode(cls, line: bytes | str) -> WorkerPlan:
        data = json.loads(line)
        drop_uid = data.get("drop_uid")
        return cls(
            part=str(data["part"]),
            module=str(data["module"]),
            scratch=str(data["scratch"]),
            load_budget=float(data["load_budget"]),
            scenarios=tuple(ScenarioSpec.decode(spec) for spec in data["scenarios"]),
            drop_uid=None if drop_uid is None else int(drop_uid),
            seccomp=bool(data.get("seccomp", False)),
            kit=str(data.get("kit", "")),
        )


# --- events: worker → supervisor, one JSON object per line, dispatched by ``event`` ------------


@dataclass(frozen=True)
class Hello:
    """The worker is ready (limits set, privileges dropped): the student's code comes next."""

    pid: int
    uid: int | None
    dropped: bool
    limits: tuple[str, ...]
    seccomp: bool

    event = "hello"


@dataclass(frozen=True)
class Loaded:
    """The student's module was imported, or failed to be (``call`` says how)."""

    call: dict[str, Any]
    blocked: tuple[str, ...] = ()  # what the guard refused during the import
    notes: tuple[str, ...] = ()

    event = "loaded"


@dataclass(frozen=True)
class ScenarioReport:
    """One scenario's observations: claims, judged against what the supervisor saw."""

    name: str
    observed: dict[str, Any] = field(default_factory=dict)

    event = "scenario"


@dataclass(frozen=True)
class Done:
    """Every scenario of the plan was played."""

    event = "done"


Event = Hello | Loaded | ScenarioReport | Done


def encode_event(event: Event) -> str:
    """One line for the report channel (``default=str``: a student's object becomes its text)."""
    return json.dumps({"event": event.event, **asdict(event)}, default=str, ensure_ascii=False) + "\n"


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def _is_call(value: object) -> TypeGuard[dict[str, Any]]:
    """The shape of ``student.Call.as_json``, which the supervisor reads outside any check
    (the report's syntax error, ``-v``): a status, a list of frames, a value object."""
    if not isinstance(value, dict) or not isinstance(value.get("status"), str):
        return False
    chain = value.get("chain", [])
    return (
        isinstance(chain, list)
        and all(isinstance(frame, dict) for frame in chain)
        and isinstance(value.get("value", {}), dict)
    )


def decode_event(data: object) -> Event | None:
    """The event a line carried, or None when it is not one of ours (or not well formed)."""
    if not isinstance(data, dict):
        return None
    try:
        match data.get("event"):
            case Hello.event:
                uid = data.get("uid")
                return Hello(
                    pid=int(data["pid"]),
                    uid=None if uid is None else int(uid),
                    dropped=bool(data.get("dropped")),
                    limits=_strings(data.get("limits")),
                    seccomp=bool(data.get("seccomp")),
                )
            case Loaded.event:
                call = data.get("call")
                if not _is_call(call):
                    return None
                return Loaded(call, _strings(data.get("blocked")), _strings(data.get("notes")))
            case ScenarioReport.event:
                observed = data.get("observed")
                return ScenarioReport(str(data["name"]), observed if isinstance(observed, dict) else {})
            case Done.event:
                return Done()
    # int(1e9999) raises OverflowError; str() of a list nested almost as deep as json allows, RecursionError.
    except (LookupError, TypeError, ValueError, ArithmeticError, RecursionError):
        return None
    return None
