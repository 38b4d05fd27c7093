"""The kit's catalogue of mutants and variants, and grading a folder with the grader.

A *mutant* (``tests/mutants/NAME.toml``) is the solution with one realistic student mistake;
it declares the criteria it must lose. A *variant* (``tests/variants/NAME/``) is a correct
solution written differently; it must score full marks. This module loads both, builds their
folders from ``solution/``, and grades a folder by running the grader in a subprocess.

Mutant file fields: ``description`` (French, the mistake as a student makes it), ``loses``
(criterion ids), optional ``broken`` (the submission does not load or run at all:
"syntaxe", "import", "boucle infinie", "sys.exit") and one or more ``[[edit]]`` tables
(``file``, ``old``: a snippet found exactly once in that solution file, ``new``). A variant
folder holds full ``sync_downloader.py`` / ``async_downloader.py`` files (the others come
from ``solution/``), or a ``variant.toml`` with ``description`` and ``[[edit]]`` tables, or both
(the edits then apply to the folder's files).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.criteria import CRITERIA, PART_FILES, TOTAL_POINTS
from tests.pristine import pristine_skeleton

KIT_ROOT = Path(__file__).resolve().parent.parent
SOLUTION_DIR = KIT_ROOT / "solution"
# The working copy, which a student fills in: the kit's tests grade pristine_skeleton() instead.
SKELETON_DIR = KIT_ROOT / "skeleton"
MUTANTS_DIR = Path(__file__).resolve().parent / "mutants"
VARIANTS_DIR = Path(__file__).resolve().parent / "variants"

STUDENT_FILES: tuple[str, ...] = tuple(PART_FILES.values())
CRITERION_IDS: tuple[str, ...] = tuple(criterion.id for criterion in CRITERIA)
PART_CRITERIA: dict[str, frozenset[str]] = {
    part: frozenset(c.id for c in CRITERIA if c.part == part) for part in PART_FILES
}
BROKEN_KINDS = frozenset({"syntaxe", "import", "boucle infinie", "sys.exit"})

# The grader stops itself after 50 s (its watchdog); past this, the subprocess is killed.
GRADE_TIMEOUT = 120.0
PARALLEL_GRADES = 2


class CatalogueError(Exception):
    """A mutant or variant that is malformed, or whose edits do not apply."""


# --- catalogue -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    file: str
    old: str
    new: str


@dataclass(frozen=True)
class Mutant:
    name: str
    description: str
    loses: frozenset[str]
    edits: tuple[Edit, ...]
    broken: str | None
    source: Path

    @property
    def key(self) -> str:
        return f"mutant:{self.name}"


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    edits: tuple[Edit, ...]
    files: tuple[Path, ...]
    source: Path

    @property
    def key(self) -> str:
        return f"variant:{self.name}"


def _string(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str):
        raise CatalogueError(f"{where} : le champ « {key} » doit être une chaîne, trouvé {value!r}")
    return value


def _edits(document: Mapping[str, Any], where: str, required: bool) -> tuple[Edit, ...]:
    tables = document.get("edit", [])
    if not isinstance(tables, list) or (required and not tables):
        raise CatalogueError(f"{where} : au moins une table [[edit]] attendue, trouvé {tables!r}")
    edits = []
    for index, table in enumerate(tables, start=1):
        here = f"{where}, [[edit]] n° {index}"
        if not isinstance(table, dict):
            raise CatalogueError(f"{here} : une table est attendue, trouvé {table!r}")
        unknown = set(table) - {"file", "old", "new"}
        if unknown:
            raise CatalogueError(f"{here} : champ(s) inconnu(s) {sorted(unknown)}")
        edit = Edit(_string(table, "file", here), _string(table, "old", here), _string(table, "new", here))
        if edit.file not in STUDENT_FILES:
            raise CatalogueError(f"{here} : « file » doit être l'un de {STUDENT_FILES}, trouvé {edit.file!r}")
        if not edit.old:
            raise CatalogueError(f"{here} : « old » est vide")
        edits.append(edit)
    return tuple(edits)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        return document
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError(f"{path.name} : TOML invalide : {error}") from error


def load_mutant(path: Path) -> Mutant:
    where = f"mutant {path.stem}"
    document = _read_toml(path)
    unknown = set(document) - {"description", "loses", "broken", "edit"}
    if unknown:
        raise CatalogueError(f"{where} : champ(s) inconnu(s) {sorted(unknown)}")
    loses = document.get("loses")
    if not isinstance(loses, list) or not loses or not all(isinstance(i, str) for i in loses):
        raise CatalogueError(f"{where} : « loses » doit être une liste non vide d'identifiants de critère")
    unknown_ids = sorted(set(loses) - set(CRITERION_IDS))
    if unknown_ids or len(set(loses)) != len(loses):
        raise CatalogueError(
            f"{where} : « loses » contient des critères inconnus ou en double : {unknown_ids or loses} "
            f"(critères existants : {', '.join(CRITERION_IDS)})"
        )
    broken = document.get("broken")
    if broken is not None and broken not in BROKEN_KINDS:
        kinds = sorted(BROKEN_KINDS)
        raise CatalogueError(f"{where} : « broken » doit être l'un de {kinds}, trouvé {broken!r}")
    return Mutant(
        name=path.stem,
        description=_string(document, "description", where).strip(),
        loses=frozenset(loses),
        edits=_edits(document, where, required=True),
        broken=broken,
        source=path,
    )


def load_mutants(folder: Path = MUTANTS_DIR) -> list[Mutant]:
    return [load_mutant(path) for path in sorted(folder.glob("*.toml"))]


def load_variant(folder: Path) -> Variant:
    where = f"variante {folder.name}"
    files = tuple(folder / name for name in STUDENT_FILES if (folder / name).is_file())
    toml_path = folder / "variant.toml"
    description, edits = "", tuple[Edit, ...]()
    if toml_path.is_file():
        document = _read_toml(toml_path)
        unknown = set(document) - {"description", "edit"}
        if unknown:
            raise CatalogueError(f"{where} : champ(s) inconnu(s) {sorted(unknown)}")
        description = _string(document, "description", where).strip()
        edits = _edits(document, where, required=not files)
    elif not files:
        raise CatalogueError(f"{where} : ni variant.toml ni fichier {' / '.join(STUDENT_FILES)}")
    return Variant(folder.name, description, edits, files, folder)


def load_variants(folder: Path = VARIANTS_DIR) -> list[Variant]:
    return [load_variant(path) for path in sorted(folder.iterdir()) if path.is_dir()]


@dataclass(frozen=True)
class Catalogue:
    mutants: list[Mutant] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def load_catalogue() -> Catalogue:
    """Every mutant and variant that loads; the others are listed in ``errors``."""
    catalogue = Catalogue()
    for path in sorted(MUTANTS_DIR.glob("*.toml")):
        try:
            catalogue.mutants.append(load_mutant(path))
        except CatalogueError as error:
            catalogue.errors.append(str(error))
    for folder in sorted(p for p in VARIANTS_DIR.iterdir() if p.is_dir()):
        try:
            catalogue.variants.append(load_variant(folder))
        except CatalogueError as error:
            catalogue.errors.append(str(error))
    return catalogue


CATALOGUE = load_catalogue()


# --- building folders ----------------------------------------------------------------------


def apply_edits(text: str, edits: Iterable[Edit], where: str) -> str:
    """Applies each edit in turn; each ``old`` must occur exactly once in the current text."""
    for index, edit in enumerate(edits, start=1):
        count = text.count(edit.old)
        if count != 1:
            raise CatalogueError(
                f"{where}, [[edit]] n° {index} : le texte « old » devait apparaître exactement une fois "
                f"dans {edit.file}, il apparaît {count} fois :\n{edit.old}"
            )
        text = text.replace(edit.old, edit.new)
    return text


def build_folder(
    destination: Path,
    edits: Iterable[Edit] = (),
    overrides: Iterable[Path] = (),
    where: str = "",
    base: Path = SOLUTION_DIR,
) -> Path:
    """Copies ``base`` to ``destination``, replaces the overridden files, then applies the edits."""
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(base, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in overrides:
        shutil.copyfile(path, destination / path.name)
    edits = list(edits)
    for name in STUDENT_FILES:
        mine = [edit for edit in edits if edit.file == name]
        if mine:
            target = destination / name
            target.write_text(apply_edits(target.read_text(encoding="utf-8"), mine, where), encoding="utf-8")
    return destination


def build_mutant(mutant: Mutant, destination: Path) -> Path:
    return build_folder(destination, mutant.edits, where=f"mutant {mutant.name}")


def build_variant(variant: Variant, destination: Path) -> Path:
    return build_folder(destination, variant.edits, variant.files, where=f"variante {variant.name}")


# --- grading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionMark:
    id: str
    score: float
    max_score: float
    status: str
    output: str


@dataclass(frozen=True)
class CheckMark:
    check: str
    criterion: str
    kind: str
    message: str


@dataclass
class Grade:
    """What the grader said about one folder (or why it said nothing)."""

    key: str
    folder: Path | None
    score: float | None = None
    marks: dict[str, CriterionMark] = field(default_factory=dict)
    checks: list[CheckMark] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None
    elapsed: float = 0.0
    timed_out: bool = False
    error: str | None = None  # the folder could not be built, or the grader wrote no result

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def lost(self) -> frozenset[str]:
        return frozenset(mark.id for mark in self.marks.values() if mark.status != "passed")

    def failed_checks(self) -> list[CheckMark]:
        return [check for check in self.checks if check.kind != "passed"]

    def problem(self) -> str:
        """Why there is no usable result, with the end of the grader's output."""
        tail = "\n".join((self.stdout + "\n" + self.stderr).strip().splitlines()[-15:])
        return f"{self.error}\n--- fin de la sortie du correcteur ---\n{tail}"

    def feedback(self, criteria: Iterable[str]) -> str:
        lines = []
        for criterion in sorted(criteria):
            mark = self.marks.get(criterion)
            if mark is not None:
                output = mark.output.replace("\n", "\n      ")
                lines.append(f"  - {criterion} ({mark.score:g}/{mark.max_score:g}) : {output}")
        return "\n".join(lines)


