"""Fast tier: ``nox -s progres`` (grader/tools/progres.py) reads the local history and says, in
French, the marks over time and what each grade gained or lost; on any console encoding."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from grader.engine import history
from grader.tools import progres
from tests.goldens import KIT_ROOT

ENTRIES = [
    history.Entry("2026-11-30T10:00:00", "skeleton", 0.0, (), ("sync.download", "sync.errors")),
    history.Entry("2026-11-30T10:20:00", "skeleton", 4.0, ("sync.errors",)),
    history.Entry("2026-11-30T10:40:00", "skeleton", 6.0, ("sync.timing",)),
]


def test_progress_lists_each_grade_with_what_it_gained_and_lost() -> None:
    shown = progres.render(ENTRIES).split("\n")
    expected = [
        "Vos corrections (3 au total, les 3 dernières) :",
        "",
        "  30/11 10:00  skeleton      0/20  première correction de ce dossier",
        "  30/11 10:20  skeleton      4/20  +4 ; réussis : sync.download",
        "  30/11 10:40  skeleton      6/20  +2 ; réussis : sync.errors ; de nouveau perdus : sync.timing",
        "",
        "skeleton : dernière note 6/20, meilleure 6/20.",
        "  À revoir : sync.timing",
    ]
    assert shown == expected, f"attendu les lignes {expected} ; vu {shown}"


def test_progress_without_history_says_how_to_start_one() -> None:
    shown = progres.render([], skipped=1)
    expected = (
        "Aucune correction dans l'historique pour l'instant : lancez poetry run -- nox -s grade\n"
        "(1 ligne(s) illisible(s) ignorée(s) dans .correction/historique.jsonl.)"
    )
    assert shown == expected, f"attendu {expected!r} ; vu {shown!r}"


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_progress_prints_on_any_console_encoding(tmp_path: Path, encoding: str) -> None:
    log = tmp_path / "historique.jsonl"
    for entry in ENTRIES:
        history.append(entry, log)
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    done = subprocess.run(
        [sys.executable, "-m", "grader.tools.progres", "--fichier", str(log)],
        cwd=KIT_ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    output = done.stdout.decode(encoding, errors="strict")
    assert done.returncode == 0 and not done.stderr, (
        f"attendu nox -s progres sans erreur sous {encoding} ; vu le code {done.returncode} et "
        f"{done.stderr.decode(errors='replace')[-500:]!r}"
    )
    accented = "derni" + ("ère" if encoding != "ascii" else "ere")
    assert f"skeleton : {accented} note 6/20" in output, (
        f"attendu « skeleton : {accented} note 6/20 » sous {encoding} ; vu {output!r}"
    )


@pytest.fixture(scope="module")
def noxfile() -> ModuleType:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYENV_VERSION", "system")  # importing must not touch this process's pyenv setup
        patch.syspath_prepend(str(KIT_ROOT))
        return importlib.import_module("noxfile")


def test_the_grade_session_passes_the_history_that_progress_reads(noxfile: ModuleType) -> None:
    assert noxfile.HISTORY_FILE == history.HISTORY_NAME, (
        f"attendu le même historique dans noxfile.py ({noxfile.HISTORY_FILE}) et "
        f"grader/engine/history.py ({history.HISTORY_NAME})"
    )
    assert {"--indices", "--historique"} <= noxfile.OPTIONS_WITH_A_VALUE, (
        "attendu --indices et --historique parmi les options suivies d'une valeur (jamais le dossier)"
    )
    target, rest = noxfile._split_target(["--indices", "tous", "solution"], "skeleton")
    assert (target, rest) == ("solution", ["--indices", "tous"]), (
        f"attendu le dossier solution et --indices tous transmis ; vu {(target, rest)}"
    )
    ignored = (KIT_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/.correction/" in ignored, "attendu .correction/ ignoré par git (.gitignore)"
