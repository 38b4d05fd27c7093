"""The grader's pytest plugin: the supervisor side. It never imports a submission.

``pytest grader --target=DIR --results=FILE`` starts the workers as soon as pytest is
configured (they run while the checks are collected), then each check judges the
observations, and this plugin alone turns outcomes into the mark, the console report
and results.json.
"""

from __future__ import annotations

import difflib
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pytest

from grader.engine import (
    background,
    evidence,
    grade_hints,
    hints,
    history,
    reflection,
    report,
    syntax,
    verbose,
)
from grader.engine.criteria import BY_ID
from grader.engine.observations import PartView, part_notes
from grader.engine.outcomes import Broken, CheckOutcome, Kind, Lost, NotDone
from grader.engine.paths import PART_FILES, resolve_target, shown_path
from grader.engine.selection import Selection, UnknownSelection
from grader.engine.selection import parse as parse_selection
from grader.engine.statuses import INTERRUPTED
from grader.engine.text import for_console as text_for_console

if TYPE_CHECKING:
    from grader.engine import recording, runs

OUTCOMES = pytest.StashKey[list[CheckOutcome]]()
GRADE = pytest.StashKey["Future[runs.GradeRun]"]()
SETTINGS = pytest.StashKey[dict[str, Any]]()
NOTES = pytest.StashKey[list[str]]()
# The criteria as scored at the end: what watch mode shows (grader/tools/watch_runner.py).
RESULTS = pytest.StashKey[list[report.CriterionResult]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "Correcteur du TP")
    group.addoption(
        "--target", default="skeleton", help="dossier à corriger : skeleton (défaut), solution, ou un chemin"
    )
    group.addoption(
        "--results", default="results.json", help="fichier JSON des résultats (défaut : results.json)"
    )
    group.addoption("--checks", default=None, help="fichier JSON du résultat de chaque vérification")
    group.addoption(
        "--partie",
        action="append",
        default=[],
        metavar="PARTIE",
        help="ne corrige que cette partie : sync (ou 1) ou async (ou 2) ; la note ne porte que sur elle",
    )
    group.addoption(
        "--critere",
        action="append",
        default=[],
        metavar="CRITERE",
        help="ne corrige que ce critère (ex. sync.errors), répétable ou séparés par des virgules",
    )
    group.addoption(
        "--enregistrer",
        default=None,
        metavar="FICHIER",
        help="pour les mainteneurs du kit : enregistre toutes les observations de la correction "
        "dans FICHIER (JSON), pour la juger de nouveau avec --rejouer",
    )
    group.addoption(
        "--rejouer",
        default=None,
        metavar="FICHIER",
        help="pour les mainteneurs du kit : juge les observations enregistrées dans FICHIER "
        "(par --enregistrer) sans lancer aucun processus ; --target est alors ignoré",
    )
    group.addoption(
        "--historique",
        default=None,
        metavar="FICHIER",
        help="historique local des corrections (nox -s grade le donne : .correction/historique.jsonl) : "
        "lu pour approfondir les indices, complété d'une ligne ; sans cette option, rien n'est lu ni écrit",
    )
    group.addoption(
        "--indices",
        default=hints.AUTO_LEVELS,
        metavar="tous",
        help="« tous » : affiche les trois niveaux d'indice de chaque critère perdu, sans attendre",
    )


def _console() -> TextIO:
    """The real standard output, whatever capture is active."""
    return sys.__stdout__ or sys.stdout


def missing_folder_message(asked: str, target: Path) -> str:
    """French: the folder does not exist, and the folders here that could be meant."""
    here = Path.cwd()
    candidates = sorted(
        entry.name
        for entry in here.iterdir()
        if entry.is_dir() and any((entry / name).is_file() for name in PART_FILES.values())
    )
    close = difflib.get_close_matches(asked, candidates, n=3, cutoff=0.4)
    shown = close or candidates[:5]
    hint = f" Vouliez-vous dire : {', '.join(shown)} ?" if shown else ""
    return (
        f"Le dossier à corriger « {asked} » n'existe pas ({target}).{hint} Un dossier corrigé contient "
        f"{' et '.join(PART_FILES.values())}."
    )


def start_grading(target: Path, selection: Selection | None) -> Future[runs.GradeRun]:
    """Starts the grade of ``target`` in a thread; the future gives its observations."""
    only = None
    if selection is not None:
        from grader.checks.marks import scenarios_by_criterion

        only = selection.scenarios(scenarios_by_criterion())
    return background.start_grade(target, only)


class StartedGrade:
    """Hands this plugin a grade started before pytest, for the same folder and selection."""

    def __init__(self, grade: Future[runs.GradeRun]) -> None:
        self.grade = grade

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[GRADE] = self.grade


def _replayed(path: Path) -> recording.Recording:
    """The recorded grade to judge again (maintainers: tests/goldens)."""
    from grader.engine import recording  # the supervisor's modules: imported only when needed

    try:
        return recording.load_recording(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, recording.RecordingError) as error:
        raise pytest.UsageError(f"--rejouer : {path} illisible : {error}") from error


