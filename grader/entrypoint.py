"""Runs a student's script entry point (its ``if __name__ == "__main__":`` block) on our URLs.

:func:`run_entry_point` spawns ``python -m grader.entrypoint`` in a subprocess: the driver
imports the student's file, swaps the content of its ``IMAGE_URLS`` list for our URLs (in
place, so ``main()``'s default argument sees them too), then executes the body of the
student's own ``__main__`` block, timed. A subprocess keeps the student's logging visible,
survives crashes and hangs (killed at the timeout), and gives the relative ``OUTPUT_DIR``
its own working directory.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import CodeType, ModuleType
from typing import IO, Any

from grader.guards import NetworkGuard

REPO_ROOT = Path(__file__).resolve().parent.parent

EXIT_OK = 0
EXIT_EXCEPTION = 1
EXIT_NOT_IMPLEMENTED = 3


@dataclass
class DriverReport:
    """What the driver measured, written as JSON for the parent process."""

    elapsed: float | None = None  # wall-clock seconds around the entry-point block
    main_result: float | None = None  # the last number main() returned, if any
    main_calls: int = 0
    exception: str | None = None  # exception type name, e.g. "NotImplementedError"
    message: str | None = None
    traceback: str | None = None
    used_fallback: bool = False  # no __main__ block found: main() was called directly


@dataclass(frozen=True)
class EntryPointRun:
    """Result of one run of a student's entry point in a subprocess."""

    returncode: int | None  # None if the process was killed at the timeout
    stdout: str
    stderr: str
    elapsed: float | None
    timed_out: bool
    main_result: float | None = None
    main_calls: int = 0
    exception: str | None = None
    message: str | None = None
    traceback: str | None = None
    used_fallback: bool = False
    files: list[Path] = field(default_factory=list)  # files present in cwd afterwards

    @property
    def not_implemented(self) -> bool:
        """The student's code still raises NotImplementedError (a TODO is left)."""
        return self.exception == "NotImplementedError"

    @property
    def ok(self) -> bool:
        return self.returncode == EXIT_OK and not self.timed_out and self.exception is None


# ---------------------------------------------------------------------------------------------
# Parent side
# ---------------------------------------------------------------------------------------------


def run_entry_point(
    module_file: Path,
    urls: Sequence[str],
    cwd: Path,
    timeout: float,
    *,
    echo: bool = False,
) -> EntryPointRun:
    """Runs ``module_file``'s entry point on ``urls`` with ``cwd`` as working directory.

    The output is captured; with ``echo=True`` it is also copied live to our console.
    The process is killed if it runs longer than ``timeout`` seconds.
    """
    with tempfile.TemporaryDirectory(prefix="tp-entrypoint-") as scratch:
        urls_file, report_file = Path(scratch) / "urls.json", Path(scratch) / "report.json"
        urls_file.write_text(json.dumps(list(urls)), encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "grader.entrypoint",
            str(Path(module_file).resolve()),
            str(urls_file),
            str(report_file),
        ]
        returncode, stdout, stderr, timed_out = _run_captured(command, cwd, timeout, echo)
        report = _read_report(report_file)
    files = sorted(path for path in cwd.rglob("*") if path.is_file())
    return EntryPointRun(
        returncode=returncode,
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        files=files,
        **asdict(report),
    )


def child_environment() -> dict[str, str]:
    """Environment for a child Python process that must import grader and reach 127.0.0.1."""
    env = dict(os.environ)
    # The child runs from a temporary folder: make "grader" importable from there.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"  # French log messages, whatever the console
    env["PYTHONUNBUFFERED"] = "1"  # live output, in the right order
    # A proxy configured in the environment must not intercept requests to our local server.
    no_proxy = ",".join(filter(None, ["127.0.0.1", "localhost", env.get("NO_PROXY")]))
    env["NO_PROXY"] = env["no_proxy"] = no_proxy
    return env


