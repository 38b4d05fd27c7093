"""Finding each student's two files in a class folder (or a Moodle « download all » zip).

Every subfolder is one submission. The two files may sit anywhere inside it; obvious
renamings (``Sync_Downloader.py``, ``sync_downloader (1).py``) are accepted and said so,
duplicates are resolved deterministically and said so, symbolic links are refused, and
each file's bytes are read once here: what is graded is this snapshot, never the original.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.batch.results import worse
from grader.engine.statuses import GradeStatus

EXPECTED_FILES: tuple[str, ...] = ("sync_downloader.py", "async_downloader.py")
MAX_FILE_BYTES = 1_000_000
MAX_ARCHIVE_BYTES = 500_000_000
SKIPPED_DIRS = frozenset({"__MACOSX", "__pycache__", "node_modules", "site-packages", "venv"})
MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assign(?:submission|feedback)_\w*$")
_COPY_SUFFIX = re.compile(r"(?:\s*\(\d+\)|\s*-\s*(?:copie|copy)(?:\s*\(\d+\))?|_copy|_copie)$")
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


@dataclass(frozen=True)
class FoundFile:
    expected: str  # the contract's name: sync_downloader.py or async_downloader.py
    relative: str  # where it was, inside the submission (POSIX separators)
    content: bytes
    renamed: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class Submission:
    student: str
    slug: str
    folder: Path
    files: dict[str, FoundFile] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    statut: GradeStatus | None = None  # imposed by what was found (missing file, bad encoding)

    @property
    def gradable(self) -> bool:
        return bool(self.files)


def student_name(folder_name: str) -> str:
    """« Nom Prénom_12345_assignsubmission_file_ » → « Nom Prénom »; other names unchanged."""
    match = MOODLE_FOLDER.match(folder_name)
    return (match.group("name") if match else folder_name).strip() or folder_name


def participant_number(folder_name: str) -> int | None:
    """« Nom Prénom_12345_assignsubmission_file_ » → 12345, Moodle's participant number; else None."""
    match = MOODLE_FOLDER.match(folder_name)
    return int(match.group("id")) if match else None


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "rendu"


def expected_name(file_name: str) -> tuple[str, bool] | None:
    """The contract name a file stands for, and whether it was renamed; None if unrelated."""
    if file_name in EXPECTED_FILES:
        return file_name, False
    name = file_name.strip().lower()
    if name.endswith(".py.txt"):
        name = name[: -len(".txt")]
    if not name.endswith(".py"):
        return None
    stem = _COPY_SUFFIX.sub("", name[: -len(".py")].strip())
    stem = re.sub(r"[\s\-.]+", "_", stem).strip("_")
    candidate = f"{stem}.py"
    return (candidate, True) if candidate in EXPECTED_FILES else None


def _decodes(content: bytes) -> str | None:
    """None if Python can read the file; otherwise what is wrong with its encoding, in French."""
    try:
        content.decode("utf-8")
        return None
    except UnicodeDecodeError as error:
        for line in content.splitlines()[:2]:  # PEP 263: a declared encoding is fine too
            declared = _CODING.match(line)
            if declared:
                try:
                    content.decode(declared.group(1).decode("ascii"))
                    return None
                except (LookupError, UnicodeDecodeError):
                    break
        line_number = content[: error.start].count(b"\n") + 1
        return f"octet invalide 0x{content[error.start]:02x} à la ligne {line_number}"


@dataclass(frozen=True)
class _Candidate:
    path: Path
    relative: str
    expected: str
    renamed: bool


def _walk(folder: Path) -> tuple[list[_Candidate], list[str], list[str]]:
    """Candidates, refused links, and the other Python files (for the comment when one is missing)."""
    candidates, links, others = [], [], []
    for directory, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(filenames):
            path = Path(directory, name)
            relative = path.relative_to(folder).as_posix()
            match = expected_name(name)
            if match is None:
                if name.endswith((".py", ".zip")):
                    others.append(relative)
                continue
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                links.append(relative)
            elif stat.S_ISREG(mode):
                candidates.append(_Candidate(path, relative, match[0], match[1]))
    return candidates, links, others


def _paired_folders(candidates: list[_Candidate]) -> set[str]:
    """Folders (inside the submission) that hold a candidate for each expected file."""
    folders: dict[str, set[str]] = {}
    for candidate in candidates:
        folders.setdefault(str(PurePosixPath(candidate.relative).parent), set()).add(candidate.expected)
    return {folder for folder, names in folders.items() if len(names) == len(EXPECTED_FILES)}


def _choose(candidates: list[_Candidate], paired: set[str]) -> list[_Candidate]:
    """Best first: exact name, in a folder holding both files, shallowest, then alphabetical."""
    return sorted(
        candidates,
        key=lambda c: (
            c.renamed,
            str(PurePosixPath(c.relative).parent) not in paired,
            c.relative.count("/"),
            c.relative,
        ),
    )


