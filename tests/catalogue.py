"""The kit's catalogue of mutants and variants, and grading a folder with the grader.

A *mutant* (``tests/mutants/NAME.toml``) is the solution with one realistic student mistake;
it declares the criteria it must lose. A *variant* (``tests/variants/NAME/``) is a correct
solution written differently; it must score full marks. This module loads both, builds their
folders from ``solution/``, and grades a folder by running the grader in a subprocess.

Mutant file fields: ``description`` (French, the mistake as a student makes it), ``loses``
(criterion ids), optional ``[[feedback]]`` tables (``criterion``: an id, or ``*`` for every
criterion's output; ``text``: words the report must say there exactly, or must never say
with ``absent = true``; a variant's variant.toml may hold them too), optional ``broken``
(the submission does not load or run at all: "syntaxe", "import", "boucle infinie",
"sys.exit") and one or more ``[[edit]]`` tables
(``file``, ``old``: a snippet found exactly once in that solution file, ``new``). A variant
folder holds full ``sync_downloader.py`` / ``async_downloader.py`` files (the others come
from ``solution/``), or a ``variant.toml`` with ``description`` and ``[[edit]]`` tables, or both
(the edits then apply to the folder's files).

An *attack* (``tests/attacks/NAME.toml``) is a submission that tries to cheat or to escape the
grader (see tests/test_attacks.py): ``description`` (French), ``base`` ("skeleton" or
"solution"), ``[[file]]`` tables (``file``, ``text``: a whole replacement file) and/or
``[[edit]]`` tables applied after them, ``max_score`` (the most its honest work earns),
optional ``min_score`` (the honest points it must keep), ``network`` (it tries to reach
the network: the grader must report it), ``max_seconds`` (default 20), ``canaries`` (paths
it tries to write outside its folder: relative to the kit root, or ``{site-packages}/…``),
``exclusive`` (graded alone: until the harness repairs it, its damage would break a grade
running beside it), ``symlinks`` (files that the harness turns into symbolic links to solution/) and
``refusal`` (a text that the output of each refused criterion must contain).
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.engine.criteria import CRITERIA, TOTAL_POINTS
from grader.engine.paths import KIT_ROOT, PART_FILES
from tests.pristine import pristine_skeleton

SOLUTION_DIR = KIT_ROOT / "solution"
# The working copy, which a student fills in: the kit's tests grade pristine_skeleton() instead.
SKELETON_DIR = KIT_ROOT / "skeleton"
MUTANTS_DIR = Path(__file__).resolve().parent / "mutants"
VARIANTS_DIR = Path(__file__).resolve().parent / "variants"
ATTACKS_DIR = Path(__file__).resolve().parent / "attacks"

STUDENT_FILES: tuple[str, ...] = tuple(PART_FILES.values())
CRITERION_IDS: tuple[str, ...] = tuple(criterion.id for criterion in CRITERIA)
PART_CRITERIA: dict[str, frozenset[str]] = {
    part: frozenset(c.id for c in CRITERIA if c.part == part) for part in PART_FILES
}
BROKEN_KINDS = frozenset({"syntaxe", "import", "boucle infinie", "sys.exit"})

# The grader bounds the student's code (plans.PART_BUDGET, plans.PART_LIMIT) and itself; past this,
# the subprocess is killed.
GRADE_TIMEOUT = 60.0
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
class Feedback:
    """Words the report says (or never says) under a criterion, ``*`` for all of them."""

    criterion: str
    text: str
    absent: bool = False


@dataclass(frozen=True)
class Mutant:
    name: str
    description: str
    loses: frozenset[str]
    edits: tuple[Edit, ...]
    broken: str | None
    source: Path
    feedback: tuple[Feedback, ...] = ()

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
    feedback: tuple[Feedback, ...] = ()

    @property
    def key(self) -> str:
        return f"variant:{self.name}"


def _string(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str):
        raise CatalogueError(f"{where} : le champ « {key} » doit être une chaîne, trouvé {value!r}")
    return value


def _tables(
    document: Mapping[str, Any], name: str, where: str, required: bool = False
) -> list[tuple[str, Any]]:
    """The ``[[name]]`` tables of a catalogue file, each with where it stands (for messages)."""
    tables = document.get(name, [])
    if required and (not isinstance(tables, list) or not tables):
        raise CatalogueError(f"{where} : au moins une table [[{name}]] attendue, trouvé {tables!r}")
    if not isinstance(tables, list):
        raise CatalogueError(f"{where} : [[{name}]] doit être une liste de tables, trouvé {tables!r}")
    return [(f"{where}, [[{name}]] n° {index}", table) for index, table in enumerate(tables, start=1)]


def _edits(document: Mapping[str, Any], where: str, required: bool) -> tuple[Edit, ...]:
    edits = []
    for here, table in _tables(document, "edit", where, required):
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


def _feedback(document: Mapping[str, Any], where: str) -> tuple[Feedback, ...]:
    found = []
    for here, table in _tables(document, "feedback", where):
        if not isinstance(table, dict) or not {"criterion", "text"} <= set(table) <= {
            "criterion",
            "text",
            "absent",
        }:
            raise CatalogueError(f"{here} : une table avec « criterion », « text » et, au choix, « absent »")
        criterion, words = _string(table, "criterion", here), _string(table, "text", here)
        if criterion != "*" and criterion not in CRITERION_IDS:
            raise CatalogueError(f"{here} : critère inconnu {criterion!r}")
        absent = table.get("absent", False)
        if not words or not isinstance(absent, bool):
            raise CatalogueError(f"{here} : « text » non vide et « absent » vaut true ou false")
        found.append(Feedback(criterion, words, absent))
    return tuple(found)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        return document
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError(f"{path.name} : TOML invalide : {error}") from error


def load_mutant(path: Path) -> Mutant:
    where = f"mutant {path.stem}"
    document = _read_toml(path)
    unknown = set(document) - {"description", "loses", "broken", "edit", "feedback"}
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
        feedback=_feedback(document, where),
    )


def load_mutants(folder: Path = MUTANTS_DIR) -> list[Mutant]:
    return [load_mutant(path) for path in sorted(folder.glob("*.toml"))]


def load_variant(folder: Path) -> Variant:
    where = f"variante {folder.name}"
    files = tuple(folder / name for name in STUDENT_FILES if (folder / name).is_file())
    toml_path = folder / "variant.toml"
    description, edits, feedback = "", tuple[Edit, ...](), tuple[Feedback, ...]()
    if toml_path.is_file():
        document = _read_toml(toml_path)
        unknown = set(document) - {"description", "edit", "feedback"}
        if unknown:
            raise CatalogueError(f"{where} : champ(s) inconnu(s) {sorted(unknown)}")
        description = _string(document, "description", where).strip()
        edits = _edits(document, where, required=not files)
        feedback = _feedback(document, where)
    elif not files:
        raise CatalogueError(f"{where} : ni variant.toml ni fichier {' / '.join(STUDENT_FILES)}")
    return Variant(folder.name, description, edits, files, folder, feedback)


def load_variants(folder: Path = VARIANTS_DIR) -> list[Variant]:
    return [load_variant(path) for path in sorted(folder.iterdir()) if path.is_dir()]


# An attack's base folder, by its « base » name: the committed skeleton (never the working copy,
# which a student fills in), or the solution.
ATTACK_BASES: dict[str, Callable[[], Path]] = {
    "skeleton": lambda: pristine_skeleton().folder,
    "solution": lambda: SOLUTION_DIR,
}
DEFAULT_ATTACK_SECONDS = 20.0


@dataclass(frozen=True)
class Attack:
    name: str
    description: str
    base: str
    files: tuple[tuple[str, str], ...]  # (file name, whole text)
    edits: tuple[Edit, ...]
    max_score: float
    min_score: float | None
    network: bool
    max_seconds: float
    canaries: tuple[str, ...]
    exclusive: bool
    symlinks: tuple[str, ...]
    refusal: str | None
    source: Path

    @property
    def family(self) -> str:
        return self.name.split("_", 1)[0]


def _number(document: Mapping[str, Any], key: str, where: str, default: float | None) -> float | None:
    value = document.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise CatalogueError(f"{where} : « {key} » doit être un nombre positif, trouvé {value!r}")
    return float(value)


def _strings(document: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = document.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise CatalogueError(f"{where} : « {key} » doit être une liste de chaînes, trouvé {value!r}")
    return tuple(value)


def _files(document: Mapping[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    files = []
    for here, table in _tables(document, "file", where):
        if not isinstance(table, dict) or set(table) != {"file", "text"}:
            raise CatalogueError(f"{here} : une table avec exactement « file » et « text » est attendue")
        name = _string(table, "file", here)
        if name not in STUDENT_FILES:
            raise CatalogueError(f"{here} : « file » doit être l'un de {STUDENT_FILES}, trouvé {name!r}")
        files.append((name, _string(table, "text", here)))
    return tuple(files)


def load_attack(path: Path) -> Attack:
    where = f"attaque {path.stem}"
    document = _read_toml(path)
    known = {"description", "base", "file", "edit", "max_score", "min_score", "network", "max_seconds"}
    known |= {"canaries", "exclusive", "symlinks", "refusal"}
    unknown = set(document) - known
    if unknown:
        raise CatalogueError(f"{where} : champ(s) inconnu(s) {sorted(unknown)}")
    base = document.get("base")
    if base not in ATTACK_BASES:
        raise CatalogueError(f"{where} : « base » doit être l'un de {sorted(ATTACK_BASES)}, trouvé {base!r}")
    max_score = _number(document, "max_score", where, None)
    if max_score is None:
        raise CatalogueError(f"{where} : « max_score » est obligatoire")
    min_score = _number(document, "min_score", where, None)
    if max_score > TOTAL_POINTS or (min_score is not None and min_score > max_score):
        raise CatalogueError(f"{where} : il faut 0 ≤ min_score ≤ max_score ≤ {TOTAL_POINTS:g}")
    max_seconds = _number(document, "max_seconds", where, DEFAULT_ATTACK_SECONDS)
    if not max_seconds:
        raise CatalogueError(f"{where} : « max_seconds » doit être strictement positif")
    network, exclusive = document.get("network", False), document.get("exclusive", False)
    if not isinstance(network, bool) or not isinstance(exclusive, bool):
        raise CatalogueError(f"{where} : « network » et « exclusive » valent true ou false")
    symlinks = _strings(document, "symlinks", where)
    if not set(symlinks) <= set(STUDENT_FILES):
        raise CatalogueError(f"{where} : « symlinks » ne peut nommer que {STUDENT_FILES}")
    refusal = document.get("refusal")
    if refusal is not None and (not isinstance(refusal, str) or not refusal or not symlinks):
        raise CatalogueError(f"{where} : « refusal » est un texte non vide, avec « symlinks »")
    files, edits = _files(document, where), _edits(document, where, required=False)
    if not files and not edits and not symlinks:
        raise CatalogueError(f"{where} : ni [[file]], ni [[edit]], ni « symlinks » : rien à attaquer")
    return Attack(
        name=path.stem,
        description=_string(document, "description", where).strip(),
        base=base,
        files=files,
        edits=edits,
        max_score=max_score,
        min_score=min_score,
        network=network,
        max_seconds=max_seconds,
        canaries=_strings(document, "canaries", where),
        exclusive=exclusive,
        symlinks=symlinks,
        refusal=refusal,
        source=path,
    )


def load_attacks(folder: Path = ATTACKS_DIR) -> tuple[list[Attack], list[str]]:
    """Every attack that loads; the errors of the others."""
    attacks, errors = [], []
    for path in sorted(folder.glob("*.toml")):
        try:
            attacks.append(load_attack(path))
        except CatalogueError as error:
            errors.append(str(error))
    return attacks, errors


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
    texts: Iterable[tuple[str, str]] = (),
) -> Path:
    """Copies ``base`` to ``destination``, replaces the overridden files, then applies the edits.

    ``texts`` are (file name, whole text) replacements, written before the edits apply.
    """
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(base, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in overrides:
        shutil.copyfile(path, destination / path.name)
    for name, text in texts:
        (destination / name).write_text(text, encoding="utf-8")
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


def build_attack(attack: Attack, destination: Path) -> Path:
    """The attack's folder; its ``symlinks`` files become links to the kit's solution/."""
    folder = build_folder(
        destination,
        attack.edits,
        where=f"attaque {attack.name}",
        base=ATTACK_BASES[attack.base](),
        texts=attack.files,
    )
    for name in attack.symlinks:
        (folder / name).unlink()
        (folder / name).symlink_to(SOLUTION_DIR / name)
    return folder


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

    def said(self, expected: Feedback) -> bool:
        """Whether the report says ``expected.text`` under its criterion (anywhere for ``*``)."""
        marks = self.marks.values() if expected.criterion == "*" else [self.marks.get(expected.criterion)]
        return any(mark is not None and expected.text in mark.output for mark in marks)

    def feedback(self, criteria: Iterable[str]) -> str:
        lines = []
        for criterion in sorted(criteria):
            mark = self.marks.get(criterion)
            if mark is not None:
                output = mark.output.replace("\n", "\n      ")
                lines.append(f"  - {criterion} ({mark.score:g}/{mark.max_score:g}) : {output}")
        return "\n".join(lines)


def _subprocess_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    env.update(extra or {})
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ left in solution/ or skeleton/
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # as nox -s grade does: the grader needs none
    env["PYTHONIOENCODING"] = "utf-8"
    return env


NETWORK_NAMESPACE = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]


def in_network_namespace(command: list[str]) -> bool:
    """True when ``command`` runs in a fresh network namespace here (root, util-linux, iproute2)."""
    try:
        done = subprocess.run(NETWORK_NAMESPACE + command, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def grade(
    key: str,
    folder: Path,
    workdir: Path,
    timeout: float = GRADE_TIMEOUT,
    *,
    isolated_network: bool = False,
    portable: bool = False,
    options: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
) -> Grade:
    """Runs the grader on ``folder`` in a subprocess and reads its results.json and checks.json.

    ``isolated_network``: inside a new network namespace (loopback only); ``portable``: with
    the POSIX-only APIs removed, as on Windows (tests/portable.py); ``options``: more of the
    grader's options (``--enregistrer=…`` for tests/goldens); ``environment``: variables added
    to the grader's (the forced reply order of tests/flake.py).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    results_path, checks_path = workdir / "results.json", workdir / "checks.json"
    command = [
        sys.executable,
        "-m",
        "tests.portable" if portable else "pytest",
        "grader",
        f"--target={folder}",
        f"--results={results_path}",
        f"--checks={checks_path}",
        f"--basetemp={workdir / 'tmp'}",
        "-p",
        "no:cacheprovider",
        *options,
    ]
    if isolated_network:
        command = NETWORK_NAMESPACE + command
    result = Grade(key, folder)
    start = time.perf_counter()
    try:
        completed = subprocess.run(
            command,
            cwd=KIT_ROOT,
            env=_subprocess_environment(environment),
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


def _prepare_and_grade(target: Target, workdir: Path, environment: Mapping[str, str] | None) -> Grade:
    try:
        folder = target.prepare(workdir)
    except (CatalogueError, OSError) as error:
        return Grade(target.key, None, error=f"dossier impossible à construire : {error}")
    return grade(target.key, folder, workdir, environment=environment)


def grade_all(
    targets: Iterable[Target],
    workdir: Path,
    workers: int = PARALLEL_GRADES,
    on_done: Callable[[Grade, int, int], object] | None = None,
    environment: Mapping[str, str] | None = None,
) -> dict[str, Grade]:
    """Grades every target once, ``workers`` at a time, the slow ones first.

    ``on_done(grade, done, total)`` is called (from a worker thread) after each grade: progress.
    ``environment``: variables added to every grader's environment.
    """
    ordered = sorted(targets, key=lambda target: not target.slow)
    lock = threading.Lock()
    finished = 0

    def run(target: Target) -> Grade:
        nonlocal finished
        result = _prepare_and_grade(target, workdir / _folder_name(target.key), environment)
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
