"""Sessions nox du kit : correction, démonstration, mesures et tests du kit."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["grade"]

DEFAULT_TARGET = "skeleton"


def _run_module(session: nox.Session, module: str, *args: str) -> None:
    session.run("python", "-m", module, *args, external=True)


@nox.session
def grade(session: nox.Session) -> None:
    """Corrige skeleton/ (par défaut), solution/ ou le dossier donné : nox -s grade -- DOSSIER."""
    target, *pytest_args = session.posargs or [DEFAULT_TARGET]
    session.run(
        "python", "-m", "pytest", "grader", f"--target={target}", *pytest_args, external=True
    )


@nox.session
def demo(session: nox.Session) -> None:
    """Compare sync et async sur un serveur d'images local : nox -s demo [-- DOSSIER]."""
    _run_module(session, "grader.demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Mesure sync, async et pool de threads pour N = 10, 50, 200, 1000 images."""
    _run_module(session, "grader.bench", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """Lance les tests du kit (grader, mutants, variantes), ruff et mypy."""
    session.run("ruff", "check", ".", external=True)
    session.run("mypy", "solution", "grader", "tests", "noxfile.py", external=True)
    session.run("python", "-m", "pytest", *session.posargs, external=True)
