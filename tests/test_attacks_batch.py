"""A class graded in batch while one submission tries to spoil its classmate's images.

Two copies of the solution are graded by ``python -m grader.batch`` two at a time, in a
fresh network namespace (loopback only). One of them, from a thread started at import and
again in each main(), deletes, truncates or overwrites every image file it can reach under
/tmp and under every parent of its working folder, where a classmate's scratch folder would
be. With one uid and one bubblewrap box per grade, the classmate must still get 20/20.

Needs root on Linux, bubblewrap and ``unshare -n``: otherwise skipped, with the reason.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.engine import bubblewrap
from grader.engine.paths import KIT_ROOT
from tests.attack_harness import unshare_problem
from tests.catalogue import NETWORK_NAMESPACE, SOLUTION_DIR, _subprocess_environment

FILES = ("sync_downloader.py", "async_downloader.py")
MOODLE = "_assignsubmission_file_"
VICTIM, SABOTEUR = "Victime Alice", "Saboteur Bob"
BATCH_SECONDS = 240

SABOTAGE = """

# --- Sabotage : toutes les images que ce processus peut atteindre, hors de son propre dossier ---
import os as _os
import threading as _threading
from pathlib import Path as _Path

_MIEN = _Path.cwd().resolve()
_IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico"}


def _saboter():
    racines = [_Path("/tmp"), *[p for p in _MIEN.parents if p != _Path("/")]]
    vus = 0
    for racine in racines:
        for dossier, _, fichiers in _os.walk(racine, onerror=lambda erreur: None):
            for nom in fichiers:
                vus += 1
                if vus > 20000:
                    return
                chemin = _Path(dossier) / nom
                if chemin.suffix.lower() not in _IMAGES or _MIEN in chemin.parents:
                    continue
                for geste in (chemin.unlink, lambda: chemin.write_bytes(b"sabote")):
                    try:
                        geste()
                    except OSError:
                        pass


def _sans_fin():
    while True:
        _saboter()
        time.sleep(0.05)


_threading.Thread(target=_sans_fin, daemon=True).start()
"""

MAIN_GUARD = '\nif __name__ == "__main__":\n'
SYNC_START = '    logger.info("Début du téléchargement séquentiel de %d images", len(urls))\n'
ASYNC_START = '    logger.info("Début du téléchargement concurrent de %d images", len(urls))\n'


def _skip_reason() -> str | None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "il faut être root sous Linux (un uid et un bac à sable par correction)"
    if not bubblewrap.available():
        return "bubblewrap (bwrap) est absent ou refusé par le noyau"
    problem = unshare_problem()
    return f"{problem} (il faut un espace de noms réseau vide)" if problem else None


def _submission(class_dir: Path, name: str, number: int) -> Path:
    folder = class_dir / f"{name}_{number}{MOODLE}"
    folder.mkdir(parents=True)
    for file in FILES:
        shutil.copyfile(SOLUTION_DIR / file, folder / file)
    return folder


def _sabotage(folder: Path) -> None:
    for file, start in zip(FILES, (SYNC_START, ASYNC_START), strict=True):
        path = folder / file
        text = path.read_text(encoding="utf-8")
        assert text.count(MAIN_GUARD) == 1 and text.count(start) == 1, f"solution/{file} a changé"
        text = text.replace(MAIN_GUARD, SABOTAGE + MAIN_GUARD).replace(start, "    _saboter()\n" + start)
        path.write_text(text, encoding="utf-8")


def _rows(csv_path: Path) -> dict[str, dict[str, str]]:
    text = csv_path.read_bytes().decode("utf-8-sig")
    return {row["Étudiant"]: row for row in csv.DictReader(io.StringIO(text), delimiter=";")}


def test_a_saboteur_cannot_spoil_a_classmate_graded_beside_it(tmp_path: Path) -> None:
    reason = _skip_reason()
    if reason:
        pytest.skip(f"Correction par lot avec saboteur non lancée : {reason}.")
    class_dir, out_dir, temp = tmp_path / "promo", tmp_path / "promo-notes", tmp_path / "systmp"
    _submission(class_dir, VICTIM, 201)
    _sabotage(_submission(class_dir, SABOTEUR, 202))
    temp.mkdir()
    temp.chmod(0o1777)  # like /tmp: both grades' scratch folders side by side, under the saboteur's parents
    env = _subprocess_environment()
    env["TMPDIR"] = str(temp)
    command = [sys.executable, "-m", "grader.batch", str(class_dir), "--out", str(out_dir), "--jobs", "2"]
    completed = subprocess.run(
        NETWORK_NAMESPACE + command,
        cwd=KIT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=BATCH_SECONDS,
        check=False,
    )
    output = (completed.stdout + completed.stderr)[-3000:]
    assert completed.returncode == 0, f"Attendu : code de sortie 0 ; vu {completed.returncode} :\n{output}"
    rows = _rows(out_dir / "notes.csv")
    expected = {VICTIM, SABOTEUR}
    assert set(rows) == expected, f"Attendu : une ligne par rendu {sorted(expected)} ; vu {sorted(rows)}"
    seen = rows[VICTIM]["Note /20"]
    assert seen == "20", (
        f"Attendu : {VICTIM} garde 20/20 malgré le saboteur corrigé à côté ; vu {seen}/20 "
        f"({rows[VICTIM].get('Commentaire', '')})\n{output}"
    )
