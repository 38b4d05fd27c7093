"""Where things are: the kit, the submitted folder, the two student files."""

from __future__ import annotations

from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent.parent
ENGINE_DIR = Path(__file__).resolve().parent
WORKER_PACKAGE = ENGINE_DIR / "worker"  # all a worker runs: loaded by path, never as grader.*
KIT_FOLDERS = ("skeleton", "solution")

PART_FILES: dict[str, str] = {"sync": "sync_downloader.py", "async": "async_downloader.py"}
PARTS = tuple(PART_FILES)


def resolve_target(value: str | Path) -> Path:
    """``skeleton`` and ``solution`` name the kit's folders; anything else is a path."""
    if str(value) in KIT_FOLDERS and not Path(value).is_dir():
        return KIT_ROOT / str(value)
    return Path(value).resolve()


def shown_path(path: Path) -> str:
    """A path as a student knows it: relative to the current folder when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
