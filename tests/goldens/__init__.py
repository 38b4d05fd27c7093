"""Golden grades: a real grade's observations, and the results.json the grader made of them.

Each folder ``tests/goldens/<key>/`` holds ``observations.json`` (what a real grade observed,
recorded with ``pytest grader --enregistrer``) and ``results.json`` (what that grade wrote,
normalized: see :func:`normalized`). The fast tier (tests/test_rapide_goldens.py) judges the
observations again with ``pytest grader --rejouer``, in its own process and without any
worker, and compares the results with the golden, as exercism's test runners compare their
golden results.json: normalized, then exact.

``poetry run -- python -m tests.goldens --refresh`` grades every golden again for real and
rewrites both files (see __main__.py).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.engine.fingerprint import RESULTS_KEY
from tests.catalogue import CATALOGUE, SOLUTION_DIR, Mutant, build_mutant
from tests.pristine import pristine_skeleton

GOLDENS_DIR = Path(__file__).resolve().parent
KIT_ROOT = GOLDENS_DIR.parent.parent
OBSERVATIONS = "observations.json"
RESULTS = "results.json"

# Mutants chosen to cover different outcomes: a module that does not load, code that hangs,
# a claim contradicted by the server (one connection per request), a part 2 criterion lost.
GOLDEN_MUTANTS = (
    "sync_erreur_de_syntaxe",
    "sync_boucle_infinie",
    "sync_session_dans_la_boucle",
    "async_await_dans_la_boucle",
    "async_sans_raise_for_status",
)


@dataclass(frozen=True)
class Golden:
    key: str  # the folder's name under tests/goldens/
    build: Callable[[Path], Path]  # the graded folder (built under the given work dir)
    mutant: Mutant | None = None

    @property
    def folder(self) -> Path:
        return GOLDENS_DIR / self.key

    @property
    def observations(self) -> Path:
        return self.folder / OBSERVATIONS

    @property
    def results(self) -> Path:
        return self.folder / RESULTS


def _mutant(name: str) -> Golden:
    mutant = next(m for m in CATALOGUE.mutants if m.name == name)
    return Golden(f"mutant-{name}", lambda workdir: build_mutant(mutant, workdir / "dossier"), mutant)


GOLDENS: tuple[Golden, ...] = (
    Golden("solution", lambda workdir: SOLUTION_DIR),
    # The committed skeleton, never the working copy a student may have filled in.
    Golden("skeleton", lambda workdir: pristine_skeleton().folder),
    *(_mutant(name) for name in GOLDEN_MUTANTS),
)
BY_KEY = {golden.key: golden for golden in GOLDENS}


# --- normalizing results.json ----------------------------------------------------------------

VOLATILE_KEYS = frozenset({"execution_time", RESULTS_KEY})  # the grade's duration, the grader's version
_NORMALIZED_TEXT = (
    # The graded folder: a temporary folder for mutants, relative or absolute for the others.
    (re.compile(r"^Correction de : .*$", re.MULTILINE), "Correction de : <dossier>"),
    # The grade's own unprivileged uid (root only), new for every grade.
    (re.compile(r"\(uid \d+\)"), "(uid <uid>)"),
    (re.compile(re.escape(tempfile.gettempdir()) + r"/[^\s«»()\"',;]*"), "<temporaire>"),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<heure>"),
)


def normalized_text(text: str) -> str:
    for pattern, replacement in _NORMALIZED_TEXT:
        text = pattern.sub(replacement, text)
    return text


def normalized(value: Any) -> Any:
    """results.json without what changes from one grade of the same observations to the next
    (its duration), nor from one machine to the next (graded folder, uid, temporary paths,
    times of day); everything else is compared exactly."""
    if isinstance(value, str):
        return normalized_text(value)
    if isinstance(value, dict):
        return {key: normalized(item) for key, item in value.items() if key not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [normalized(item) for item in value]
    return value


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def golden_text(document: Any) -> str:
    """How a normalized results.json is written in tests/goldens (readable, stable)."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


# --- comparing ---------------------------------------------------------------------------------


def _shown(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


def differences(expected: Any, seen: Any, where: str = "results.json") -> list[str]:
    """Every place where ``seen`` differs from ``expected``, in French: where, expected, seen.

    Texts are compared line by line: the first line that differs is shown.
    """
    if isinstance(expected, dict) and isinstance(seen, dict):
        found = []
        for key in expected.keys() | seen.keys():
            if key not in seen:
                found.append(f"{where}.{key} : attendu {_shown(expected[key])} ; vu : champ absent")
            elif key not in expected:
                found.append(f"{where}.{key} : attendu : champ absent ; vu {_shown(seen[key])}")
            else:
                found += differences(expected[key], seen[key], f"{where}.{key}")
        return sorted(found)
    if isinstance(expected, list) and isinstance(seen, list):
        if len(expected) != len(seen):
            return [f"{where} : attendu {len(expected)} élément(s) ; vu {len(seen)}"]
        return [
            line
            for i, (e, s) in enumerate(zip(expected, seen, strict=True))
            for line in differences(e, s, f"{where}[{i}]")
        ]
    if isinstance(expected, str) and isinstance(seen, str) and expected != seen:
        wanted, got = expected.split("\n"), seen.split("\n")
        for number, (e, s) in enumerate(zip(wanted, got, strict=False), start=1):
            if e != s:
                return [f"{where}, ligne {number} : attendu {_shown(e)} ; vu {_shown(s)}"]
        return [f"{where} : attendu {len(wanted)} ligne(s) ; vu {len(got)}"]
    if expected != seen or type(expected) is not type(seen):
        return [f"{where} : attendu {_shown(expected)} ; vu {_shown(seen)}"]
    return []


# --- replaying -----------------------------------------------------------------------------------


def replay_arguments(observations: Path, results: Path) -> list[str]:
    """``pytest`` arguments that judge recorded observations (run from the kit's root)."""
    return ["grader", f"--rejouer={observations}", f"--results={results}", "-p", "no:cacheprovider"]
