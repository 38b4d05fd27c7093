"""The grader's fingerprint: which version of the grader gave a mark.

Every results.json carries it (``extra_data.empreinte_correcteur``), so that a class graded
again after a fix of the grader knows which results are stale. It hashes what can change a
mark: the grader's Python files, the locked dependencies (poetry.lock) and the points table.
Files that only present marks already given (class report, gradebook, command lines,
platform exports) are left out: changing them calls for no new grade.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from grader.engine.criteria import CRITERIA
from grader.engine.paths import KIT_ROOT

GRADER_DIR = KIT_ROOT / "grader"
LOCK_FILE = KIT_ROOT / "poetry.lock"
RESULTS_KEY = "empreinte_correcteur"  # under results.json's extra_data
# Relative to grader/, as prefixes: read as text only, never imported (the engine stays alone).
PRESENTATION = (
    "batch/report_html.py",
    "batch/gradebook.py",
    "batch/moodle",  # moodle.py, moodle_sheet.py, moodle_zip.py: returning marks to Moodle
    "batch/cli.py",
    "batch/__main__.py",
    "batch/spreadsheet.py",
    "batch/similarity",  # similarity.py, similarity_html.py: leads for the instructor, never marks
    "batch/changes",  # changes.py, changes_report.py: what a new grade changed, told afterwards
    "platforms/",
)


def points_table() -> str:
    """The points table as text: a criterion added, renamed or re-weighted changes it."""
    return "\n".join(f"{criterion.id}\t{criterion.points!r}" for criterion in CRITERIA)


def compute_fingerprint(grader_dir: Path = GRADER_DIR, lock_file: Path = LOCK_FILE) -> str:
    """A hash of the grader's marking code, ``lock_file`` and the points table (hex, 16 chars)."""
    digest = hashlib.sha256()
    for path in sorted(grader_dir.rglob("*.py")):
        relative = path.relative_to(grader_dir).as_posix()
        if "__pycache__" in path.parts or relative.startswith(PRESENTATION):
            continue
        digest.update(b"file\0" + relative.encode() + b"\0" + path.read_bytes() + b"\0")
    try:
        digest.update(b"lock\0" + lock_file.read_bytes() + b"\0")
    except OSError:  # a kit copied without its lock: the versions installed are unknown
        digest.update(b"lock\0absent\0")
    digest.update(b"points\0" + points_table().encode())
    return digest.hexdigest()[:16]


@functools.cache
def grader_fingerprint() -> str:
    """This kit's fingerprint, computed once per process."""
    return compute_fingerprint()
