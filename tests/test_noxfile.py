"""noxfile.py: a forgotten « -- » gets a French explanation, and nox's uv probe stays silent."""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
from types import ModuleType

import pytest

from grader.engine.paths import KIT_ROOT

KNOWN = {"grade", "demo", "tests", "grade_pythons"}


@pytest.fixture(scope="module")
def noxfile() -> ModuleType:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(KIT_ROOT))
        return importlib.import_module("noxfile")


def _nox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nox", *args],
        cwd=KIT_ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("argv", "asked"),
    [
        (["nox", "-s", "grade"], ["grade"]),
        (["nox", "-s", "grade", "variante"], ["grade", "variante"]),
        (["nox", "-s", "grade", "--", "variante", "-v"], ["grade"]),
        (["nox", "--sessions", "grade", "demo", "-r"], ["grade", "demo"]),
        (["nox", "-e", "grade", "-v", "solution"], ["grade"]),
        (["nox", "--session=grade,demo"], ["grade", "demo"]),
        (["nox"], []),
    ],
)
def test_sessions_asked(noxfile: ModuleType, argv: list[str], asked: list[str]) -> None:
    seen = noxfile.sessions_asked(argv)
    assert seen == asked, f"attendu les sessions {asked} pour {argv} ; vu {seen}"


@pytest.mark.parametrize(
    "argv",
    [["nox"], ["nox", "-s", "grade", "--", "solution"], ["nox", "-s", "grade_pythons-3.13"], ["nox", "-l"]],
)
def test_valid_command_lines_get_no_message(noxfile: ModuleType, argv: list[str]) -> None:
    message = noxfile.misplaced_arguments_message(argv, KNOWN)
    assert message is None, f"attendu aucun message pour {argv} ; vu {message!r}"


def test_folder_without_double_dash_gets_the_right_command(noxfile: ModuleType) -> None:
    message = noxfile.misplaced_arguments_message(["nox", "-s", "grade", "rendus/dupont", "-v"], KNOWN)
    expected = "poetry run -- nox -s grade -- rendus/dupont"
    assert message is not None and "« rendus/dupont » n'est pas une session nox" in message, (
        f"attendu l'explication en français pour rendus/dupont ; vu {message!r}"
    )
    assert expected in message, f"attendu la commande {expected!r} ; vu {message!r}"


def test_unknown_session_lists_the_available_ones(noxfile: ModuleType) -> None:
    message = noxfile.misplaced_arguments_message(["nox", "-s", "grad"], KNOWN)
    expected = "Session nox inconnue : grad. Sessions disponibles : demo, grade, grade_pythons, tests."
    assert message == expected, f"attendu {expected!r} ; vu {message!r}"


def test_nox_itself_stops_with_the_french_message() -> None:
    done = _nox("-s", "grade", "variante")
    assert done.returncode == 2 and "poetry run -- nox -s grade -- variante" in done.stderr, (
        "attendu le code 2 et la commande corrigée ; "
        f"vu le code {done.returncode}, sortie d'erreur : {done.stderr[-400:]!r}"
    )
    assert "Sessions not found" not in done.stderr, (
        f"attendu aucun message anglais ; vu {done.stderr[-400:]!r}"
    )


def test_a_session_run_says_nothing_about_uv() -> None:
    # Any session makes nox probe for uv (see _HideUvProbe); the demo's --help is the quickest.
    done = _nox("-s", "demo", "--", "--help")
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Running session demo" in output, (
        f"attendu la session demo lancée (code 0) ; vu le code {done.returncode} : {output[-400:]!r}"
    )
    assert "uv binary not found" not in output, f"attendu aucune ligne sur uv ; vu {output[-400:]!r}"


def test_uv_probe_line_is_filtered(noxfile: ModuleType) -> None:
    record = logging.LogRecord("nox", logging.INFO, __file__, 1, "uv binary not found.", None, None)
    other = logging.LogRecord("nox", logging.INFO, __file__, 1, "Running session grade", None, None)
    kept = [noxfile._HideUvProbe().filter(r) for r in (record, other)]
    assert kept == [False, True], f"attendu [masquée, gardée] pour (sonde uv, autre ligne) ; vu {kept}"


@pytest.mark.parametrize(
    ("posargs", "folder", "rest"),
    [
        (["-k", "sync"], "skeleton", ["-k", "sync"]),
        (["solution", "-v"], "solution", ["-v"]),
        (["--results", "notes.json", "rendus/dupont"], "rendus/dupont", ["--results", "notes.json"]),
        (["--partie", "sync"], "skeleton", ["--partie", "sync"]),
        (["--critere", "sync.errors", "solution"], "solution", ["--critere", "sync.errors"]),
    ],
)
def test_an_option_value_is_never_taken_for_the_folder(
    noxfile: ModuleType, posargs: list[str], folder: str, rest: list[str]
) -> None:
    seen = noxfile._split_target(posargs, "skeleton")
    assert seen == (folder, rest), f"Attendu : dossier {folder!r}, reste {rest} ; vu : {seen}"


def test_importing_the_noxfile_changes_no_environment_variable() -> None:
    probe = (
        "import os, sys, importlib; before = dict(os.environ); sys.path.insert(0, sys.argv[1]); "
        "importlib.import_module('noxfile'); "
        "print(sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)))"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYENV_VERSION"}
    seen = subprocess.run(
        [sys.executable, "-c", probe, str(KIT_ROOT)], capture_output=True, text=True, env=env, timeout=60
    )
    assert seen.returncode == 0 and seen.stdout.strip() == "[]", (
        f"attendu aucune variable d'environnement modifiée à l'import de noxfile.py ; vu {seen.stdout!r} "
        f"{seen.stderr[-300:]!r}"
    )


def test_an_interpreter_is_found_only_if_it_runs_the_asked_version(noxfile: ModuleType) -> None:
    current = f"{sys.version_info[0]}.{sys.version_info[1]}"
    found = noxfile.find_interpreter(current)
    assert found is not None, f"attendu un interpréteur Python {current} trouvé ; vu aucun"
    assert noxfile.find_interpreter("2.1") is None, "attendu aucun interpréteur pour Python 2.1"
