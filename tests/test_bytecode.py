"""The workers' bytecode: written once by the kit, so that no worker compiles at start."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from grader.engine import bytecode
from grader.engine.paths import WORKER_PACKAGE


def test_a_fresh_worker_package_gets_its_bytecode_and_that_of_its_libraries(tmp_path: Path) -> None:
    package = tmp_path / "worker"
    shutil.copytree(WORKER_PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    before = bytecode.missing(package)
    assert package / "main.py" in before, (
        f"attendu main.py sans fichier compilé dans une copie neuve ; vu à compiler : {before}"
    )
    bytecode.compile_imports(package)
    after = bytecode.missing(package)
    assert after == [], f"attendu tout compilé après compile_imports ; vu encore à compiler : {after}"


def test_part_1_worker_never_loads_aiohttp() -> None:
    """aiohttp costs a tenth of a second of CPU per worker: part 1 neither needs nor loads it."""
    script = (
        bytecode.LOAD_WORKER_PACKAGE
        + "import importlib, worker.main\n"
        + "for name in worker.main.PRELOAD['sync']:\n"
        + "    importlib.import_module(name)\n"
        + "import worker.scenarios, worker.mocks\n"
        + "print(sorted(n for n in ('aiohttp', 'aioresponses', 'aiofiles') if n in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-B", "-c", script, str(WORKER_PACKAGE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "[]", (
        f"attendu aucune bibliothèque de la partie 2 chargée par l'ouvrier de la partie 1 ; "
        f"vu {done.stdout.strip()!r} (code {done.returncode}, {done.stderr[-400:]!r})"
    )
