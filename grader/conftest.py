"""The grader's pytest plugin: target selection, guards, per-criterion marks and the report."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

import pytest

from grader import report
from grader.criteria import BY_ID, PART_FILES
from grader.guards import CheckTimeout, NetworkGuard
from grader.probes import LoggingState
from grader.report import CheckOutcome, Kind
from grader.scripts import BackgroundScripts
from grader.student import (
    LoadedModule,
    LoadFailure,
    Lost,
    NotDone,
    StudentCode,
    StudentCrash,
    load,
)

T = TypeVar("T")

KIT_ROOT = Path(__file__).resolve().parent.parent
WHOLE_GRADE_LIMIT = 50.0

OUTCOMES = pytest.StashKey[CheckOutcome]()
NOTES = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "Correcteur du TP")
    group.addoption(
        "--target",
        default="skeleton",
        help="dossier à corriger : skeleton (défaut), solution, ou un chemin",
    )
    group.addoption(
        "--results",
        default="results.json",
        help="fichier JSON des résultats, au format Gradescope (défaut : results.json)",
    )
    group.addoption("--checks", default=None, help="fichier JSON du résultat de chaque vérification")


def resolve_target(value: str) -> Path:
    """``skeleton`` and ``solution`` name the kit's folders; anything else is a path."""
    if value in {"skeleton", "solution"} and not Path(value).is_dir():
        return KIT_ROOT / value
    return Path(value).resolve()


@dataclass
class GradingSession:
    target: Path
    results_path: Path
    checks_path: Path | None
    outcomes: list[CheckOutcome] = field(default_factory=list)
    hung_parts: set[str] = field(default_factory=set)
    network: NetworkGuard = field(default_factory=NetworkGuard)
    loaded: dict[str, LoadedModule] = field(default_factory=dict)
    scripts: BackgroundScripts | None = None
    reported: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def module(self, part: str) -> LoadedModule:
        if part not in self.loaded:
            self.loaded[part] = load(self.target / PART_FILES[part], f"graded_{part}_downloader")
        return self.loaded[part]

    def finish(self, write: Callable[[str], object] | None = None) -> None:
        """Marks, results files and the report, once (the watchdog may get here first)."""
        write = write or _console().write
        with self.lock:
            if self.reported:
                return
            self.reported = True
        results = report.score_criteria(self.outcomes)
        report.write_results(results, self.results_path)
        if self.checks_path is not None:
            report.write_checks(self.outcomes, self.checks_path)
        shown_target = os.path.relpath(self.target) if self.target.is_relative_to(Path.cwd()) else self.target
        text = report.render_console(results, f"{shown_target}{os.sep}")
        write(text + f"\n\nRésultats détaillés : {self.results_path}\n")
        _console().flush()


GRADING = pytest.StashKey[GradingSession]()


def _console() -> TextIO:
    """The real standard output, whatever capture is active."""
    return sys.__stdout__ or sys.stdout


def _watchdog(config: pytest.Config) -> None:
    """Ends a grade that runs far too long (a student's code that even the deadline cannot stop)."""
    grading = config.stash[GRADING]
    _console().write("\nLa correction a dépassé la durée maximale : arrêt forcé.\n")
    grading.finish()
    os._exit(3)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "criterion(id, weight=1.0): critère du barème noté par cette vérification"
    )
    target = resolve_target(config.getoption("--target"))
    checks = config.getoption("--checks")
    grading = GradingSession(
        target,
        Path(config.getoption("--results")).resolve(),
        Path(checks).resolve() if checks else None,
    )
    config.stash[GRADING] = grading
    grading.network.install()
    if config.option.verbose <= 0:
        config.option.tbstyle = "no"  # tracebacks are slow to format, and noise for students
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            config.pluginmanager.unregister(reporter)
    timer = threading.Timer(WHOLE_GRADE_LIMIT, _watchdog, args=(config,))
    timer.daemon = True
    timer.start()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("criterion")
        if marker is None or marker.args[0] not in BY_ID:
            raise pytest.UsageError(f"{item.nodeid} : marqueur criterion absent ou inconnu")


