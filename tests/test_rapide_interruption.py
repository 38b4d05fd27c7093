"""Fast tier: the grade command starts a plain grade before pytest, and answers a Ctrl-C
during pytest's start-up in French. No process is started: the grade is a stand-in."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from grader.engine.paths import KIT_ROOT
from grader.tools import grade_command


def _interrupted_while_importing(arguments: list[str], started: Future[Any] | None) -> int:
    raise KeyboardInterrupt


class _Starts:
    """Stands in for the background grade: records the folders it was asked to grade."""

    def __init__(self) -> None:
        self.grades: list[grade_command.EarlyGrade] = []

    @property
    def targets(self) -> list[Path]:
        return [grade.target for grade in self.grades]

    def __call__(self, grade: grade_command.EarlyGrade, workers_started: Callable[[], None]) -> Future[Any]:
        self.grades.append(grade)
        workers_started()
        done: Future[Any] = Future()
        done.set_result(None)
        return done


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "ascii"])
def test_a_ctrl_c_during_pytest_start_up_gives_the_french_line_and_no_traceback(
    encoding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = io.BytesIO()
    console = io.TextIOWrapper(raw, encoding=encoding, errors="strict")
    monkeypatch.setattr("sys.stderr", console)
    status = grade_command.main(["--target=skeleton"], run=_interrupted_while_importing, start=_Starts())
    console.flush()
    shown = raw.getvalue().decode(encoding)
    assert status == grade_command.INTERRUPTED_EXIT and shown.startswith("Correction interrompue (Ctrl-C)"), (
        f"attendu ({encoding}) le code {grade_command.INTERRUPTED_EXIT} et « Correction interrompue » ; "
        f"vu le code {status} et {shown!r}"
    )
    assert "Traceback" not in shown, f"attendu aucune trace Python ; vu {shown!r}"


def test_the_grade_command_passes_the_grader_folder_and_every_option_to_pytest() -> None:
    seen: list[list[str]] = []
    starts = _Starts()

    def record(arguments: list[str], started: Future[Any] | None) -> int:
        seen.append(arguments)
        return 0

    status = grade_command.main(["--target=solution", "-v"], run=record, start=starts)
    folder = str(KIT_ROOT / "grader")
    assert status == 0 and seen == [[folder, "--target=solution", "-v"]], (
        f"attendu pytest lancé sur {folder} avec les options reçues ; vu {seen} (code {status})"
    )


def test_a_plain_grade_starts_before_pytest_and_is_handed_to_it() -> None:
    starts = _Starts()
    handed: list[Future[Any] | None] = []

    def record(arguments: list[str], started: Future[Any] | None) -> int:
        handed.append(started)
        assert starts.targets, "attendu la correction lancée avant pytest ; vu pytest lancé d'abord"
        return 0

    grade_command.main(["--target=solution", "--historique=h.jsonl", "-v"], run=record, start=starts)
    assert starts.targets == [KIT_ROOT / "solution"] and handed and handed[0] is not None, (
        f"attendu solution/ corrigé dès le départ et la correction remise à pytest ; "
        f"vu {starts.targets} et {handed}"
    )
    assert starts.grades[0].only is None, f"attendu tous les scénarios joués ; vu {starts.grades[0].only}"


def test_one_part_starts_before_pytest_with_every_scenario_of_that_part_only() -> None:
    starts = _Starts()
    grade_command.main(["--target=solution", "--partie", "1"], run=lambda arguments, started: 0, start=starts)
    only = starts.grades[0].only if starts.grades else None
    assert only is not None and set(only) == {"sync"} and "timing_long" in only["sync"], (
        f"attendu la partie 1 seule lancée avant pytest, avec tous ses scénarios ; vu {only}"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--target=solution", "--critere=sync.errors"],
        ["--target=solution", "--partie", "3"],
        ["--target=solution", "--rejouer", "observations.json"],
        ["--target=solution", "-k", "sync"],
        ["--target=solution", "-m", "criterion"],
        ["--target=dossier_inexistant"],
        ["--target=solution", "--partie"],
        ["-v"],
    ],
)
def test_what_the_plugin_must_check_or_refuse_is_not_started_early(argv: list[str]) -> None:
    starts = _Starts()
    grade_command.main(argv, run=lambda arguments, started: 0, start=starts)
    assert starts.targets == [], (
        f"attendu aucune correction lancée avant pytest pour {argv} ; vu {starts.targets}"
    )


def test_pytest_is_told_once_when_every_part_has_its_worker_ready() -> None:
    from grader.engine.supervisor import WorkersStarted

    told: list[str] = []
    started = WorkersStarted(["sync", "async"], lambda: told.append("prêts"))
    started.part_ready("sync")
    started.part_ready("sync")  # its part over after its worker said hello: already counted
    assert told == [], f"attendu aucun signal tant que la partie 2 n'a pas démarré ; vu {told}"
    started.part_ready("async")
    started.part_ready("async")
    assert told == ["prêts"], f"attendu un seul signal une fois les deux parties prêtes ; vu {told}"
