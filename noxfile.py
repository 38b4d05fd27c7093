"""Sessions nox du kit : correction, démonstration, mesures et tests du kit.

Elles tournent dans l'environnement Poetry déjà installé (poetry install), sauf
grade_pythons qui crée un environnement par version de Python.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["grade"]


class _HideUvProbe(logging.Filter):
    """Drops nox's « uv binary not found. » line.

    Before each session, nox lists the optional virtualenv backends, which runs
    ``uv self version`` even when the session's backend is "none" (so
    ``default_venv_backend`` cannot avoid it). Without uv, nox logs that line at INFO
    level on every run: noise for students, since no session here uses uv.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "uv binary not found."


logging.getLogger("nox").addFilter(_HideUvProbe())

DEFAULT_TARGET = "skeleton"
PYTHONS = ["3.11", "3.13"]


def _works(interpreter: str, version: str) -> bool:
    """True when ``interpreter`` runs and is Python ``version`` (a pyenv shim may only refuse)."""
    check = "import sys; print('%d.%d' % sys.version_info[:2])"
    try:
        answer = subprocess.run([interpreter, "-c", check], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return answer.returncode == 0 and answer.stdout.strip() == version


def find_interpreter(version: str) -> str | None:
    """Python ``version`` on this machine: on the PATH, or installed by pyenv (its shims answer
    only for the versions selected, so its own folders are searched)."""
    candidates = [found for found in [shutil.which(f"python{version}")] if found]
    if shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        installed = sorted(Path(root, "versions").glob(f"{version}.*"), reverse=True) if root else []
        candidates += [str(folder / "bin" / "python") for folder in installed]
    return next((candidate for candidate in candidates if _works(candidate, version)), None)


# Options followed by a value: that value is never the folder (« -k sync » is not folder sync/).
OPTIONS_WITH_A_VALUE = frozenset(
    {"-k", "-m", "-p", "--results", "--checks", "--enregistrer", "--rejouer", "--indices", "--historique"}
    | {"--partie", "--critere"}
)


def _split_target(posargs: list[str], default: str) -> tuple[str, list[str]]:
    """The first argument that is not an option (nor an option's value) names the folder."""
    skip = False
    for index, argument in enumerate(posargs):
        if skip:
            skip = False
        elif argument in OPTIONS_WITH_A_VALUE:
            skip = True
        elif not argument.startswith("-"):
            return argument, posargs[:index] + posargs[index + 1 :]
    return default, posargs


# Sessions without a virtualenv of their own run in nox's interpreter: Poetry's environment.
PYTHON = sys.executable
KIT = Path(__file__).resolve().parent
QUIET_PYTEST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
HISTORY_FILE = ".correction/historique.jsonl"  # grader/engine/history.py's HISTORY_NAME, git-ignored


def _python(session: nox.Session, *args: str, env: dict[str, str] | None = None) -> None:
    session.run(PYTHON, *args, external=True, env=env)


@nox.session
def grade(session: nox.Session) -> None:
    """Corrige skeleton/ (défaut), solution/ ou un dossier : nox -s grade -- DOSSIER [--partie P] [-v]."""
    target, pytest_args = _split_target(session.posargs, DEFAULT_TARGET)
    # Plugins are loaded explicitly: the grader needs none of the installed ones (faster start).
    # Only here is the local history read and written (batch grading and platforms never pass it).
    history = f"--historique={KIT / HISTORY_FILE}"
    # As « python -m pytest grader », with a French answer to a Ctrl-C during pytest's own start-up.
    command = ("-m", "grader.tools.grade_command", f"--target={target}", history, *pytest_args)
    _python(session, *command, env=QUIET_PYTEST)


@nox.session
def progres(session: nox.Session) -> None:
    """Vos notes au fil des corrections : ce qui a été gagné et perdu d'une correction à l'autre."""
    _python(session, "-m", "grader.tools.progres", *session.posargs)


@nox.session
def watch(session: nox.Session) -> None:
    """Correction en continu : chaque enregistrement recorrige sa partie (Ctrl-C pour quitter)."""
    # Ctrl-C reaches nox and the watcher alike: nox waits while the watcher ends its grade cleanly.
    session.run(PYTHON, "-m", "grader.tools.watch", *session.posargs, external=True, interrupt_timeout=20.0)


@nox.session
@nox.parametrize("version", PYTHONS)
def grade_pythons(session: nox.Session, version: str) -> None:
    """Corrige la solution (ou DOSSIER) sous Python 3.11 et 3.13, avec les dépendances verrouillées."""
    interpreter = find_interpreter(version)
    if interpreter is None:
        session.error(f"Python {version} introuvable (ni python{version} dans le PATH, ni pyenv).")
    environment = KIT / ".nox" / f"grade_pythons-{version}"
    if not environment.exists():
        session.run(interpreter, "-m", "venv", str(environment), external=True)
    binaries = environment / ("Scripts" if os.name == "nt" else "bin")
    env = {
        "VIRTUAL_ENV": str(environment),
        "POETRY_VIRTUALENVS_CREATE": "false",
        "PATH": os.pathsep.join([str(binaries), os.environ.get("PATH", "")]),
    }
    session.run("poetry", "install", "--no-root", "--only", "main,dev", env=env, external=True)
    target, pytest_args = _split_target(session.posargs, "solution")
    python = str(binaries / "python")
    session.run(python, "-m", "pytest", "grader", f"--target={target}", *pytest_args, external=True)


@nox.session
def demo(session: nox.Session) -> None:
    """Compare sync et async sur un serveur d'images local : nox -s demo [-- DOSSIER]."""
    _python(session, "-m", "grader.tools.demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Mesure sync, async et pool de threads pour N = 10, 50, 200, 1000 images."""
    _python(session, "-m", "grader.tools.bench", *session.posargs)


@nox.session
def flake(session: nox.Session) -> None:
    """Corrige la solution et le catalogue 20 fois, un ordre des réponses par passe, sous charge."""
    _python(session, "-m", "tests.flake", *session.posargs)


@nox.session
def speed(session: nox.Session) -> None:
    """Durée de « nox -s grade » et délai enregistrement → verdict de « nox -s watch » (médianes)."""
    _python(session, "-m", "tests.speed", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff et mypy sur solution/, grader/, tests/, ce fichier et conftest.py."""
    _python(session, "-m", "ruff", "check", ".")
    _python(
        session, "-m", "ruff", "format", "--check", "solution", "grader", "tests", "noxfile.py", "conftest.py"
    )
    _python(session, "-m", "mypy", "solution", "grader", "tests", "noxfile.py", "conftest.py")


KIT_TESTS_BANNER = (
    "Tests du kit lui-même (pour les enseignants et les mainteneurs, pas votre note) : contrat, "
    "correcteur, corrections du catalogue de mutants et de variantes, puis lint. Durée : "
    "de 4 à 8 minutes sur 2 cœurs selon leur charge. Le squelette testé est celui du dernier commit (git), "
    "pas votre copie de travail. Pour votre note : poetry run -- nox -s grade"
)


@nox.session
def tests(session: nox.Session) -> None:
    """Tests du kit : contrat, correcteur, mutants, variantes (puis lint), de 4 à 8 minutes."""
    session.log(KIT_TESTS_BANNER)
    # -v: one line per test, so that the three minutes are never silent.
    _python(session, "-m", "pytest", "-v", *session.posargs)
    session.notify("lint")


FAST_TESTS = "tests/test_rapide_*.py"


@nox.session
def tests_rapides(session: nox.Session) -> None:
    """Tests rapides du kit, sans ouvrier ni vraie correction : goldens rejoués, rapport, vérifications."""
    files = sorted(str(path.relative_to(KIT)) for path in KIT.glob(FAST_TESTS))
    _python(session, "-m", "pytest", *files, *session.posargs, env=QUIET_PYTEST)


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


# --- « nox -s grade variante » (forgotten « -- ») ----------------------------------------------

SESSION_FLAGS = frozenset({"-s", "-e", "--session", "--sessions"})


def sessions_asked(argv: Sequence[str]) -> list[str]:
    """The session names given after -s/-e/--session(s) on nox's command line, before « -- »."""
    before = list(argv[1 : argv.index("--")] if "--" in argv else argv[1:])
    names: list[str] = []
    collecting = False
    for token in before:
        flag, equals, value = token.partition("=")
        if flag in SESSION_FLAGS:
            collecting = not equals
            if equals:
                names.extend(name for name in value.split(",") if name)
        elif token.startswith("-"):
            collecting = False
        elif collecting:
            names.append(token)
    return names


def _is_known(name: str, known: Collection[str]) -> bool:
    # Parametrized sessions are also selected as « grade_pythons-3.13 » or « grade_pythons(...) ».
    return name in known or any(name.startswith((f"{k}-", f"{k}(")) for k in known)


def misplaced_arguments_message(argv: Sequence[str], known: Collection[str]) -> str | None:
    """A French explanation when nox is asked for sessions that do not exist, else None.

    The usual cause is a folder or an option given without « -- » (« nox -s grade variante »),
    which nox reads as a second session name and rejects in English (« Sessions not found »).
    """
    asked = sessions_asked(argv)
    unknown = [name for name in asked if not _is_known(name, known)]
    if not unknown:
        return None
    sessions = [name for name in asked if _is_known(name, known)]
    available = ", ".join(sorted(known))
    if sessions:
        arguments = " ".join(unknown)
        return (
            f"« {arguments} » n'est pas une session nox. Pour passer un dossier ou une option "
            f"à la session {sessions[0]}, placez-les après « -- » :\n"
            f"    poetry run -- nox -s {sessions[0]} -- {arguments}"
        )
    return f"Session nox inconnue : {', '.join(unknown)}. Sessions disponibles : {available}."


def _stop_on_misplaced_arguments() -> None:
    message = misplaced_arguments_message(sys.argv, nox.registry.get())
    if message is not None:
        print(f"nox > {message}", file=sys.stderr)
        raise SystemExit(2)


def _run_by_nox(argv0: str) -> bool:
    """True under « nox … » or « python -m nox … » (PyCharm), False when a test imports this file."""
    path = Path(argv0)
    return path.stem == "nox" or (path.name == "__main__.py" and path.parent.name == "nox")


# The only work done at import, and only under nox itself: nox rejects an unknown session in
# English before any session runs, and offers no hook that runs earlier than this file.
if _run_by_nox(sys.argv[0]):
    _stop_on_misplaced_arguments()