CRASH_HINT = (
    "lisez le message ci-dessus ; pour la trace complète, relancez la correction avec -v "
    "(par exemple : poetry run -- nox -s grade -- skeleton -v) ou lancez votre script directement."
)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Launches the end-to-end script runs now: they overlap with the in-process checks."""
    if any("test_end_to_end" in item.nodeid for item in session.items):
        grading = session.config.stash[GRADING]
        scratch = session.config._tmp_path_factory.mktemp("scripts")  # type: ignore[attr-defined]
        grading.scripts = BackgroundScripts(grading.target, scratch)


def _message(error: BaseException) -> tuple[Kind, str]:
    if isinstance(error, Lost):
        return Kind.LOST, str(error)
    if isinstance(error, NotDone):
        return Kind.NOT_DONE, f"pas encore fait ({error})"
    if isinstance(error, StudentCrash):
        return Kind.BROKEN, f"votre code a échoué : {error}\nPiste : {CRASH_HINT}"
    if isinstance(error, LoadFailure):
        not_done = "NotImplementedError" in str(error)
        return (Kind.NOT_DONE if not_done else Kind.BROKEN), str(error)
    if isinstance(error, CheckTimeout):
        return Kind.BROKEN, f"vérification interrompue : {error}"
    return (
        Kind.BROKEN,
        f"erreur inattendue pendant la vérification : {type(error).__name__} : {error}",
    )


def _title(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or item.name
    return doc.strip().splitlines()[0].rstrip(".")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    test_report = yield
    done = call.when == "call" or (call.when == "setup" and call.excinfo is not None)
    if not done:
        return test_report
    marker = item.get_closest_marker("criterion")
    assert marker is not None
    if call.excinfo is None:
        kind, message = Kind.PASSED, ""
    else:
        kind, message = _message(call.excinfo.value)
    notes = item.stash.get(NOTES, [])
    outcome = CheckOutcome(
        check=item.nodeid.split("::", 1)[-1],
        criterion=marker.args[0],
        title=_title(item),
        weight=float(marker.kwargs.get("weight", 1.0)),
        kind=kind,
        message=message,
        notes=notes,
    )
    item.config.stash[GRADING].outcomes.append(outcome)
    return test_report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """In verbose mode, pytest's own report stays: ours comes after its failures."""
    terminalreporter.section("note du TP")
    terminalreporter.config.stash[GRADING].finish(terminalreporter.write)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.pluginmanager.get_plugin("terminalreporter") is None:  # the default, quiet
        session.config.stash[GRADING].finish()
    if exitstatus == pytest.ExitCode.TESTS_FAILED:
        session.exitstatus = pytest.ExitCode.OK  # a low mark is a result, not a failure


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def grading(request: pytest.FixtureRequest) -> GradingSession:
    return request.config.stash[GRADING]


@pytest.fixture
def notes(request: pytest.FixtureRequest) -> list[str]:
    """Advice shown with the report, without any points lost."""
    notes: list[str] = request.node.stash.setdefault(NOTES, [])
    return notes


@pytest.fixture(autouse=True)
def isolation(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    grading: GradingSession,
    notes: list[str],
) -> Iterator[None]:
    """Student code runs in a scratch folder, offline, and leaves no global state behind."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(sys, "argv", [sys.argv[0]])
    logging_state = LoggingState.capture()
    grading.network.take_blocked()
    yield
    logging_state.restore()
    blocked = grading.network.take_blocked()
    if blocked:
        hosts = ", ".join(sorted(set(blocked)))
        notes.append(f"accès réseau bloqué vers {hosts} : le correcteur travaille hors ligne.")


@pytest.fixture
def async_code(grading: GradingSession) -> StudentCode:
    code = StudentCode(grading.module("async"), "async", grading.hung_parts)
    code.loaded.get()
    return code


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    """An output folder that does not exist yet (its parent does)."""
    return tmp_path / "images"


@pytest.fixture
def nested_output_dir(tmp_path: Path) -> Path:
    """An output folder three levels below anything that exists."""
    return tmp_path / "sortie" / "images" / "lot"
