"""``python -m tests.goldens --refresh [CLÉ…]``: grades the goldens again for real, rewrites them.

For each golden (all of them, or the keys given): builds its folder, grades it with the real
grader (workers, sandbox, local servers) while recording its observations (``--enregistrer``),
then checks that judging these observations again (``--rejouer``, in a new process) gives the
same results.json once normalized, and that the mark is the expected one (20 for the
solution, 0 for the skeleton, exactly the criteria a mutant declares). Only then are
``observations.json`` and the normalized ``results.json`` written in ``tests/goldens/<key>/``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.catalogue import PARALLEL_GRADES, CatalogueError, full_marks, grade
from tests.goldens import (
    BY_KEY,
    GOLDENS,
    KIT_ROOT,
    OBSERVATIONS,
    RESULTS,
    Golden,
    differences,
    golden_text,
    normalized,
    read_json,
    replay_arguments,
)

REPLAY_TIMEOUT = 60.0


def _expected_mark_problem(golden: Golden, score: float | None, lost: frozenset[str]) -> str:
    if golden.key == "solution" and score != full_marks():
        return f"attendu {full_marks():g}/20 pour le corrigé ; vu {score}"
    if golden.key == "skeleton" and score != 0:
        return f"attendu 0/20 pour le squelette ; vu {score}"
    if golden.mutant is not None and lost != golden.mutant.loses:
        return f"attendu les critères perdus {sorted(golden.mutant.loses)} ; vu {sorted(lost)}"
    return ""


def _replayed(observations: Path, results: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", *replay_arguments(observations, results)]
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        command,
        cwd=KIT_ROOT,
        env={**_environment(), **env},
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=REPLAY_TIMEOUT,
        check=False,
    )


def _environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}


def refresh(golden: Golden, workdir: Path) -> str:
    """Grades ``golden`` for real and rewrites its files; returns a French problem, or ''."""
    recorded = workdir / OBSERVATIONS
    try:
        folder = golden.build(workdir)
    except (CatalogueError, OSError) as error:
        return f"dossier impossible à construire : {error}"
    graded = grade(golden.key, folder, workdir, options=[f"--enregistrer={recorded}"])
    if not graded.ok:
        return graded.problem()
    if not recorded.is_file():
        return f"aucune observation enregistrée :\n{graded.stdout[-800:]}"
    problem = _expected_mark_problem(golden, graded.score, graded.lost)
    if problem:
        return problem
    real = normalized(read_json(workdir / RESULTS))
    replayed_results = workdir / "rejoue.json"
    done = _replayed(recorded, replayed_results)
    if done.returncode != 0 or not replayed_results.is_file():
        return f"le rejeu a échoué (code {done.returncode}) :\n{(done.stdout + done.stderr)[-800:]}"
    found = differences(real, normalized(read_json(replayed_results)))
    if found:
        return "le rejeu ne redonne pas les résultats de la correction réelle :\n" + "\n".join(found[:10])
    golden.folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(recorded, golden.observations)
    golden.results.write_text(golden_text(real), encoding="utf-8")
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.goldens",
        description="Goldens du correcteur (tests/goldens) : observations d'une vraie correction "
        "et results.json attendu, rejoués en quelques secondes par les tests rapides.",
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="corrige de nouveau chaque golden pour de vrai et réécrit ses deux fichiers",
    )
    parser.add_argument(
        "keys", nargs="*", metavar="CLÉ", help=f"goldens à refaire (défaut : tous) : {', '.join(BY_KEY)}"
    )
    options = parser.parse_args(argv)
    unknown = [key for key in options.keys if key not in BY_KEY]
    if unknown:
        parser.error(f"golden(s) inconnu(s) : {', '.join(unknown)} ; connus : {', '.join(BY_KEY)}")
    if not options.refresh:
        for golden in GOLDENS:
            print(f"{golden.key} : {golden.folder.relative_to(KIT_ROOT)}")
        print("Pour les refaire : poetry run -- python -m tests.goldens --refresh [CLÉ…]")
        return 0
    chosen = [BY_KEY[key] for key in options.keys] or list(GOLDENS)
    with (
        tempfile.TemporaryDirectory(prefix="goldens-") as scratch,
        ThreadPoolExecutor(max_workers=PARALLEL_GRADES) as pool,
    ):
        found = pool.map(lambda golden: refresh(golden, Path(scratch) / golden.key), chosen)
        problems = dict(zip((golden.key for golden in chosen), found, strict=True))
    for key, problem in problems.items():
        print(f"{key} : {'réécrit' if not problem else 'NON réécrit : ' + problem}")
    return 1 if any(problems.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