def _record(path: Path, grade_run: runs.GradeRun | None, answer: reflection.Reflection) -> str:
    """Writes the observations for --rejouer; returns the French line that says where."""
    from grader.engine import recording

    if grade_run is None:
        return "Observations non enregistrées : la correction n'a pas abouti."
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(recording.dump_grade_run(grade_run, answer), encoding="utf-8")
    except (OSError, recording.RecordingError) as error:
        return f"Observations non enregistrées dans {path} : {error}"
    return f"Observations enregistrées : {path}"


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "criterion(id, weight=1.0): critère du barème noté par cette vérification"
    )
    config.addinivalue_line(
        "markers",
        "observed_outside: vérification fondée sur les seuls faits observés hors de l'ouvrier "
        "(serveur local, disque) ; les autres ne comptent qu'une fois le travail observé",
    )
    if config.option.keyword or config.option.markexpr:
        # A subset of checks would give a mark on part of the scale, presented as a mark out of 20.
        raise pytest.UsageError(
            "Les options de sélection de pytest (-k, -m) ne s'appliquent pas au correcteur : la note "
            "porte toujours sur les deux parties. Pour corriger un autre dossier : "
            "poetry run -- nox -s grade -- DOSSIER"
        )
    if config.getoption("--indices") not in (hints.AUTO_LEVELS, hints.ALL_LEVELS):
        raise pytest.UsageError(
            f"--indices {config.getoption('--indices')} : valeur inconnue. Pour voir tous les niveaux "
            "d'indice : poetry run -- nox -s grade -- DOSSIER --indices tous"
        )
    checks, record, replay = (config.getoption(name) for name in ("--checks", "--enregistrer", "--rejouer"))
    start = time.perf_counter()
    try:
        selection = parse_selection(config.getoption("--partie"), config.getoption("--critere"))
    except UnknownSelection as error:
        raise pytest.UsageError(_for_stderr(str(error))) from error
    if replay:
        recorded = _replayed(Path(replay))
        target, answer = recorded.grade_run.target, recorded.answer
        config.stash[GRADE] = Future()
        config.stash[GRADE].set_result(recorded.grade_run)
    else:
        target, answer = resolve_target(config.getoption("--target")), None
        if not target.is_dir():
            raise pytest.UsageError(missing_folder_message(str(config.getoption("--target")), target))
        if GRADE not in config.stash:  # else started before pytest (StartedGrade)
            config.stash[GRADE] = start_grading(target, selection)
    config.stash[SETTINGS] = {
        "target": target,
        "answer": answer,  # recorded with the observations; else read in the target at the end
        "results": Path(config.getoption("--results")).absolute(),
        "checks": Path(checks).absolute() if checks else None,
        "record": Path(record).absolute() if record else None,
        "history": Path(config.getoption("--historique")).absolute()
        if config.getoption("--historique")
        else None,
        "all_hints": config.getoption("--indices") == hints.ALL_LEVELS,
        "start": start,
        "selection": selection,
        "reported": False,
    }
    config.stash[OUTCOMES] = []
    # pytest's own report is about the grader's checks, never the student's code, -v or not:
    # with -v, the report starts with what each scenario did (grader/engine/verbose.py).
    config.option.tbstyle = "no"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        config.pluginmanager.unregister(reporter)


def _for_stderr(message: str) -> str:
    """A French usage message as the error stream can print it (cp1252, ascii…)."""
    stream = sys.__stderr__ or sys.stderr
    return text_for_console(message, getattr(stream, "encoding", None))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("criterion")
        if marker is None or marker.args[0] not in BY_ID:
            raise pytest.UsageError(f"{item.nodeid} : marqueur criterion absent ou inconnu")
    selection: Selection | None = config.stash[SETTINGS]["selection"]
    if selection is not None:  # « --partie », « --critere »: the other checks do not run
        kept = [item for item in items if selection.covers(_criterion_of(item))]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


def _criterion_of(item: pytest.Item) -> str:
    marker = item.get_closest_marker("criterion")
    assert marker is not None
    return str(marker.args[0])


def _outcome(error: BaseException) -> tuple[Kind, str, str, str]:
    """(kind, message, todo, cause) for what a check raised."""
    if isinstance(error, Lost):
        return Kind.LOST, str(error), "", ""
    if isinstance(error, NotDone):
        return Kind.NOT_DONE, f"pas encore fait ({error.todo})", error.todo, ""
    if isinstance(error, Broken):
        hint = f"\nPiste : {error.hint}" if error.hint else ""
        return Kind.BROKEN, f"{error.cause}{hint}", "", error.cause
    detail = f"{type(error).__name__} : {error}"
    return Kind.BROKEN, f"erreur inattendue du correcteur : {detail}", "", detail


NOT_CORROBORATED_HINT = (
    "Ce point ne compte qu'une fois le même travail observé par la correction elle-même (serveur "
    "local, disque, console) : faites d'abord fonctionner main() sur de vraies URL."
)


