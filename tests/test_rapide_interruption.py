"""Fast tier: a Ctrl-C before the grade has started (pytest still importing) is answered in French."""

from __future__ import annotations

import io

import pytest

from grader.engine.paths import KIT_ROOT
from grader.tools import grade_command


def _interrupted_while_importing(arguments: list[str]) -> int:
    raise KeyboardInterrupt


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "ascii"])
def test_a_ctrl_c_during_pytest_start_up_gives_the_french_line_and_no_traceback(
    encoding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = io.BytesIO()
    console = io.TextIOWrapper(raw, encoding=encoding, errors="strict")
    monkeypatch.setattr("sys.stderr", console)
    status = grade_command.main(["--target=skeleton"], run=_interrupted_while_importing)
    console.flush()
    shown = raw.getvalue().decode(encoding)
    assert status == grade_command.INTERRUPTED_EXIT and shown.startswith("Correction interrompue (Ctrl-C)"), (
        f"attendu ({encoding}) le code {grade_command.INTERRUPTED_EXIT} et « Correction interrompue » ; "
        f"vu le code {status} et {shown!r}"
    )
    assert "Traceback" not in shown, f"attendu aucune trace Python ; vu {shown!r}"


def test_the_grade_command_passes_the_grader_folder_and_every_option_to_pytest() -> None:
    seen: list[list[str]] = []

    def record(arguments: list[str]) -> int:
        seen.append(arguments)
        return 0

    status = grade_command.main(["--target=solution", "-v"], run=record)
    folder = str(KIT_ROOT / "grader")
    assert status == 0 and seen == [[folder, "--target=solution", "-v"]], (
        f"attendu pytest lancé sur {folder} avec les options reçues ; vu {seen} (code {status})"
    )
