"""Sessions nox du kit : correction, démonstration, mesures et tests du kit.

Elles tournent dans l'environnement Poetry déjà installé (poetry install), sauf
grade_pythons qui crée un environnement par version de Python.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["grade"]

DEFAULT_TARGET = "skeleton"
PYTHONS = ["3.11", "3.13"]


def _expose_pyenv_pythons() -> None:
    """Lets pyenv's shims answer for every installed version (nox looks for python3.13)."""
    if shutil.which("pyenv") and "PYENV_VERSION" not in os.environ:

        def pyenv(*args: str) -> list[str]:
            return subprocess.run(["pyenv", *args], capture_output=True, text=True).stdout.split()

        current = pyenv("version-name")  # stays first: plain « python » keeps its meaning
        os.environ["PYENV_VERSION"] = ":".join(current + pyenv("versions", "--bare"))


_expose_pyenv_pythons()


def _split_target(posargs: list[str], default: str) -> tuple[str, list[str]]:
    """The first argument that is not an option names the folder; the rest goes to pytest."""
    for index, argument in enumerate(posargs):
        if not argument.startswith("-"):
            return argument, posargs[:index] + posargs[index + 1 :]
    return default, posargs


# Sessions without a virtualenv of their own run in nox's interpreter: Poetry's environment.
PYTHON = sys.executable
QUIET_PYTEST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _python(session: nox.Session, *args: str, env: dict[str, str] | None = None) -> None:
    session.run(PYTHON, *args, external=True, env=env)


@nox.session
def grade(session: nox.Session) -> None:
    """Corrige skeleton/ (par défaut), solution/ ou un dossier : nox -s grade -- DOSSIER [-v]."""
    target, pytest_args = _split_target(session.posargs, DEFAULT_TARGET)
    # Plugins are loaded explicitly: the grader needs none of the installed ones (faster start).
    _python(session, "-m", "pytest", "grader", f"--target={target}", *pytest_args, env=QUIET_PYTEST)


@nox.session(python=PYTHONS, venv_backend="venv")
def grade_pythons(session: nox.Session) -> None:
    """Corrige la solution (ou DOSSIER) sous Python 3.11 et 3.13, avec les dépendances verrouillées."""
    env = {"VIRTUAL_ENV": session.virtualenv.location, "POETRY_VIRTUALENVS_CREATE": "false"}
    session.run_install("poetry", "install", "--no-root", "--only", "main,dev", env=env, external=True)
    target, pytest_args = _split_target(session.posargs, "solution")
    session.run("python", "-m", "pytest", "grader", f"--target={target}", *pytest_args)


@nox.session
def demo(session: nox.Session) -> None:
    """Compare sync et async sur un serveur d'images local : nox -s demo [-- DOSSIER]."""
    _python(session, "-m", "grader.demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Mesure sync, async et pool de threads pour N = 10, 50, 200, 1000 images."""
    _python(session, "-m", "grader.bench", *session.posargs)


@nox.session
def flake(session: nox.Session) -> None:
    """Corrige la solution et tout le catalogue 20 fois, les deux cœurs chargés : mêmes notes ?"""
    _python(session, "-m", "tests.flake", *session.posargs)


@nox.session
def speed(session: nox.Session) -> None:
    """Mesure la durée de « nox -s grade » (médiane de plusieurs lancements)."""
    _python(session, "-m", "tests.speed", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff et mypy sur solution/, grader/, tests/ et ce fichier."""
    _python(session, "-m", "ruff", "check", ".")
    _python(session, "-m", "ruff", "format", "--check", "solution", "grader", "tests", "noxfile.py")
    _python(session, "-m", "mypy", "solution", "grader", "tests", "noxfile.py")


@nox.session
def tests(session: nox.Session) -> None:
    """Tests du kit : contrat, correcteur, mutants, variantes (puis lint)."""
    _python(session, "-m", "pytest", *session.posargs)
    session.notify("lint")


# --- a whole class, and the grading platforms ---------------------------------------------


@nox.session
def grade_all(session: nox.Session) -> None:
    """Corrige une promotion : nox -s grade_all -- DOSSIER_OU_ZIP [--out SORTIE] [--jobs N] [--force]."""
    _python(session, "-m", "grader.batch", *session.posargs)


@nox.session
def bench_batch(session: nox.Session) -> None:
    """Vitesse de grade_all sur 100 rendus générés, comparée à une correction un par un."""
    _python(session, "-m", "tests.bench_batch", *session.posargs)


@nox.session
def gradescope(session: nox.Session) -> None:
    """Construit dist/autograder.zip pour Gradescope (setup.sh, run_autograder, correcteur)."""
    _python(session, "-m", "grader.platforms.gradescope", "build", *session.posargs)


@nox.session
def classroom(session: nox.Session) -> None:
    """Résultat pour GitHub Classroom (base64 du reporter) : nox -s classroom -- [DOSSIER] [--print]."""
    _python(session, "-m", "grader.platforms.classroom", *session.posargs)


@nox.session
def prairielearn(session: nox.Session) -> None:
    """results.json de PrairieLearn : nox -s prairielearn -- RESULTS_JSON SORTIE (ou --grade DOSSIER)."""
    _python(session, "-m", "grader.platforms.prairielearn", *session.posargs)