def inspect_submission(folder: Path, student: str, slug: str) -> Submission:
    submission = Submission(student, slug, folder)
    candidates, links, others = _walk(folder)
    statuses: list[GradeStatus] = []
    paired = _paired_folders(candidates)
    for link in links:
        submission.comments.append(
            f"lien symbolique refusé : {link} (seuls les vrais fichiers sont corrigés)"
        )
    for expected in EXPECTED_FILES:
        mine = _choose([c for c in candidates if c.expected == expected], paired)
        if not mine:
            shown = f" ; autres fichiers présents : {', '.join(others[:5])}" if others else ""
            submission.comments.append(f"fichier manquant : {expected}{shown}")
            statuses.append(GradeStatus.INCOMPLETE)
            continue
        chosen = mine[0]
        if len(mine) > 1:
            listed = ", ".join(c.relative for c in mine)
            submission.comments.append(
                f"{len(mine)} fichiers candidats pour {expected} ({listed}) : retenu {chosen.relative} "
                "(nom exact d'abord, puis dossier qui contient les deux fichiers, le moins profond, "
                "puis ordre alphabétique)"
            )
        if chosen.renamed:
            submission.comments.append(f"{chosen.relative} accepté comme {expected} (fichier renommé)")
        size = chosen.path.lstat().st_size
        if size > MAX_FILE_BYTES:
            submission.comments.append(f"{chosen.relative} refusé : {size} octets, plus de {MAX_FILE_BYTES}")
            statuses.append(GradeStatus.ERROR)
            continue
        content = chosen.path.read_bytes()
        problem = _decodes(content)
        if problem:
            submission.comments.append(
                f"{chosen.relative} n'est pas encodé en UTF-8 ({problem}) : corrigé tel quel, mais Python "
                "peut refuser de le lire ; réenregistrez le fichier en UTF-8"
            )
            statuses.append(GradeStatus.ERROR)
        submission.files[expected] = FoundFile(expected, chosen.relative, content, chosen.renamed)
    if statuses:
        submission.statut = worse(*statuses)
    return submission


def _student_key(folder_name: str) -> str:
    """Moodle gives one folder per student and per plugin (file, onlinetext…): same key."""
    match = MOODLE_FOLDER.match(folder_name)
    return f"{match.group('name')}_{match.group('id')}" if match else folder_name


def find_submissions(class_dir: Path) -> list[Submission]:
    """One submission per subfolder of ``class_dir`` (per student for Moodle), sorted by name."""
    folders = sorted(
        (p for p in class_dir.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")),
        key=lambda p: (student_name(p.name).casefold(), p.name),
    )
    groups: dict[str, list[Path]] = {}
    for folder in folders:
        groups.setdefault(_student_key(folder.name), []).append(folder)
    submissions, used = [], set[str]()
    for group in groups.values():
        name = student_name(group[0].name)
        slug, number = slugify(name), 2
        while slug in used:
            slug, number = f"{slugify(name)}-{number}", number + 1
        used.add(slug)
        found = [inspect_submission(folder, name, slug) for folder in group]
        chosen = next((s for s in found if s.gradable), found[0])
        if len(group) > 1:
            others = ", ".join(f.name for f in group if f != chosen.folder)
            chosen.comments.append(f"autre(s) dossier(s) du même étudiant ignoré(s) : {others}")
        submissions.append(chosen)
    return submissions


class ArchiveError(ValueError):
    """A zip that cannot be used at all (not a zip, too big)."""


def extract_archive(archive: Path, destination: Path) -> tuple[Path, list[str]]:
    """Extracts a Moodle export safely; returns the class folder and what was skipped (French)."""
    skipped: list[str] = []
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveError(f"{archive.name} n'est pas une archive zip lisible : {error}") from error
    with bundle:
        infos = bundle.infolist()
        if sum(info.file_size for info in infos) > MAX_ARCHIVE_BYTES:
            raise ArchiveError(f"{archive.name} : plus de {MAX_ARCHIVE_BYTES} octets une fois décompressée")
        for info in infos:
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if info.is_dir():
                continue
            if not parts or info.filename.startswith("/") or ".." in parts or ":" in parts[0]:
                skipped.append(f"{info.filename} (chemin hors de l'archive)")
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                skipped.append(f"{info.filename} (lien symbolique)")
                continue
            if info.file_size > MAX_FILE_BYTES * 5:
                skipped.append(f"{info.filename} (trop gros)")
                continue
            target = destination.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(bundle.read(info))
    root = destination
    while True:  # a zip that wraps the class folder in one more folder
        entries = [p for p in root.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
        if len(entries) == 1 and entries[0].is_dir() and not MOODLE_FOLDER.match(entries[0].name):
            inner = [p for p in entries[0].iterdir() if p.is_dir()]
            if inner and not any(p.is_file() and expected_name(p.name) for p in entries[0].iterdir()):
                root = entries[0]
                continue
        return root, skipped
