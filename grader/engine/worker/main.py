"""The worker process: loads the student's file and plays scenarios, reporting as it goes.

Started by the supervisor as ``python -I -B -X utf8 -c BOOT WORKER_DIR``, in a scratch
folder that holds a copy of the student's files only; the plan arrives on standard input.
The original standard output becomes the report channel (one JSON line per event); the
student's own prints go to standard error, which the supervisor reads as the console.
Once everything the student may need is imported, the worker sets its limits, drops to
the grade's uid when asked, loads its seccomp filter, installs its guard, and only then
runs the student's code. From then on everything this process says is a claim: the
student's code shares it, and the supervisor decides marks from what it observes itself.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import faulthandler
import importlib
import os
import sys
import time
from pathlib import Path
from typing import IO

from . import logs, seccomp_filter
from .guard import install
from .protocol import (
    PLAN_CAP,
    STACK_FILE,
    STACK_SECTION,
    Done,
    Event,
    Hello,
    Loaded,
    ScenarioReport,
    ScenarioSpec,
    WorkerPlan,
    encode_event,
)
from .scenarios import SCENARIOS, Context
from .student import Call, load

# What student code commonly imports: loaded before the worker drops its privileges,
# since the interpreter's own files may not be readable by the unprivileged user. Each part
# loads its own libraries only (aiohttp alone costs a tenth of a second of CPU per worker);
# whatever else the student's file imports by name is loaded too (_student_imports).
_STANDARD = (
    "abc",
    "argparse",
    "asyncio",
    "base64",
    "collections",
    "collections.abc",
    "concurrent.futures",
    "concurrent.futures.thread",
    "contextlib",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "email",
    "encodings.idna",
    "encodings.latin_1",
    "encodings.cp1252",
    "enum",
    "errno",
    "fractions",
    "functools",
    "hashlib",
    "hmac",
    "http",
    "http.client",
    "inspect",
    "io",
    "itertools",
    "json",
    "logging",
    "logging.config",
    "logging.handlers",
    "math",
    "mimetypes",
    "operator",
    "os",
    "os.path",
    "pathlib",
    "pprint",
    "queue",
    "random",
    "re",
    "secrets",
    "shutil",
    "signal",
    "socket",
    "ssl",
    "statistics",
    "string",
    "struct",
    "sys",
    "tempfile",
    "textwrap",
    "threading",
    "time",
    "timeit",
    "traceback",
    "types",
    "typing",
    "unicodedata",
    "urllib",
    "urllib.parse",
    "urllib.request",
    "uuid",
    "warnings",
    "weakref",
    "zlib",
    # Both parts mock requests: part 2 grades a coroutine that calls it, instead of crashing.
    "requests",
    "requests.adapters",
    "requests.exceptions",
)
PRELOAD = {
    "sync": _STANDARD,
    "async": (
        *_STANDARD, "aiofiles", "aiofiles.os", "aiofiles.ospath", "aiofiles.tempfile", "aiohttp", "yarl",
        "multidict", "worker.mocks_aiohttp",
    ),
}  # fmt: skip


def _send(channel: IO[str], event: Event) -> None:
    channel.write(encode_event(event))
    channel.flush()


def _read_plan() -> WorkerPlan:
    """The plan comes on standard input, written once the supervisor's servers listen.

    Standard input is then emptied: the student's code reads nothing from it.
    """
    line = sys.stdin.buffer.readline(PLAN_CAP)
    empty = os.open(os.devnull, os.O_RDONLY)
    os.dup2(empty, 0)
    os.close(empty)
    if not line:
        raise SystemExit("plan absent")
    return WorkerPlan.decode(line)


def _student_imports(module_file: Path) -> list[str]:
    try:
        tree = ast.parse(module_file.read_text(encoding="utf-8"))
    except (SyntaxError, ValueError, OSError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _preload(names: list[str]) -> None:
    for name in names:
        if name in sys.modules:
            continue
        with contextlib.suppress(BaseException):
            importlib.import_module(name)


# Two workers per grade and no child process (seccomp): the grade stays under twice this.
ADDRESS_SPACE = 1024**3
THREADS_PER_GRADE = 128


def _limit_resources(dropping: bool) -> list[str]:
    try:
        import resource
    except ImportError:
        return []
    limits = {
        "RLIMIT_AS": ADDRESS_SPACE,
        "RLIMIT_FSIZE": 64 * 1024**2,
        "RLIMIT_CPU": 30,
        "RLIMIT_CORE": 0,
        "RLIMIT_NOFILE": 256,
    }
    if dropping:
        # Counted per uid, threads included: with a uid per grade, a cap on the whole grade.
        limits["RLIMIT_NPROC"] = THREADS_PER_GRADE
    applied = []
    for name, value in limits.items():
        kind = getattr(resource, name, None)
        if kind is None:
            continue
        with contextlib.suppress(ValueError, OSError):
            _, hard = resource.getrlimit(kind)
            new = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (new, new))
            applied.append(name)
    return applied


def _stack_file(path: Path) -> IO[str]:
    """Where faulthandler writes: a new regular file, whatever the previous worker left there.

    The folder is the student's: a FIFO there would block this open, a link would redirect it.
    """
    with contextlib.suppress(OSError):
        os.unlink(path)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError:  # a folder of that name: no stack dumps, the grade goes on
        return open(os.devnull, "w", encoding="utf-8")
    return os.fdopen(descriptor, "w", encoding="utf-8")


def _drop_privileges(uid: int | None) -> bool:
    if uid is None or not hasattr(os, "setuid"):
        return False
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    return os.getuid() == uid


def _answer_input(notes: list[str]) -> None:
    def no_one_types(prompt: object = "") -> str:
        if len(notes) < 3:
            notes.append("input() appelé : personne ne tape au clavier pendant la correction (ligne vide).")
        return ""

    builtins.input = no_one_types


def run(argv: list[str]) -> None:
    """``argv``: the part, then in a private network the handover socket and how many listeners."""
    part = argv[0]
    if len(argv) == 3:  # first, the image servers' listening sockets
        from .network import hand_over_listeners

        hand_over_listeners(int(argv[1]), int(argv[2]))
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the student's prints join the console on stderr
    _preload(list(PRELOAD.get(part, PRELOAD["async"])))  # while the supervisor starts its servers
    plan = _read_plan()
    module_file = Path(plan.module)
    scratch = Path(plan.scratch)
    _preload([*PRELOAD.get(plan.part, ()), *_student_imports(module_file)])
    limits = _limit_resources(plan.drop_uid is not None)
    dropped = _drop_privileges(plan.drop_uid)
    stacks = _stack_file(scratch / STACK_FILE)
    filtered = seccomp_filter.install() if plan.seccomp else False
    if plan.seccomp and not filtered:
        raise SystemExit("filtre seccomp non installé")  # never run student code with fewer walls
    # Readable in the kit: the packages, and this harness (tracebacks quote its lines).
    readable = (sys.prefix, str(Path(__file__).parent))
    guard = install(scratch, plan.kit, readable)
    notes: list[str] = []
    _answer_input(notes)
    sys.path.insert(0, str(module_file.parent))
    sys.argv = [str(module_file)]
    uid = os.getuid() if hasattr(os, "getuid") else None
    _send(channel, Hello(os.getpid(), uid, dropped, tuple(limits), filtered))
    os.chdir(scratch)
    faulthandler.dump_traceback_later(plan.load_budget - 0.2, file=stacks)
    loaded, module = load(module_file, module_file.stem)
    faulthandler.cancel_dump_traceback_later()
    guard.native_locked = True
    blocked, _ = guard.take()
    _send(channel, Loaded(loaded.as_json(), tuple(blocked), tuple(notes)))
    if module is None:
        _finish(channel)
        return
    context = Context(plan.part, module, module_file, guard)
    for spec in plan.scenarios:
        _play(channel, context, spec, stacks, notes)
    _finish(channel)


def _play(channel: IO[str], context: Context, spec: ScenarioSpec, stacks: IO[str], notes: list[str]) -> None:
    folder = Path(spec.cwd)
    folder.mkdir(parents=True, exist_ok=True)
    os.chdir(folder)
    state = logs.LoggingState.capture()
    stacks.write(f"\n{STACK_SECTION}{spec.name}\n")
    stacks.flush()
    faulthandler.dump_traceback_later(max(0.1, spec.budget - 0.2), file=stacks)
    start = time.perf_counter()
    try:
        observed = SCENARIOS[spec.kind](context, spec)
    except BaseException as error:
        observed = {
            "call": Call("raised", exception=type(error).__name__, message=str(error)[:300]).as_json()
        }
    faulthandler.cancel_dump_traceback_later()
    observed["seconds"] = time.perf_counter() - start
    observed["notes"] = list(notes)
    notes.clear()
    with contextlib.suppress(BaseException):
        state.restore()
    _send(channel, ScenarioReport(spec.name, observed))


def _finish(channel: IO[str]) -> None:  # never returns: os._exit
    _send(channel, Done())
    channel.flush()
    os._exit(0)  # no atexit handler, no lingering thread of the student's runs after us
