"""Building dist/autograder.zip for Gradescope: setup.sh, run_autograder, the grader, the lock.

The zip holds the grader only: no solution/, no skeleton/, no kit tests. setup.sh installs
Python 3.13 (deadsnakes, on Gradescope's Ubuntu 22.04 image) and the locked dependencies
from a pinned, hashed requirements file generated here from poetry.lock, so nothing is
resolved or downloaded at grading time.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from grader.engine.paths import KIT_ROOT
from grader.platforms.lockfile import requirements_text

DEFAULT_ZIP = KIT_ROOT / "dist" / "autograder.zip"
FIXED_DATE = (2024, 1, 1, 0, 0, 0)  # same bytes for the same sources

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04,
# whose Python 3.10 is too old): Python 3.13 from deadsnakes, then the locked dependencies.
set -euxo pipefail
export DEBIAN_FRONTEND=noninteractive
SOURCE="$(cd "$(dirname "$0")" && pwd)"
apt-get update
apt-get install -y --no-install-recommends software-properties-common gpg-agent
add-apt-repository -y ppa:deadsnakes/ppa
apt-get update
apt-get install -y --no-install-recommends python3.13 python3.13-venv
python3.13 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --no-deps --require-hashes -r "$SOURCE/requirements.txt"
/autograder/venv/bin/python -c "import aiofiles, aiohttp, aioresponses, pytest, requests, responses"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission: grades /autograder/submission (the two files at
# its root or in one subfolder) and writes /autograder/results/results.json.
# AUTOGRADER_ROOT moves /autograder (the kit's tests run it locally); AUTOGRADER_PYTHON picks
# the interpreter (default: the one setup.sh installed). The grader's output goes to a log,
# never into results.json.
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
cd "$ROOT/source" || exit 1
"$PYTHON" -m grader.platforms.gradescope run --submission "$ROOT/submission" --results "$RESULTS" \\
    >"$ROOT/results/correction.log" 2>&1
status=$?
if [ ! -s "$RESULTS" ]; then
    message="La correction automatique a échoué : prévenez votre enseignant."
    printf '{"score": 0.0, "output": "%s", "tests": []}\\n' "$message" >"$RESULTS"
fi
echo "Correction terminée (code $status), journal : $ROOT/results/correction.log"
"""


def _add(bundle: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, FIXED_DATE)
    info.external_attr = (0o755 if executable else 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, data)


def build_zip(out: Path | None = None, kit_root: Path = KIT_ROOT) -> Path:
    out = (out or DEFAULT_ZIP).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as bundle:
        _add(bundle, "setup.sh", SETUP_SH.encode(), executable=True)
        _add(bundle, "run_autograder", RUN_AUTOGRADER.encode(), executable=True)
        _add(bundle, "requirements.txt", requirements_text(kit_root / "poetry.lock").encode())
        for name in ("pyproject.toml", "poetry.lock"):
            _add(bundle, name, (kit_root / name).read_bytes())
        for path in sorted((kit_root / "grader").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                _add(bundle, path.relative_to(kit_root).as_posix(), path.read_bytes())
    return out
