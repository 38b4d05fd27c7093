"""The scenarios a worker plays on the student's module; each returns its observations.

A scenario prepares the world (mocked HTTP or the supervisor's image server, a console,
an output folder), calls the student's code once or twice, and reports facts as plain
data. Files written on disk are not reported: the supervisor reads them itself once the
worker has ended.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import contextlib
import functools
import inspect
import logging
import sys
import time
import warnings
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import requests

from . import logs
from .guard import Guard
from .mocks import Failure, Traffic, mocked_http
from .protocol import SAMPLE_MESSAGE, ConsoleMode, ScenarioKind, ScenarioSpec
from .source import is_main_guard
from .student import Call, call

HEARTBEAT = 0.005


@dataclass
class Context:
    """What every scenario needs: the part, the student's module, the guard."""

    part: str
    module: ModuleType
    module_file: Path
    guard: Guard

    @property
    def folder(self) -> str:
        return str(self.module_file.parent)

    @property
    def is_async(self) -> bool:
        return self.part == "async"

    def function(self, name: str) -> Any:
        value = getattr(self.module, name, None)
        return value if callable(value) else None


def _images(spec: ScenarioSpec) -> list[tuple[str, bytes]]:
    return [(url, base64.b64decode(body)) for url, body in spec.images]


def _failures(spec: ScenarioSpec) -> list[Failure]:
    return [Failure(url, str(kind)) for url, kind in spec.failures]


def _missing(name: str) -> Call:
    return Call(
        "raised", exception="AttributeError", message=f"le module ne définit pas de fonction {name}()"
    )


def _not_a_coroutine(name: str) -> Call:
    return Call("not_coroutine", message=f"{name} n'est pas une coroutine (async def)")


# --- running main() ------------------------------------------------------------------------


@dataclass
class Beats:
    """Heartbeat gaps on the event loop, each with the CPU time the loop's thread used meanwhile.

    A gap is judged by the CPU time the loop's thread spent in it, not by its length: a busy
    machine stretches wall time, never CPU time, so a descheduled loop does not look blocked.
    Sleeping is not counted here either (time.sleep is caught by the guard instead).
    """

    gaps: list[tuple[float, float]]

    def as_json(self) -> dict[str, Any]:
        computing = [cpu for _, cpu in self.gaps]
        late = [cpu for cpu in computing if cpu >= 0.05]
        return {"count": len(self.gaps), "late": len(late), "max": max(computing, default=0.0)}


async def _with_heartbeat(work: Coroutine[Any, Any, Any], beats: Beats) -> Any:
    done = asyncio.Event()

    async def heartbeat() -> None:
        last, last_cpu = time.perf_counter(), time.thread_time()
        while not done.is_set():
            await asyncio.sleep(HEARTBEAT)
            now, cpu = time.perf_counter(), time.thread_time()
            beats.gaps.append((now - last - HEARTBEAT, cpu - last_cpu))
            last, last_cpu = now, cpu

    beating = asyncio.create_task(heartbeat())
    try:
        return await work
    finally:
        done.set()
        with contextlib.suppress(BaseException):
            await beating


@dataclass
class Gathers:
    """The student's asyncio.gather() calls, and those still running when main() returned:
    a gather never awaited (its tasks then fail on a closed session, or are cancelled)."""

    folder: str
    made: list[tuple[Any, str]] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def recording(self, module: ModuleType) -> Iterator[None]:
        original = asyncio.gather

        def gather(*awaitables: Any, **kwargs: Any) -> Any:
            future = original(*awaitables, **kwargs)
            caller = sys._getframe(1)
            where = "asyncio.gather()"
            if caller.f_code.co_filename.startswith(self.folder):
                where += f" ({Path(caller.f_code.co_filename).name}, ligne {caller.f_lineno})"
                self.made.append((future, where))
            return future

        with contextlib.ExitStack() as stack:
            stack.enter_context(mock.patch.object(asyncio, "gather", gather))
            if getattr(module, "gather", None) is original:  # from asyncio import gather
                stack.enter_context(mock.patch.object(module, "gather", gather))
            yield

    async def watch(self, work: Coroutine[Any, Any, Any]) -> Any:
        try:
            return await work
        finally:
            self.left_behind += [where for future, where in self.made if not future.done()]
            self.made.clear()


def run_main(context: Context, urls: list[str], output_dir: Path, beats: Beats, gathers: Gathers) -> Call:
    main = context.function("main")
    if main is None:
        return _missing("main")
    if not context.is_async:
        outcome, _ = call(lambda: main(urls, output_dir), context.folder)
        return outcome
    if not inspect.iscoroutinefunction(main):
        return _not_a_coroutine("main")
    outcome, _ = call(
        lambda: asyncio.run(_with_heartbeat(gathers.watch(main(urls, output_dir)), beats)), context.folder
    )
    return outcome