def _unless_corroborated(item: pytest.Item, criterion: str) -> tuple[Kind, str, str, str]:
    """A passed check that judged the worker's claims counts only if observed facts agree."""
    future = item.config.stash[GRADE]
    if not future.done() or future.exception() is not None:
        return Kind.PASSED, "", "", ""
    run = future.result().parts[BY_ID[criterion].part]
    missing = evidence.corroborated(run, criterion)
    if not missing:
        return Kind.PASSED, "", "", ""
    observed = f"{hints.UNCORROBORATED} : {missing}."
    return Kind.LOST, str(Lost(observed, NOT_CORROBORATED_HINT)), "", observed


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
    kind, message, todo, cause = (
        (Kind.PASSED, "", "", "") if call.excinfo is None else _outcome(call.excinfo.value)
    )
    if kind is Kind.PASSED and item.get_closest_marker("observed_outside") is None:
        kind, message, todo, cause = _unless_corroborated(item, marker.args[0])
    item.config.stash[OUTCOMES].append(
        CheckOutcome(
            check=item.nodeid.split("::", 1)[-1],
            criterion=marker.args[0],
            title=_title(item),
            weight=float(marker.kwargs.get("weight", 1.0)),
            kind=kind,
            message=message,
            todo=todo,
            cause=cause,
            notes=item.stash.get(NOTES, []),
        )
    )
    return test_report


def _finish(config: pytest.Config, exitstatus: int) -> None:
    settings = config.stash[SETTINGS]
    if settings["reported"]:
        return
    settings["reported"] = True
    if exitstatus == pytest.ExitCode.INTERRUPTED:  # Ctrl-C: what was judged so far is not a mark
        console = _console()
        console.write(text_for_console(INTERRUPTED + "\n", getattr(console, "encoding", None)))
        console.flush()
        return
    future = config.stash[GRADE]
    grade_run = future.result() if future.done() and future.exception() is None else None
    failure = future.exception() if future.done() else None
    outcomes = config.stash[OUTCOMES]
    if grade_run is not None:
        _attach_part_notes(outcomes, grade_run)
    if failure is not None or not outcomes:
        reason = f"{type(failure).__name__} : {failure}" if failure else "aucune vérification n'a tourné"
        outcomes = report.unfinished(f"la correction n'a pas pu aboutir ({reason})")
    results = report.score_criteria(outcomes)
    selection: Selection | None = settings["selection"]
    if selection is not None:
        results = [result for result in results if selection.covers(result.criterion.id)]
    config.stash[RESULTS] = results
    seconds = time.perf_counter() - settings["start"]
    target = settings["target"]
    answer = settings["answer"] or reflection.read_answer(target)
    graded = failure is None and bool(config.stash[OUTCOMES])
    # A partial grade is not a mark of the TP: the local history (marks, hint levels) skips it.
    history = settings["history"] if selection is None else None
    hinted = grade_hints.for_grade(
        results, grade_run, shown_path(target), history, settings["all_hints"], graded
    )
    text = report.render_console(
        results,
        f"{shown_path(target)}{os.sep}",
        grade_run,
        answer,
        hinted.deeper,
        hinted.levels_line,
        selection,
    )
    extra = report.extra_data(results, grade_run, answer)
    if selection is not None:
        extra["selection"] = selection.as_json()
    try:
        report.write_results(results, settings["results"], text, seconds, extra, syntax.problems(grade_run))
        where = f"Résultats détaillés : {settings['results']}"
    except report.ResultsNotWritten as error:
        where = str(error)
    if settings["checks"] is not None:
        report.write_checks(outcomes, settings["checks"])
    if settings["record"] is not None:
        where += "\n" + _record(settings["record"], grade_run, answer)
    if hinted.entry is not None:
        where += _remember(settings["history"], hinted.entry)
    console = _console()
    details = verbose.render(grade_run) if config.option.verbose > 0 else ""
    shown = text_for_console(
        (f"{details}\n" if details else "") + text + f"\n\n{where}\n", getattr(console, "encoding", None)
    )
    console.write(shown)
    _console().flush()


def _remember(path: Path, entry: history.Entry) -> str:
    """Appends the grade to the local history; the French line to add when it fails."""
    try:
        history.append(entry, path)
    except OSError as error:
        return f"\nHistorique non complété ({path}) : {error}"
    return ""


def _attach_part_notes(outcomes: list[CheckOutcome], grade_run: runs.GradeRun) -> None:
    for part, run in grade_run.parts.items():
        first = next((o for o in outcomes if o.criterion == f"{part}.download"), None)
        if first is not None:
            first.notes = list(dict.fromkeys([*first.notes, *part_notes(run)]))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _finish(session.config, exitstatus)
    if exitstatus == pytest.ExitCode.TESTS_FAILED:
        session.exitstatus = pytest.ExitCode.OK  # a low mark is a result, not a failure


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def grade_run(request: pytest.FixtureRequest) -> runs.GradeRun:
    """Every observation of this grade (the workers started when pytest was configured)."""
    return request.config.stash[GRADE].result()


@pytest.fixture
def notes(request: pytest.FixtureRequest) -> list[str]:
    """Advice shown with the report, without any points lost."""
    found: list[str] = request.node.stash.setdefault(NOTES, [])
    return found


@pytest.fixture
def view(part: str, grade_run: runs.GradeRun) -> PartView:
    return PartView(grade_run.parts[part])