def _subprocess_environment() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ left in solution/ or skeleton/
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def grade(key: str, folder: Path, workdir: Path, timeout: float = GRADE_TIMEOUT) -> Grade:
    """Runs the grader on ``folder`` in a subprocess and reads its results.json and checks.json."""
    workdir.mkdir(parents=True, exist_ok=True)
    results_path, checks_path = workdir / "results.json", workdir / "checks.json"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "grader",
        f"--target={folder}",
        f"--results={results_path}",
        f"--checks={checks_path}",
        f"--basetemp={workdir / 'tmp'}",
        "-p",
        "no:cacheprovider",
    ]
    result = Grade(key, folder)
    start = time.perf_counter()
    try:
        completed = subprocess.run(
            command,
            cwd=KIT_ROOT,
            env=_subprocess_environment(),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        result.elapsed = time.perf_counter() - start
        result.timed_out = True
        result.stdout = _text(expired.stdout)
        result.stderr = _text(expired.stderr)
        result.error = f"le correcteur tournait encore après {timeout:g} s : processus arrêté"
        return result
    result.elapsed = time.perf_counter() - start
    result.stdout, result.stderr, result.returncode = completed.stdout, completed.stderr, completed.returncode
    _read_results(result, results_path, checks_path)
    return result


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode("utf-8", errors="replace")
    return output or ""


def _read_results(result: Grade, results_path: Path, checks_path: Path) -> None:
    try:
        document = json.loads(results_path.read_text(encoding="utf-8"))
        result.score = float(document["score"])
        for test in document["tests"]:
            mark = CriterionMark(
                id=str(test["number"]),
                score=float(test["score"]),
                max_score=float(test["max_score"]),
                status=str(test["status"]),
                output=str(test.get("output", "")),
            )
            result.marks[mark.id] = mark
    except (OSError, ValueError, KeyError, TypeError) as error:
        result.error = f"résultats illisibles ({results_path.name}) : {type(error).__name__} : {error}"
        return
    try:
        checks = json.loads(checks_path.read_text(encoding="utf-8"))
        result.checks = [
            CheckMark(str(c["check"]), str(c["criterion"]), str(c["kind"]), str(c.get("message", "")))
            for c in checks
        ]
    except (OSError, ValueError, KeyError, TypeError) as error:
        result.error = f"vérifications illisibles ({checks_path.name}) : {type(error).__name__} : {error}"


# --- targets: what the kit's tests grade ---------------------------------------------------


SOLUTION_KEY = "solution"
SKELETON_KEY = "skeleton"


@dataclass(frozen=True)
class Target:
    """A folder to grade: the solution, the skeleton, a mutant or a variant."""

    key: str
    prepare: Callable[[Path], Path]  # builds the folder under the given work dir; returns it
    slow: bool = False  # graded first, so that the slowest grades overlap the others


def _fixed(folder: Path) -> Callable[[Path], Path]:
    return lambda workdir: folder


def _pristine_skeleton(workdir: Path) -> Path:
    """The skeleton as committed, whatever a student did to the working copy of skeleton/."""
    return pristine_skeleton().folder


def _mutant_builder(mutant: Mutant) -> Callable[[Path], Path]:
    return lambda workdir: build_mutant(mutant, workdir / "dossier")


def _variant_builder(variant: Variant) -> Callable[[Path], Path]:
    return lambda workdir: build_variant(variant, workdir / "dossier")


def all_targets(mutants: Iterable[Mutant], variants: Iterable[Variant]) -> dict[str, Target]:
    targets = {
        SOLUTION_KEY: Target(SOLUTION_KEY, _fixed(SOLUTION_DIR)),
        SKELETON_KEY: Target(SKELETON_KEY, _pristine_skeleton),
    }
    for mutant in mutants:
        slow = mutant.broken == "boucle infinie"
        targets[mutant.key] = Target(mutant.key, _mutant_builder(mutant), slow=slow)
    for variant in variants:
        targets[variant.key] = Target(variant.key, _variant_builder(variant))
    return targets


def _prepare_and_grade(target: Target, workdir: Path) -> Grade:
    try:
        folder = target.prepare(workdir)
    except (CatalogueError, OSError) as error:
        return Grade(target.key, None, error=f"dossier impossible à construire : {error}")
    return grade(target.key, folder, workdir)


def grade_all(
    targets: Iterable[Target],
    workdir: Path,
    workers: int = PARALLEL_GRADES,
    on_done: Callable[[Grade, int, int], object] | None = None,
) -> dict[str, Grade]:
    """Grades every target once, ``workers`` at a time, the slow ones first.

    ``on_done(grade, done, total)`` is called (from a worker thread) after each grade: progress.
    """
    ordered = sorted(targets, key=lambda target: not target.slow)
    lock = threading.Lock()
    finished = 0

    def run(target: Target) -> Grade:
        nonlocal finished
        result = _prepare_and_grade(target, workdir / _folder_name(target.key))
        if on_done is not None:
            with lock:
                finished += 1
                on_done(result, finished, len(ordered))
        return result

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {target.key: pool.submit(run, target) for target in ordered}
        return {key: future.result() for key, future in futures.items()}


def _folder_name(key: str) -> str:
    return key.replace(":", "-")


def full_marks() -> float:
    return TOTAL_POINTS
