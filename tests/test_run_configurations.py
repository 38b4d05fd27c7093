"""PyCharm's shared run configurations (.run/*.run.xml): each points at something that runs.

Each configuration is executed the way PyCharm would run it: the project interpreter (here,
the current one), ``python -m MODULE PARAMETERS`` or ``python SCRIPT PARAMETERS``, from the
project root. The runs happen in a copy of the project whose skeleton/ is the committed one
(tests/pristine.py), so the expected results do not depend on a student's work: the grade of
the skeleton says 0/20, the part scripts stop on their first TODO. The part scripts would try
to reach the Internet once finished; they run without network (``unshare -n``) when possible.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.engine.paths import KIT_ROOT
from tests.pristine import pristine_skeleton
from tests.watch_driver import GRADES_DONE, WatchProcess

RUN_DIR = KIT_ROOT / ".run"
PROJECT_DIR = "$PROJECT_DIR$"
RUN_TIMEOUT = 90.0
# What a project copy needs to run nox's sessions: the rest of the kit is not involved.
PROJECT_FILES = ("noxfile.py", "pyproject.toml", "conftest.py")
PROJECT_FOLDERS = ("grader", "solution")


@dataclass(frozen=True)
class RunConfiguration:
    file: str
    name: str
    type: str
    factory: str
    options: dict[str, str]
    envs: dict[str, str]

    @property
    def module_mode(self) -> bool:
        return self.options.get("MODULE_MODE") == "true"

    @property
    def target(self) -> str:
        return self.options.get("SCRIPT_NAME", "")

    @property
    def parameters(self) -> list[str]:
        return shlex.split(self.options.get("PARAMETERS", ""))


def load(path: Path) -> RunConfiguration:
    root = ET.parse(path).getroot()
    assert root.tag == "component" and root.get("name") == "ProjectRunConfigurationManager", (
        f'{path.name} : attendu <component name="ProjectRunConfigurationManager"> ; '
        f"vu <{root.tag} name={root.get('name')!r}>"
    )
    configuration = root.find("configuration")
    assert configuration is not None, f"{path.name} : attendu un élément <configuration> ; vu aucun"
    options = {option.get("name", ""): option.get("value", "") for option in configuration.findall("option")}
    envs = {env.get("name", ""): env.get("value", "") for env in configuration.iterfind("envs/env")}
    return RunConfiguration(
        path.name,
        configuration.get("name", ""),
        configuration.get("type", ""),
        configuration.get("factoryName", ""),
        options,
        envs,
    )


CONFIGURATIONS = {config.name: config for config in map(load, sorted(RUN_DIR.glob("*.xml")))}
EXPECTED = {
    "Correction (skeleton)": ("nox", ["-s", "grade", "--", "skeleton"]),
    "Correction (solution)": ("nox", ["-s", "grade", "--", "solution"]),
    "Correction en continu": ("nox", ["-s", "watch", "--", "skeleton"]),
    "Démonstration": ("nox", ["-s", "demo", "--", "skeleton"]),
    "Partie 1 : sync_downloader": (f"{PROJECT_DIR}/skeleton/sync_downloader.py", []),
    "Partie 2 : async_downloader": (f"{PROJECT_DIR}/skeleton/async_downloader.py", []),
}


def test_the_six_configurations_are_shipped() -> None:
    assert sorted(CONFIGURATIONS) == sorted(EXPECTED), (
        f"attendu les configurations {sorted(EXPECTED)} dans .run/ ; vu {sorted(CONFIGURATIONS)}"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_configuration_uses_the_project_interpreter_from_the_project_root(name: str) -> None:
    config = CONFIGURATIONS[name]
    seen = (config.type, config.factory)
    assert seen == ("PythonConfigurationType", "Python"), (
        f"{config.file} : attendu une configuration Python (PythonConfigurationType/Python) ; vu {seen}"
    )
    interpreter = (config.options.get("SDK_HOME"), config.options.get("IS_MODULE_SDK"))
    assert interpreter == ("", "true"), (
        f"{config.file} : attendu l'interpréteur du projet (SDK_HOME vide, IS_MODULE_SDK true) ; "
        f"vu {interpreter}"
    )
    directory = config.options.get("WORKING_DIRECTORY")
    assert directory == PROJECT_DIR, (
        f"{config.file} : attendu WORKING_DIRECTORY {PROJECT_DIR} ; vu {directory!r}"
    )
    expected_target, expected_parameters = EXPECTED[name]
    seen_run = (config.target, config.parameters, config.module_mode)
    expected_run = (expected_target, expected_parameters, expected_target == "nox")
    assert seen_run == expected_run, (
        f"{config.file} : attendu (SCRIPT_NAME, PARAMETERS, MODULE_MODE) = {expected_run} ; vu {seen_run}"
    )
    if config.module_mode:
        spec = importlib.util.find_spec(config.target)
        assert spec is not None, f"{config.file} : attendu un module {config.target} installé ; vu aucun"
    else:
        script = Path(config.target.replace(PROJECT_DIR, str(KIT_ROOT)))
        assert script.is_file(), f"{config.file} : attendu le script {script} ; il n'existe pas"


# --- running them --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project as PyCharm would see it, with the committed skeleton instead of the working copy."""
    copy = tmp_path_factory.mktemp("projet")
    for name in PROJECT_FILES:
        shutil.copy2(KIT_ROOT / name, copy / name)
    for name in PROJECT_FOLDERS:
        shutil.copytree(KIT_ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(pristine_skeleton().folder, copy / "skeleton")
    return copy


def _offline_prefix() -> tuple[list[str], str | None]:
    """``unshare -n`` (a private network namespace, loopback only) when it works here."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return [], "unshare introuvable"
    try:
        probe = subprocess.run([unshare, "-n", "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return [], f"unshare -n impossible ({error})"
    if probe.returncode != 0:
        return [], f"unshare -n refusé ({probe.stderr.decode(errors='replace').strip()})"
    return [unshare, "-n", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "sh"], None


def pycharm_command(config: RunConfiguration, project: Path) -> tuple[list[str], dict[str, str]]:
    """The command line and environment PyCharm would use for ``config`` in ``project``."""
    target = config.target.replace(PROJECT_DIR, str(project))
    command = [sys.executable, *(["-m", target] if config.module_mode else [target]), *config.parameters]
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    env.update(config.envs)
    env["PYTHONPATH"] = str(project)  # ADD_CONTENT_ROOTS: PyCharm puts the project root on the path
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return command, env


def run_like_pycharm(
    config: RunConfiguration, project: Path, prefix: list[str]
) -> subprocess.CompletedProcess[str]:
    command, env = pycharm_command(config, project)
    return subprocess.run(
        [*prefix, *command],
        cwd=config.options["WORKING_DIRECTORY"].replace(PROJECT_DIR, str(project)),
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=RUN_TIMEOUT,
        check=False,
    )


def _tail(done: subprocess.CompletedProcess[str]) -> str:
    return "\n".join((done.stdout + done.stderr).strip().splitlines()[-12:])


@pytest.mark.parametrize(
    ("name", "mark"), [("Correction (skeleton)", "Note : 0/20"), ("Correction (solution)", "Note : 20/20")]
)
def test_grade_configuration_prints_the_mark(name: str, mark: str, project_copy: Path) -> None:
    done = run_like_pycharm(CONFIGURATIONS[name], project_copy, [])
    assert done.returncode == 0 and mark in done.stdout, (
        f"« {name} » : attendu le code de sortie 0 et la ligne « {mark} » ; "
        f"vu le code {done.returncode}, fin de la sortie :\n{_tail(done)}"
    )


def test_demo_configuration_says_the_untouched_skeleton_is_not_finished(project_copy: Path) -> None:
    done = run_like_pycharm(CONFIGURATIONS["Démonstration"], project_copy, [])
    expected = [
        "skeleton/sync_downloader.py n'est pas encore terminé : TODO 1 : setup_logging",
        "skeleton/async_downloader.py n'est pas encore terminé : TODO 4 : setup_logging",
        "À copier dans REPONSES.md",
    ]
    missing = [text for text in expected if text not in done.stdout]
    assert done.returncode == 1 and not missing and "Traceback" not in done.stdout, (
        f"« Démonstration » sur le squelette intact : attendu le code 1, sans trace, avec {expected} ; "
        f"vu le code {done.returncode}, absents {missing}, fin de la sortie :\n{_tail(done)}"
    )


@pytest.mark.parametrize(
    ("name", "todo"),
    [
        ("Partie 1 : sync_downloader", "TODO 1 : setup_logging"),
        ("Partie 2 : async_downloader", "TODO 4 : setup_logging"),
    ],
)
def test_part_configuration_stops_on_the_first_todo(name: str, todo: str, project_copy: Path) -> None:
    prefix, why_not = _offline_prefix()
    # Without unshare the run still cannot reach the network: the untouched skeleton raises in
    # setup_logging(), before main() sends any request.
    done = run_like_pycharm(CONFIGURATIONS[name], project_copy, prefix)
    expected = f"NotImplementedError: {todo}"
    offline = "sans réseau (unshare -n)" if not why_not else f"avec le réseau de la machine ({why_not})"
    assert done.returncode == 1 and expected in done.stderr, (
        f"« {name} » lancé {offline} : attendu un arrêt sur « {expected} » (code 1) ; "
        f"vu le code {done.returncode}, fin de la sortie :\n{_tail(done)}"
    )


def test_watch_configuration_shows_the_skeleton_verdict_and_quits_on_ctrl_c(project_copy: Path) -> None:
    command, env = pycharm_command(CONFIGURATIONS["Correction en continu"], project_copy)
    watcher = WatchProcess(command, project_copy, env)
    try:
        shown = watcher.wait_for(GRADES_DONE.format(count=1), RUN_TIMEOUT)
    finally:
        code = watcher.quit(RUN_TIMEOUT)
    output = watcher.text()
    expected = ["Note : 0/20", "pas encore fait", "Correction en continu arrêtée. Dernière note : 0/20"]
    missing = [text for text in expected if text not in output]
    assert shown and code == 0 and not missing and "Traceback" not in output, (
        f"« Correction en continu » : attendu un premier verdict puis, après Ctrl-C, {expected} ; "
        f"vu le code {code}, absents {missing}, fin de la sortie :\n{output[-1500:]}"
    )