def _stand_in_download(context: Context) -> Callable[..., Any]:
    """The grader's own download_and_save: main()'s stopwatch is then judged on its own."""
    name_of = context.function("filename_from_url")

    def target(url: str, output_dir: Any) -> Path:
        name = str(name_of(url)) if name_of else url.rsplit("/", 1)[-1]
        return Path(output_dir) / name

    # Whatever main() passes as its session (None, another object…), the stand-in uses its
    # own: the stopwatch is judged alone, the session has its own criterion.
    if context.is_async:
        import aiohttp  # part 2 only: part 1's worker never loads it

        async def download(session: Any, url: str, output_dir: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                async with aiohttp.ClientSession() as own, own.get(url) as response:
                    response.raise_for_status()
                    content = await response.read()
                path = target(url, output_dir)
                await asyncio.to_thread(path.write_bytes, content)
                return path
            except (aiohttp.ClientError, OSError):
                return None

        return download

    def download_sync(session: Any, url: str, output_dir: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with requests.Session() as own:
                response = own.get(url, timeout=5)
            response.raise_for_status()
            path = target(url, output_dir)
            path.write_bytes(response.content)
            return path
        except (requests.RequestException, OSError):
            return None

    return download_sync


def _aiofiles_opens() -> tuple[list[str], Any]:
    import aiofiles.threadpool  # part 2 only

    opened: list[str] = []
    original = aiofiles.threadpool.sync_open  # type: ignore[attr-defined]

    def recording_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(flag in mode for flag in "wax+"):
            opened.append(Path(file).name)
        return original(file, mode, *args, **kwargs)

    return opened, mock.patch.object(aiofiles.threadpool, "sync_open", recording_open)


def scenario_main(context: Context, spec: ScenarioSpec) -> dict[str, Any]:
    """main() on mocked images, failures and a latency; or on the image server (``urls``)."""
    cwd = Path.cwd()
    output_dir = cwd / spec.out
    if spec.precreate:
        output_dir.mkdir(parents=True, exist_ok=True)
    images = _images(spec)
    urls = list(spec.urls) or [url for url, _ in images]
    console: logs.Console | None = None
    setup: Call | None = None
    if spec.console is ConsoleMode.STUDENT:
        setup_logging = context.function("setup_logging")
        if setup_logging is None:
            setup = _missing("setup_logging")
        else:
            console, setup = logs.console_from(lambda: call(setup_logging, context.folder)[0])
            if spec.force_info and logging.getLogger().level > logging.INFO:
                logging.getLogger().setLevel(logging.INFO)  # timing: judge what is shown once visible
    if console is None:
        console = logs.default_console()
    printed = logs.ObservedBuffer()
    beats = Beats([])
    gathers = Gathers(context.folder)
    runs: list[dict[str, Any]] = []
    aiofiles_opened: list[str] = []
    create = functools.partial(context.guard.own_mkdir, output_dir) if spec.auto_create else None
    stand_in = mock.patch.object(context.module, "download_and_save", _stand_in_download(context))
    with contextlib.ExitStack() as stack:
        traffic: Traffic | None = None
        if not spec.server:
            http = mocked_http(
                context.part,
                images,
                _failures(spec),
                spec.latency,
                on_first_request=create,
                reply_order=spec.reply_order,
            )
            traffic = stack.enter_context(http)
        elif create is not None:
            context.guard.first_local_connect = create
        watch = stack.enter_context(context.guard.watch_writes(output_dir, spec.fail_open))
        if context.is_async:
            aiofiles_opened, aiofiles_patch = _aiofiles_opens()
            stack.enter_context(aiofiles_patch)
            stack.enter_context(gathers.recording(context.module))
        if spec.stand_in and context.function("download_and_save") is not None:
            stack.enter_context(stand_in)
        stack.enter_context(contextlib.redirect_stdout(printed))
        caught = stack.enter_context(warnings.catch_warnings(record=True))
        warnings.simplefilter("always", RuntimeWarning)
        for _ in range(spec.runs):
            start = time.perf_counter()
            outcome = run_main(context, urls, output_dir, beats, gathers)
            runs.append({"call": outcome.as_json(), "wall": time.perf_counter() - start})
            if outcome.status != "ok":
                break
    context.guard.first_local_connect = None
    blocked, blocking = context.guard.take()
    observed: dict[str, Any] = {
        "runs": runs,
        "setup": setup.as_json() if setup else None,
        "console": console.lines[-200:],
        "records": [[r.level, r.message] for r in console.collector.records][-300:],
        "printed": printed.getvalue()[-4000:],
        "root_level": logging.getLogger().level,
        "writes": len(watch.opens),
        "mkdirs": watch.mkdirs,
        "loop_writes": [o.name for o in watch.opens if o.on_loop_thread][:20],
        "aiofiles_writes": len(aiofiles_opened),
        "blocking": blocking,
        "blocked": blocked,
        "beats": beats.as_json(),
        "names": _names(context, urls),
        "never_awaited": list(dict.fromkeys(gathers.left_behind + _never_awaited(caught, context.folder)))[
            :5
        ],
    }
    if traffic is not None:
        observed["traffic"] = traffic.summary()
    return observed


def _never_awaited(caught: list[warnings.WarningMessage], folder: str) -> list[str]:
    """Coroutines created and dropped without await, with the student's line when it is known."""
    found = []
    for warning in caught:
        text = str(warning.message)
        if "was never awaited" in text:
            name = text.split(" was never")[0].removeprefix("coroutine ").strip("'")
            shown = f"{name}()" if "<" not in name else "une coroutine"
            if str(warning.filename).startswith(folder):
                shown += f" ({Path(warning.filename).name}, ligne {warning.lineno})"
            found.append(shown)
    return list(dict.fromkeys(found))[:5]


def _names(context: Context, urls: list[str]) -> dict[str, str]:
    """The file name the student's filename_from_url gives each URL (it may be shown in logs)."""
    name_of = context.function("filename_from_url")
    names: dict[str, str] = {}
    if name_of is None:
        return names
    for url in urls[:20]:
        outcome, value = call(functools.partial(name_of, url), context.folder)
        if outcome.status == "ok":
            names[url] = str(value)[:200]
    return names


# --- download_and_save alone ---------------------------------------------------------------


def scenario_download_one(context: Context, spec: ScenarioSpec) -> dict[str, Any]:
    """download_and_save() once, with a session opened by the grader."""
    output_dir = Path.cwd() / spec.out
    output_dir.mkdir(parents=True, exist_ok=True)
    images = _images(spec)
    url = spec.url
    logs.default_console()
    download = context.function("download_and_save")
    outcome: Call
    given: int | None = None
    with mocked_http(context.part, images, _failures(spec)) as traffic:
        if download is None:
            outcome = _missing("download_and_save")
        elif context.is_async and not inspect.iscoroutinefunction(download):
            outcome = _not_a_coroutine("download_and_save")
        elif context.is_async:
            import aiohttp

            async def with_session() -> Any:
                nonlocal given
                async with aiohttp.ClientSession() as session:
                    given = id(session)
                    return await download(session, url, output_dir)

            outcome, _ = call(lambda: asyncio.run(with_session()), context.folder)
        else:
            with requests.Session() as session:
                given = id(session)
                outcome, _ = call(lambda: download(session, url, output_dir), context.folder)
    summary = traffic.summary(given)
    summary["sessions"] -= 1  # the grader's own
    blocked, blocking = context.guard.take()
    return {"call": outcome.as_json(), "traffic": summary, "blocked": blocked, "blocking": blocking}


# --- setup_logging alone -------------------------------------------------------------------


def _sample_record(level: int, created: float) -> logging.LogRecord:
    record = logging.LogRecord("correcteur", level, __file__, 1, SAMPLE_MESSAGE, None, None)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    return record


def _sample(handler: logging.Handler, level: int, created: float) -> str:
    try:
        return handler.format(_sample_record(level, created))[:300]
    except Exception as error:
        return f"<format impossible : {type(error).__name__}>"


def _show(handler: logging.Handler, level: int, created: float) -> None:
    with contextlib.suppress(Exception):
        handler.handle(_sample_record(level, created))


def scenario_log_format(context: Context, spec: ScenarioSpec) -> dict[str, Any]:
    """setup_logging(), then three sample lines through each console handler it added."""
    setup_logging = context.function("setup_logging")
    if setup_logging is None:
        return {"call": _missing("setup_logging").as_json(), "handlers": []}
    console, outcome = logs.console_from(lambda: call(setup_logging, context.folder)[0])
    now = time.time()
    for handler in console.handlers:  # the error sample, shown for real: the supervisor reads it
        if not isinstance(handler, logging.FileHandler):
            _show(handler, logging.ERROR, now)
    handlers = [
        {
            "info": _sample(h, logging.INFO, now),
            "info_later": _sample(h, logging.INFO, now + 3661.5),
            "error": _sample(h, logging.ERROR, now),
            "level": h.level,
        }
        for h in console.handlers
        if not isinstance(h, logging.FileHandler)
    ]
    return {"call": outcome.as_json(), "handlers": handlers, "root_level": logging.getLogger().level}


# --- the script, run as a script ----------------------------------------------------------


_FALLBACK = (
    "import asyncio as _asyncio, inspect as _inspect\n"
    "if 'setup_logging' in globals():\n"
    "    setup_logging()\n"
    "_result = main()\n"
    "if _inspect.isawaitable(_result):\n"
    "    _asyncio.run(_result)\n"
)


@contextlib.contextmanager
def _recording_main(module: ModuleType, seen: list[float]) -> Iterator[None]:
    original = getattr(module, "main", None)
    if not callable(original):
        yield
        return

    def record(result: object) -> None:
        if isinstance(result, int | float) and not isinstance(result, bool):
            seen.append(float(result))

    if inspect.iscoroutinefunction(original):

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = await original(*args, **kwargs)
            record(result)
            return result

    else:

        def wrapper(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            result = original(*args, **kwargs)
            record(result)
            return result

    with mock.patch.object(module, "main", wrapper):
        yield


@contextlib.contextmanager
def _counting_calls(module: ModuleType, name: str, calls: list[str]) -> Iterator[None]:
    """Counts the calls of the module's function ``name`` (the script's own block calls it)."""
    original = getattr(module, name, None)
    if not callable(original):
        yield
        return

    @functools.wraps(original)
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return original(*args, **kwargs)

    with mock.patch.object(module, name, counted):
        yield


def scenario_script(context: Context, spec: ScenarioSpec) -> dict[str, Any]:
    """The file's own ``if __name__ == "__main__":`` block, with IMAGE_URLS pointed at ``urls``."""
    module = context.module
    urls = list(spec.urls)
    current = getattr(module, "IMAGE_URLS", None)
    if isinstance(current, list):
        current[:] = urls  # in place: main(urls=IMAGE_URLS) captured this very list object
    else:
        setattr(module, "IMAGE_URLS", urls)  # noqa: B010 - a module the student may have left without it
    output_dir = getattr(module, "OUTPUT_DIR", None)
    if spec.auto_create and isinstance(output_dir, str | Path):
        folder = Path(output_dir).absolute()
        folder.parent.mkdir(parents=True, exist_ok=True)  # as in a project where images/ exists
        context.guard.first_local_connect = functools.partial(context.guard.own_mkdir, folder)
    tree = ast.parse(context.module_file.read_text(encoding="utf-8"))
    blocks = [node for node in tree.body if is_main_guard(node)]
    if blocks:
        assert isinstance(blocks[0], ast.If)
        code = compile(ast.Module(body=blocks[0].body, type_ignores=[]), str(context.module_file), "exec")
    else:
        code = compile(_FALLBACK, "<entrée par défaut>", "exec")
    logs.bare_root()
    results: list[float] = []
    start = time.perf_counter()
    setup_calls: list[str] = []
    # What the script shows, kept apart from the scenarios that follow it in this worker (a
    # handler made by setup_logging() writes to the sys.stderr of that moment): the pipe read
    # by the supervisor gives no exact order between a console line and a report.
    shown = logs.ObservedBuffer()
    with (
        _recording_main(module, results),
        _counting_calls(module, "setup_logging", setup_calls),
        contextlib.redirect_stdout(shown),
        contextlib.redirect_stderr(shown),
    ):
        outcome, _ = call(lambda: exec(code, module.__dict__), context.folder)
    elapsed = time.perf_counter() - start
    context.guard.first_local_connect = None
    if outcome.status == "exit" and outcome.message in ("None", "0"):
        outcome = Call("ok")  # sys.exit(0) at the end of a script is fine
    blocked, blocking = context.guard.take()
    return {
        "call": outcome.as_json(),
        "elapsed": elapsed,
        "main_result": results[-1] if results else None,
        "console": [line for line in shown.getvalue().splitlines() if line.strip()][-200:],
        "has_main_block": bool(blocks),
        "setup_logging_calls": len(setup_calls),
        "urls": urls,
        "root_level": logging.getLogger().level,
        "output_dir": str(output_dir) if isinstance(output_dir, str | Path) else None,
        "blocked": blocked,
        "blocking": blocking,
    }


SCENARIOS: dict[ScenarioKind, Callable[[Context, ScenarioSpec], dict[str, Any]]] = {
    ScenarioKind.MAIN: scenario_main,
    ScenarioKind.DOWNLOAD_ONE: scenario_download_one,
    ScenarioKind.LOG_FORMAT: scenario_log_format,
    ScenarioKind.SCRIPT: scenario_script,
}
