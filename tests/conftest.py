"""Grades the catalogue's folders once per session, and prints the catalogue table at the end."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from pathlib import Path

import pytest

from tests.attack_harness import ATTACK_BATCH, describe
from tests.catalogue import CATALOGUE, PART_CRITERIA, Grade, all_targets, full_marks, grade_all
from tests.pristine import pristine_skeleton

GRADES = pytest.StashKey[dict[str, Grade]]()


def _needed_keys(items: Iterable[pytest.Item]) -> list[str]:
    keys: dict[str, None] = {}
    for item in items:
        for marker in item.iter_markers("grades"):
            keys.update(dict.fromkeys(marker.args))
    return list(keys)


def _progress_writer(config: pytest.Config) -> Callable[[str], None]:
    """Writes a line to the terminal under -v, even while pytest captures the fixture's output."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or config.option.verbose <= 0:
        return lambda line: None

    def write(line: str) -> None:
        suspended = capture.global_and_fixture_disabled() if capture is not None else nullcontext()
        with suspended:
            reporter.write_line(line)
            reporter.flush()

    return write


@pytest.fixture(scope="session")
def grades(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Grade]:
    """Grades, in parallel, every folder that the selected tests read."""
    targets = all_targets(CATALOGUE.mutants, CATALOGUE.variants)
    wanted = [targets[key] for key in _needed_keys(request.session.items) if key in targets]
    say = _progress_writer(request.config)
    say(f"\nCorrection de {len(wanted)} dossier(s) du catalogue, 2 à la fois :")

    def progress(grade: Grade, done: int, total: int) -> None:
        score = "pas de résultat" if grade.score is None else f"{grade.score:g}/{full_marks():g}"
        say(f"  correction {done}/{total} : {grade.key} → {score} ({grade.elapsed:.1f} s)")

    results = grade_all(wanted, tmp_path_factory.mktemp("correction"), on_done=progress)
    request.config.stash[GRADES] = results
    return results


# --- the untouched skeleton ---------------------------------------------------------------


@pytest.fixture(scope="session")
def skeleton_dir() -> Path:
    """skeleton/ as committed (git HEAD), never the working copy a student may have filled in."""
    pristine = pristine_skeleton()
    if pristine.notice is not None:
        warnings.warn(pytest.PytestWarning(pristine.describe()), stacklevel=1)
    return pristine.folder


def pytest_report_header(config: pytest.Config) -> str:
    return pristine_skeleton().describe()


# --- the catalogue table -------------------------------------------------------------------


def _ids(criteria: Iterable[str]) -> str:
    """Criterion ids, a whole part's shortened to « sync.* (tout) »."""
    remaining = set(criteria)
    shown = []
    for part, ids in PART_CRITERIA.items():
        if ids <= remaining:
            shown.append(f"{part}.* (tout)")
            remaining -= ids
    return ", ".join(shown + sorted(remaining)) or "—"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    batch = config.stash.get(ATTACK_BATCH, None)
    if batch is not None:
        terminalreporter.write_sep("=", f"catalogue des attaques ({batch.seconds:.0f} s)")
        for run in batch.runs.values():
            terminalreporter.write_line(describe(run), red=bool(run.violations))
    results = config.stash.get(GRADES, None)
    if not results:
        return
    write = terminalreporter.write_line
    mutants = [m for m in CATALOGUE.mutants if m.key in results]
    if mutants:
        terminalreporter.write_sep("=", "catalogue des mutants")
        width = max(len(m.name) for m in mutants)
        write(f"{'mutant':<{width}} | critères perdus attendus | critères perdus observés | verdict")
        for mutant in mutants:
            grade = results[mutant.key]
            if not grade.ok:
                write(f"{mutant.name:<{width}} | {_ids(mutant.loses)} | (pas de résultat) | pas ok")
                continue
            verdict = "ok" if grade.lost == mutant.loses else "pas ok"
            write(
                f"{mutant.name:<{width}} | {_ids(mutant.loses)} | {_ids(grade.lost)} | {verdict}",
                red=verdict != "ok",
            )
    variants = [v for v in CATALOGUE.variants if v.key in results]
    others = [key for key in ("solution", "skeleton") if key in results]
    if variants or others:
        terminalreporter.write_sep("=", "variantes acceptées, solution et squelette")
        for key in others:
            grade = results[key]
            score = "pas de résultat" if grade.score is None else f"{grade.score:g}/{full_marks():g}"
            write(f"{key} : {score} ({grade.elapsed:.1f} s)")
        for variant in variants:
            grade = results[variant.key]
            score = "pas de résultat" if grade.score is None else f"{grade.score:g}/{full_marks():g}"
            verdict = "ok" if grade.score == full_marks() else f"pas ok, perd {_ids(grade.lost)}"
            write(f"{variant.name} : {score} — {verdict}", red=verdict != "ok")
    slowest = max(results.values(), key=lambda grade: grade.elapsed)
    total = sum(grade.elapsed for grade in results.values())
    write(
        f"{len(results)} correction(s), {total:.0f} s cumulées ; la plus longue : "
        f"{slowest.key} ({slowest.elapsed:.1f} s)"
    )