def _run_captured(
    command: list[str], cwd: Path, timeout: float, echo: bool
) -> tuple[int | None, str, str, bool]:
    process = subprocess.Popen(
        command, cwd=cwd, env=child_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    out_lines: list[str] = []
    err_lines: list[str] = []
    readers = [
        _start_reader(process.stdout, out_lines, sys.stdout if echo else None),
        _start_reader(process.stderr, err_lines, sys.stderr if echo else None),
    ]
    timed_out = False
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        process.kill()
        process.wait()
    finally:
        for reader in readers:
            reader.join(timeout=5)  # a grandchild could keep the pipe open: do not hang
    returncode = None if timed_out else process.returncode
    return returncode, "".join(out_lines), "".join(err_lines), timed_out


def _start_reader(pipe: IO[bytes], lines: list[str], echo_to: IO[str] | None) -> threading.Thread:
    """Reads a pipe in a thread (two pipes read in one thread could deadlock)."""

    def pump() -> None:
        with pipe:
            for raw in pipe:
                line = raw.decode("utf-8", errors="replace")
                lines.append(line)
                if echo_to is not None:
                    echo_to.write(line)
                    echo_to.flush()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def _read_report(report_file: Path) -> DriverReport:
    try:
        data = json.loads(report_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return DriverReport()  # killed, or crashed before writing it
    return DriverReport(**data)


# ---------------------------------------------------------------------------------------------
# Child side (the driver)
# ---------------------------------------------------------------------------------------------


def _load_module(module_file: Path) -> ModuleType:
    """Imports the file as a module named after it, like ``import sync_downloader``."""
    # Running a script puts its folder first on sys.path: keep that for sibling imports.
    sys.path.insert(0, str(module_file.parent))
    spec = importlib.util.spec_from_file_location(module_file.stem, module_file)
    if spec is None or spec.loader is None:
        raise ImportError(f"impossible de charger {module_file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_file.stem] = module
    spec.loader.exec_module(module)
    return module


def _is_main_guard(node: ast.stmt) -> bool:
    """True for ``if __name__ == "__main__":`` (operands in either order)."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    operands = [test.left, test.comparators[0]]
    has_name = any(isinstance(op, ast.Name) and op.id == "__name__" for op in operands)
    has_main = any(isinstance(op, ast.Constant) and op.value == "__main__" for op in operands)
    return has_name and has_main


def main_block(module_file: Path) -> CodeType | None:
    """Compiles the body of the file's top-level ``__main__`` block, or None if it has none."""
    tree = ast.parse(module_file.read_text(encoding="utf-8"), filename=str(module_file))
    for node in tree.body:
        if isinstance(node, ast.If) and _is_main_guard(node):
            body = ast.Module(body=node.body, type_ignores=[])
            return compile(body, str(module_file), "exec")
    return None


def _fallback_block() -> CodeType:
    """What the TP's ``__main__`` blocks do, for a file that lost its own."""
    source = (
        "import asyncio as _asyncio, inspect as _inspect\n"
        "if 'setup_logging' in globals():\n"
        "    setup_logging()\n"
        "_result = main()\n"
        "if _inspect.isawaitable(_result):\n"
        "    _asyncio.run(_result)\n"
    )
    return compile(source, "<entrée par défaut>", "exec")


def _record_main(module: ModuleType, report: DriverReport) -> None:
    """Wraps module.main so that the value it returns is recorded (sync or async)."""
    original = getattr(module, "main", None)
    if not callable(original):
        return

    def record(result: object) -> None:
        report.main_calls += 1
        if isinstance(result, int | float) and not isinstance(result, bool):
            report.main_result = float(result)

    wrapper: Callable[..., Any]
    if inspect.iscoroutinefunction(original):

        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            result = await original(*args, **kwargs)
            record(result)
            return result

        wrapper = async_wrapper
    else:

        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            record(result)
            return result

        wrapper = sync_wrapper
    # The entry block looks main up in the module globals, so it calls the wrapper.
    setattr(module, "main", functools.wraps(original)(wrapper))  # noqa: B010


def _use_urls(module: ModuleType, urls: list[str]) -> None:
    current = getattr(module, "IMAGE_URLS", None)
    if isinstance(current, list):
        current[:] = urls  # in place: main(urls=IMAGE_URLS) captured this very list object
    else:
        setattr(module, "IMAGE_URLS", urls)  # noqa: B010


NETWORK_GUARD = NetworkGuard()


def _output_folder_at_first_request(module: ModuleType) -> None:
    """Creates OUTPUT_DIR's parent now, and OUTPUT_DIR when the first request leaves, if needed.

    A missing or wrong mkdir is graded by the directory checks; here it would cost every
    end-to-end check a second time.
    """
    output_dir = getattr(module, "OUTPUT_DIR", None)
    if isinstance(output_dir, str | os.PathLike):
        folder = Path(output_dir)
        folder.parent.mkdir(parents=True, exist_ok=True)  # as in a project where images/ exists
        NETWORK_GUARD.before_local_connection = lambda: folder.mkdir(parents=True, exist_ok=True)


def drive(module_file: Path, urls: list[str]) -> DriverReport:
    """Imports the student's file, points it at ``urls`` and runs its entry point, timed."""
    report = DriverReport()
    try:
        module = _load_module(module_file)
        _use_urls(module, urls)
        _output_folder_at_first_request(module)
        _record_main(module, report)
        block = main_block(module_file)
        report.used_fallback = block is None
        sys.argv = [str(module_file)]  # as if run as a script: our own arguments are not theirs
        start = time.perf_counter()
        try:
            exec(block or _fallback_block(), module.__dict__)
        finally:
            report.elapsed = time.perf_counter() - start
    except SystemExit as exit_request:
        if exit_request.code not in (None, 0):  # sys.exit(0) at the end of a script is fine
            _record_exception(report, exit_request)
    except Exception as error:  # the student's code may raise anything
        _record_exception(report, error)
    return report


def _record_exception(report: DriverReport, error: BaseException) -> None:
    report.exception = type(error).__name__
    report.message = str(error)
    report.traceback = traceback.format_exc()


def _exit_code(report: DriverReport) -> int:
    if report.exception is None:
        return EXIT_OK
    if report.exception == "NotImplementedError":
        return EXIT_NOT_IMPLEMENTED
    return EXIT_EXCEPTION


def main(argv: Sequence[str] | None = None) -> int:
    module_file, urls_file, report_file = argv if argv is not None else sys.argv[1:]
    urls = json.loads(Path(urls_file).read_text(encoding="utf-8"))
    NETWORK_GUARD.install()  # the URLs are local: anything else is a stray request, refused
    report = drive(Path(module_file), urls)
    Path(report_file).write_text(json.dumps(asdict(report)), encoding="utf-8")
    if report.exception == "NotImplementedError":
        # An unfinished TODO is expected, not a bug: one line instead of a traceback wall.
        print(f"NotImplementedError: {report.message}", file=sys.stderr)
    elif report.traceback:
        print(report.traceback, end="", file=sys.stderr)
    return _exit_code(report)


if __name__ == "__main__":
    raise SystemExit(main())
