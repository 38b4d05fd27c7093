"""Grades the attack catalogue (tests/attacks/*.toml) and checks that every attack stays contained.

Each attack is graded by the grader's CLI in a subprocess, inside a fresh network namespace
(``unshare --net``), from a work folder of its own::

    WORK/rendu/      the attack's submission (--target)
    WORK/camarade/   a classmate's submission, next to it: must stay untouched
    WORK/canari/     an empty folder, next to it: must stay empty
    WORK/resultats/  results.json (--results), written by the grader only
    WORK/harnais/    this harness's own files (pids, exit code)
    WORK/tmp/        the grader's scratch space (--basetemp)
    WORK/systmp/     its TMPDIR

A small launcher (the *nanny*, the grader's parent) brings the loopback up, caps the address
space (a safety net for this shared machine, far above what a grader needs), starts the
grader and reports its pid. The grader's standard input is a pipe that stays open and silent,
like a terminal nobody types in.

The checks are listed in tests/attacks/README.md. Run one or more attacks by name, for an
engine author to iterate (``--sortie`` shows the grader's output, ``--garder`` keeps the work
folder, ``--liste`` lists the attacks)::

    python -m tests.attack_harness NAME [NAME…] [--sortie] [--garder]

or ``pytest tests/test_attacks.py -k NAME``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import re
import select
import shutil
import signal
import site
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from grader.engine import bytecode
from grader.engine.criteria import BY_ID, TOTAL_POINTS
from grader.engine.french_numbers import fr_number
from grader.engine.paths import KIT_ROOT
from grader.engine.report import MAX_RESULTS_BYTES
from grader.engine.sandbox import remove_tree
from tests.catalogue import (
    CRITERION_IDS,
    PART_CRITERIA,
    SOLUTION_DIR,
    Attack,
    CatalogueError,
    _subprocess_environment,
    build_attack,
    build_folder,
    load_attacks,
)

PARALLEL_ATTACKS = 2
GRACE_SECONDS = 1.0  # past max_seconds + this, the grader is killed
STABLE_SECONDS = 3.0  # results.json must not change during this long after the grader exits
START_SECONDS = 10.0  # the nanny reports the grader's pid within this
ADDRESS_SPACE_LIMIT = 4 * 2**30  # safety net for the machine, not part of the contract
OUTPUT_KEPT = 256 * 1024  # bytes of the grader's output kept at each end
SITE_PACKAGES = "{site-packages}"
MARKER_VARIABLE = "TP_ATTAQUE_ID"
CONSOLE_NOTE = re.compile(r"Note\s*:\s*(\d+(?:[.,]\d+)?)\s*/\s*20\b")
NETWORK_WORD = "réseau"

# The grader's parent: it must outlive the grader and exit 0, so a signal sent to it shows.
NANNY = r"""
import os, resource, subprocess, sys
state_file, limit, *command = sys.argv[1:]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
child = subprocess.Popen(command)
net = os.readlink("/proc/self/ns/net")
with open(state_file + ".tmp", "w") as f:
    f.write(f"{child.pid} {net}\n")
os.replace(state_file + ".tmp", state_file)
code = child.wait()
with open(state_file + ".rc", "w") as f:
    f.write(str(code))
"""


def unshare_problem() -> str | None:
    """Why attacks cannot run in a fresh network namespace here, or None if they can."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "les commandes unshare et ip sont introuvables"
    try:
        done = subprocess.run(
            ["unshare", "--net", "ip", "link", "set", "lo", "up"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unshare --net a échoué : {error}"
    if done.returncode != 0:
        return (
            f"unshare --net refusé ({done.stderr.strip() or done.returncode}) : il faut être root sous Linux"
        )
    return None


# --- file states ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    kind: str  # "file", "dir", "link"
    mode: int
    mtime_ns: int
    digest: str  # file: sha256 of the content; link: its target


def _entry(path: Path) -> Entry | None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return Entry("link", info.st_mode, info.st_mtime_ns, os.readlink(path))
    if stat.S_ISDIR(info.st_mode):
        return Entry("dir", info.st_mode, info.st_mtime_ns, "")
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(info.st_mode) else "?"
    return Entry("file", info.st_mode, info.st_mtime_ns, digest)


def tree_state(root: Path, skip: Iterable[str] = ()) -> dict[str, Entry]:
    """Every path under ``root`` (relative, without following links), ``skip`` names left out."""
    skipped = set(skip)
    state: dict[str, Entry] = {}
    top = _entry(root)
    if top is None:
        return state
    state["."] = top
    if top.kind != "dir":
        return state
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not (here == root and d in skipped))
        for name in sorted(dirs + files):
            if here == root and name in skipped:
                continue
            entry = _entry(here / name)
            if entry is not None:
                state[str((here / name).relative_to(root))] = entry
    return state


def _content_changes(before: dict[str, Entry], after: dict[str, Entry], ignore_dir_times: bool) -> list[str]:
    changes = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        if old is None:
            changes.append(f"{path} créé")
        elif new is None:
            changes.append(f"{path} supprimé")
        elif old.kind != new.kind or old.digest != new.digest:
            changes.append(f"{path} modifié")
        elif old.mode != new.mode:
            changes.append(f"{path} : droits changés")
        elif old.mtime_ns != new.mtime_ns and not (ignore_dir_times and old.kind == "dir"):
            changes.append(f"{path} : date de modification changée")
    return changes


def site_packages() -> list[Path]:
    return [Path(folder) for folder in site.getsitepackages()]


def _pth_files() -> list[Path]:
    """Every .pth file of the environment (sys.prefix/**) and of its site-packages."""
    found = set(Path(sys.prefix).rglob("*.pth"))
    for folder in site_packages():
        found.update(folder.glob("*.pth"))
    return sorted(found)


def canary_paths(canary: str) -> list[Path]:
    """A canary's absolute path(s): relative to the kit root, or in each site-packages."""
    if canary.startswith(SITE_PACKAGES + "/"):
        return [folder / canary.removeprefix(SITE_PACKAGES + "/") for folder in site_packages()]
    return [KIT_ROOT / canary]


@dataclass
class KitSnapshot:
    """The kit's files (without .git, with __pycache__) and the environment's .pth files, with
    their bytes."""

    state: dict[Path, Entry]
    contents: dict[Path, bytes]

    @classmethod
    def take(cls) -> KitSnapshot:
        state: dict[Path, Entry] = {}
        for relative, entry in tree_state(KIT_ROOT, skip={".git"}).items():
            if relative != ".":
                state[KIT_ROOT / relative] = entry
        for path in _pth_files():
            found = _entry(path)
            if found is not None:
                state[path] = found
        contents = {path: path.read_bytes() for path, entry in state.items() if entry.kind == "file"}
        return cls(state, contents)

    def changes(self, after: KitSnapshot) -> list[str]:
        before = {str(path): entry for path, entry in self.state.items()}
        now = {str(path): entry for path, entry in after.state.items()}
        return _content_changes(before, now, ignore_dir_times=True)

    def restore(self, roots: Iterable[Path] | None = None) -> list[str]:
        """Puts back what changed under ``roots`` (default: the kit root); returns the repairs.

        Files in site-packages are repaired only when named (a canary): another program
        may install packages meanwhile.
        """
        roots = [KIT_ROOT] if roots is None else list(roots)
        candidates: set[Path] = set()
        for root in roots:
            if root == KIT_ROOT:
                candidates.update(
                    path for path in _walk(root) if path.relative_to(root).parts[:1] != (".git",)
                )
                candidates.discard(root)
            else:
                candidates.update(_walk(root))
            candidates.update(path for path in self.state if path == root or path.is_relative_to(root))
        repaired = []
        for path in sorted(candidates, key=lambda p: len(p.parts), reverse=True):
            old, new = self.state.get(path), _entry(path)
            if old == new or (old is not None and new is not None and old.kind == new.kind == "dir"):
                continue
            if new is not None:
                if new.kind == "dir":
                    shutil.rmtree(path)
                else:
                    path.unlink()
            if old is not None:
                if old.kind == "dir":
                    path.mkdir(parents=True, exist_ok=True)
                elif old.kind == "link":
                    path.symlink_to(old.digest)
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(self.contents[path])
                    os.chmod(path, stat.S_IMODE(old.mode))
                    os.utime(path, ns=(old.mtime_ns, old.mtime_ns))
            repaired.append(str(path))
        return repaired


def _walk(path: Path) -> list[Path]:
    """``path`` and everything under it, without following links."""
    if not (path.exists() or path.is_symlink()):
        return []
    if path.is_symlink() or not path.is_dir():
        return [path]
    return [path, *(Path(folder) / name for folder, dirs, files in os.walk(path) for name in dirs + files)]


def _canary_roots(attack: Attack) -> list[Path]:
    return [path for canary in attack.canaries for path in canary_paths(canary)]


def _canary_state(attack: Attack) -> dict[str, Entry]:
    """Every path under the attack's canaries, by absolute path."""
    state = {}
    for root in _canary_roots(attack):
        for relative, entry in tree_state(root).items():
            state[str(root if relative == "." else root / relative)] = entry
    return state


# --- the grader's output -------------------------------------------------------------------


class Drain:
    """Reads a pipe to its end in a thread, keeping only its beginning and its end."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._fd = pipe.fileno()
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.total = 0
        self._pipe = pipe
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        with self._pipe:
            while chunk := os.read(self._fd, 65536):
                self.total += len(chunk)
                room = OUTPUT_KEPT - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                if chunk:
                    self.tail.append(chunk)
                    self.tail_size += len(chunk)
                    while self.tail_size - len(self.tail[0]) >= OUTPUT_KEPT:
                        self.tail_size -= len(self.tail.popleft())

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def text(self) -> str:
        tail = b"".join(self.tail)
        skipped = self.total - len(self.head) - len(tail)
        middle = f"\n[… {skipped} octets non conservés …]\n".encode() if skipped > 0 else b""
        return (bytes(self.head) + middle + tail).decode("utf-8", errors="replace")


# --- one attack ----------------------------------------------------------------------------


@dataclass
class AttackRun:
    attack: Attack
    work: Path
    marker: str
    started: float = 0.0
    exited_at: float | None = None  # time.monotonic() when the grader was seen gone
    elapsed: float | None = None
    timed_out: bool = False
    grader_pid: int | None = None
    grader_code: int | None = None
    netns: str | None = None
    stdout: Drain | None = None
    stderr: Drain | None = None
    results_at_exit: bytes | None = None
    document: dict[str, Any] | None = None
    violations: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    before: dict[str, dict[str, Entry]] = field(default_factory=dict)
    canaries_before: dict[str, Entry] = field(default_factory=dict)
    stdin_writer: int | None = None
    nanny: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return self.attack.name

    @property
    def results_path(self) -> Path:
        return self.work / "resultats" / "results.json"

    @property
    def score(self) -> float | None:
        if self.document is None:
            return None
        value = self.document.get("score")
        return float(value) if isinstance(value, int | float) else None

    @property
    def console(self) -> str:
        out = self.stdout.text if self.stdout else ""
        err = self.stderr.text if self.stderr else ""
        return out + ("\n--- sortie d'erreur ---\n" + err if err.strip() else "")

    def fail(self, message: str) -> None:
        self.violations.append(message)


def _grader_command(run: AttackRun) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "grader",
        f"--target={run.work / 'rendu'}",
        f"--results={run.results_path}",
        f"--basetemp={run.work / 'tmp'}",
        "-p",
        "no:cacheprovider",
    ]


def _environment(marker: str, temp: Path) -> dict[str, str]:
    env = _subprocess_environment()
    env["TMPDIR"] = str(temp)  # the grader's temporary files stay in the work folder
    env.pop("OLDPWD", None)
    env["PWD"] = str(KIT_ROOT)  # as when launched from the root of the kit under test
    env[MARKER_VARIABLE] = marker
    return env


def prepare(attack: Attack, root: Path) -> AttackRun:
    """Builds the attack's work folder and records what must not change."""
    work = root / attack.name
    if work.exists():
        remove_tree(work)
    work.mkdir(parents=True)
    build_attack(attack, work / "rendu")
    build_folder(work / "camarade", base=SOLUTION_DIR)
    for name in ("canari", "resultats", "harnais", "systmp"):
        (work / name).mkdir()
    for path in [work, *work.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    (work / "systmp").chmod(0o1777)  # TMPDIR, like /tmp
    run = AttackRun(attack, work, uuid.uuid4().hex)
    run.before = {name: tree_state(work / name) for name in ("rendu", "camarade", "canari", "resultats")}
    run.canaries_before = _canary_state(attack)
    return run


def _read_state_file(path: Path) -> tuple[int, str] | None:
    try:
        pid, net = path.read_text().split()
        return int(pid), net
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] not in {"Z", "X"}


def _belongs(entry: Path, netns: str | None, marker: bytes, work: str) -> bool:
    """In the attack's network namespace, carrying its marker, or working in its folder."""
    with contextlib.suppress(OSError):
        if netns is not None and os.readlink(entry / "ns" / "net") == netns:
            return True
    with contextlib.suppress(OSError):
        if marker in b"\0" + (entry / "environ").read_bytes():
            return True
    with contextlib.suppress(OSError):
        cwd = os.readlink(entry / "cwd")
        if cwd == work or cwd.startswith(work + "/"):
            return True
    with contextlib.suppress(OSError):
        if work.encode() + b"/" in (entry / "cmdline").read_bytes():
            return True
    return False


def attack_processes(run: AttackRun) -> list[int]:
    """The live processes that belong to this attack (never this one)."""
    own_netns = os.readlink("/proc/self/ns/net")
    netns = run.netns if run.netns and run.netns != own_netns else None
    marker = f"\0{MARKER_VARIABLE}={run.marker}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid() or not _alive(int(entry.name)):
            continue
        if _belongs(entry, netns, marker, str(run.work)):
            found.append(int(entry.name))
    return found


def _kill(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def launch(run: AttackRun) -> None:
    """Starts the grader on the attack, in a fresh network namespace, under the nanny."""
    stdin_reader, run.stdin_writer = os.pipe()
    state_file = run.work / "harnais" / "correcteur"
    command = [
        "unshare",
        "--net",
        sys.executable,
        "-I",
        "-c",
        NANNY,
        str(state_file),
        str(ADDRESS_SPACE_LIMIT),
        *_grader_command(run),
    ]
    run.started = time.monotonic()
    run.nanny = subprocess.Popen(
        command,
        cwd=KIT_ROOT,
        env=_environment(run.marker, run.work / "systmp"),
        stdin=stdin_reader,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    os.close(stdin_reader)
    assert run.nanny.stdout is not None and run.nanny.stderr is not None
    run.stdout, run.stderr = Drain(run.nanny.stdout), Drain(run.nanny.stderr)


def wait_for_grader(run: AttackRun) -> None:
    """Waits for the grader to exit, killing it past max_seconds + grace."""
    assert run.nanny is not None
    limit = run.started + run.attack.max_seconds + GRACE_SECONDS
    state_file = run.work / "harnais" / "correcteur"
    state = None
    while state is None and time.monotonic() < run.started + START_SECONDS:
        state = _read_state_file(state_file)
        if state is None:
            if run.nanny.poll() is not None:
                break
            time.sleep(0.02)
    if state is None:
        run.exited_at = time.monotonic()
        run.fail("Attendu : le correcteur démarre ; vu : son lanceur n'a jamais indiqué son pid.")
        _kill(attack_processes(run))
        return
    run.grader_pid, run.netns = state
    try:
        pidfd: int | None = os.pidfd_open(run.grader_pid)
    except ProcessLookupError:
        pidfd = None
    if pidfd is not None:
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            if not poller.poll(max(0.0, limit - time.monotonic()) * 1000):
                run.timed_out = True
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                _kill(pid for pid in attack_processes(run) if pid != run.nanny.pid)
                poller.poll(5000)
        finally:
            os.close(pidfd)
    run.exited_at = time.monotonic()
    run.elapsed = run.exited_at - run.started
    if run.timed_out:
        run.fail(
            f"Attendu : le correcteur se termine seul en moins de {run.attack.max_seconds:g} s ; "
            f"vu : toujours en cours après {run.elapsed:.1f} s, arrêté par le test (SIGKILL)."
        )


def check_nanny(run: AttackRun) -> None:
    """The process that launched the grader must be untouched: not stopped, not killed."""
    assert run.nanny is not None
    try:
        code = run.nanny.wait(timeout=2)
    except subprocess.TimeoutExpired:
        state = "?"
        with contextlib.suppress(OSError, IndexError):
            state = Path(f"/proc/{run.nanny.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        seen = "arrêté (SIGSTOP)" if state in {"T", "t"} else f"encore en cours (état {state})"
        run.fail(
            "Attendu : le processus qui a lancé le correcteur se termine avec lui ; "
            f"vu : {seen} après la fin du correcteur (un signal venu du code corrigé ?)."
        )
        run.nanny.kill()
        run.nanny.wait()
        return
    if code < 0:
        run.fail(
            "Attendu : le processus qui a lancé le correcteur n'est pas touché ; "
            f"vu : tué par le signal {signal.Signals(-code).name}."
        )
    rc_file = run.work / "harnais" / "correcteur.rc"
    try:
        run.grader_code = int(rc_file.read_text())
    except (OSError, ValueError):
        run.grader_code = None


def _read_results_bytes(path: Path) -> tuple[bytes | None, str | None]:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None, "absent"
    if stat.S_ISLNK(info.st_mode):
        return None, f"un lien symbolique vers {os.readlink(path)}"
    if stat.S_ISDIR(info.st_mode):
        return None, "un dossier"
    if not stat.S_ISREG(info.st_mode):
        return None, "pas un fichier ordinaire"
    return path.read_bytes(), None


def check_canaries(run: AttackRun, kit: KitSnapshot, moment: str) -> None:
    """The paths the attack tries to write outside its folder; any damage is repaired."""
    changes = _content_changes(run.canaries_before, _canary_state(run.attack), ignore_dir_times=False)
    if changes:
        run.fail(
            f"Attendu : rien d'écrit hors du dossier de l'élève ; vu {moment} : " + " ; ".join(changes) + "."
        )
        run.repaired += kit.restore(_canary_roots(run.attack))


def after_exit(run: AttackRun, kit: KitSnapshot) -> None:
    """Right after the grader exits: its parent, the results it left, the canaries."""
    check_nanny(run)
    run.results_at_exit, _ = _read_results_bytes(run.results_path)
    check_canaries(run, kit, "à la fin du correcteur")


def run_attack(attack: Attack, root: Path, kit: KitSnapshot, runs: dict[str, AttackRun]) -> AttackRun:
    """Phase one: builds, grades and waits for the grader (the final checks come later)."""
    try:
        run = prepare(attack, root)
    except (CatalogueError, OSError) as error:
        run = AttackRun(attack, root / attack.name, "")
        run.fail(f"Attendu : un dossier construit ; vu : {error}")
        run.exited_at = time.monotonic()
        runs[attack.name] = run
        return run
    runs[attack.name] = run  # known at once: an interrupted batch still ends its processes
    launch(run)
    wait_for_grader(run)
    after_exit(run, kit)
    return run


# --- final checks --------------------------------------------------------------------------


def check_results(run: AttackRun) -> None:
    data, problem = _read_results_bytes(run.results_path)
    if problem is not None:
        run.fail(
            f"Attendu : {run.results_path.name}, fichier ordinaire écrit par le correcteur ; vu : {problem}."
        )
        return
    assert data is not None
    if len(data) > MAX_RESULTS_BYTES:
        run.fail(
            f"Attendu : {run.results_path.name} de {MAX_RESULTS_BYTES} octets au plus (limite de "
            f"PrairieLearn) ; vu : {len(data)} octets."
        )
    if data != run.results_at_exit:
        run.fail(
            f"Attendu : {run.results_path.name} identique {STABLE_SECONDS:g} s après la fin du correcteur ; "
            "vu : réécrit après sa fin (un processus laissé derrière lui ?)."
        )
    try:
        document = json.loads(data)
        tests = {str(test["number"]): test for test in document["tests"]}
        score = float(document["score"])
        marks = {key: float(test["score"]) for key, test in tests.items()}
        maxima = {key: float(test["max_score"]) for key, test in tests.items()}
        for test in tests.values():
            str(test["status"]), str(test["output"])
    except (ValueError, KeyError, TypeError) as error:
        run.fail(f"Attendu : un {run.results_path.name} lisible ; vu : {type(error).__name__} : {error}.")
        return
    run.document = document
    if sorted(tests) != sorted(CRITERION_IDS) or len(document["tests"]) != len(CRITERION_IDS):
        run.fail(f"Attendu : les {len(CRITERION_IDS)} critères du barème ; vu : {sorted(tests)}.")
        return
    wrong_max = sorted(key for key in tests if not math.isclose(maxima[key], BY_ID[key].points))
    total = round(sum(marks.values()) + 1e-9, 2)
    if wrong_max or not math.isclose(score, total, abs_tol=0.011) or score > TOTAL_POINTS:
        run.fail(
            "Attendu : un barème cohérent (note = somme des critères, points maximaux du barème) ; "
            f"vu : note {fr_number(score, trim=True)}, somme des critères {fr_number(total, trim=True)}, "
            f"maxima faux : {wrong_max or 'aucun'}."
        )


def _lost(run: AttackRun) -> str:
    assert run.document is not None
    lost = [
        f"{test['number']} {fr_number(float(test['score']), trim=True)}/"
        f"{fr_number(float(test['max_score']), trim=True)}"
        for test in run.document["tests"]
        if test["status"] != "passed"
    ]
    return ", ".join(lost) or "aucun"


def check_score(run: AttackRun) -> None:
    score, attack = run.score, run.attack
    if score is None or run.document is None:
        return
    if score > attack.max_score + 1e-9:
        run.fail(
            f"Attendu : au plus {fr_number(attack.max_score, trim=True)}/20 "
            "(ce que le travail honnête rapporte) ; "
            f"vu : {fr_number(score, trim=True)}/20 (critères non validés : {_lost(run)})."
        )
    if attack.min_score is not None and score < attack.min_score - 1e-9:
        run.fail(
            f"Attendu : au moins {fr_number(attack.min_score, trim=True)}/20 "
            "(les points honnêtes sont gardés) ; "
            f"vu : {fr_number(score, trim=True)}/20 (critères non validés : {_lost(run)})."
        )
    if attack.refusal:
        refused_parts = {name.split("_", 1)[0] for name in attack.symlinks}
        refused = {criterion for part in refused_parts for criterion in PART_CRITERIA[part]}
        silent = sorted(
            str(test["number"])
            for test in run.document["tests"]
            if test["number"] in refused
            and (attack.refusal.lower() not in str(test["output"]).lower() or float(test["score"]) > 0)
        )
        if silent:
            run.fail(
                f"Attendu : 0 point et un refus clair (« {attack.refusal} ») pour chaque critère des "
                f"fichiers refusés ; vu autrement pour : {', '.join(silent)}."
            )


def check_network_note(run: AttackRun) -> None:
    if not run.attack.network or run.document is None:
        return
    outputs = "\n".join(str(test["output"]) for test in run.document["tests"])
    if NETWORK_WORD not in outputs.lower():
        run.fail(
            f"Attendu : une remarque « {NETWORK_WORD} » dans results.json (tentative d'accès bloquée "
            "et signalée) ; vu : aucune."
        )


def check_console(run: AttackRun) -> None:
    """Every « Note : X/20 » shown on the console is the mark of results.json (no fake report)."""
    if run.score is None:
        return  # no results.json: already a violation
    shown = {value.replace(",", ".") for value in CONSOLE_NOTE.findall(run.stdout.text if run.stdout else "")}
    wrong = sorted(value for value in shown if not math.isclose(float(value), run.score, abs_tol=0.005))
    if wrong:
        displayed = ", ".join(fr_number(float(v), trim=True) + "/20" for v in wrong)
        run.fail(
            "Attendu : la note affichée sur la console égale celle de results.json "
            f"({fr_number(run.score, trim=True)}/20) ; vu affiché : {displayed}."
        )


def check_time(run: AttackRun) -> None:
    if run.elapsed is not None and not run.timed_out and run.elapsed > run.attack.max_seconds:
        run.fail(
            f"Attendu : une correction en moins de {run.attack.max_seconds:g} s ; vu : {run.elapsed:.1f} s."
        )


def check_work_folder(run: AttackRun) -> None:
    """The attack's neighbours: its own folder, the classmate, the canary, the results folder."""
    expected_names = {"rendu", "camarade", "canari", "resultats", "harnais", "tmp", "systmp"}
    extra = sorted(path.name for path in run.work.iterdir() if path.name not in expected_names)
    if extra:
        run.fail(f"Attendu : rien de créé à côté du rendu ; vu : {', '.join(extra)}.")
    for name, label in (
        ("rendu", "le dossier rendu (corrigé sur une copie)"),
        ("camarade", "le dossier d'un camarade"),
        ("canari", "le dossier canari"),
    ):
        changes = _content_changes(run.before[name], tree_state(run.work / name), ignore_dir_times=True)
        if changes:
            run.fail(f"Attendu : {label} intact ; vu : {'; '.join(changes[:5])}.")
    others = sorted(p.name for p in (run.work / "resultats").iterdir() if p.name != "results.json")
    if others:
        run.fail(
            f"Attendu : seul results.json dans le dossier des résultats ; vu aussi : {', '.join(others)}."
        )


def check_leftovers(run: AttackRun) -> None:
    leftovers = attack_processes(run)
    if leftovers:
        commands = []
        for pid in leftovers:
            try:
                raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                commands.append(f"{pid} ({raw.decode(errors='replace').strip()[:80]})")
            except OSError:
                commands.append(str(pid))
        run.fail(
            f"Attendu : aucun processus encore en vie {STABLE_SECONDS:g} s après la fin du correcteur ; "
            f"vu : {', '.join(commands)} (arrêtés par le test)."
        )
        _kill(leftovers)


def final_checks(run: AttackRun, kit: KitSnapshot) -> None:
    if run.nanny is None:
        return  # the folder could not be built
    check_leftovers(run)
    check_results(run)
    check_score(run)
    check_network_note(run)
    check_console(run)
    check_time(run)
    check_work_folder(run)
    check_canaries(run, kit, f"{STABLE_SECONDS:g} s après la fin du correcteur")
    if run.stdin_writer is not None:
        os.close(run.stdin_writer)
        run.stdin_writer = None
    for drain in (run.stdout, run.stderr):
        if drain is not None:
            drain.join(timeout=2)


# --- a batch -------------------------------------------------------------------------------


@dataclass
class AttackBatch:
    runs: dict[str, AttackRun]
    kit_changes: list[str]  # what differs in the kit after the whole batch (before repair)
    repaired: list[str]  # what was repaired, during the batch and after it
    root: Path
    seconds: float


ATTACK_BATCH = pytest.StashKey[AttackBatch]()


def run_attacks(
    attacks: Iterable[Attack], root: Path | None = None, workers: int = PARALLEL_ATTACKS
) -> AttackBatch:
    """Grades the attacks (the exclusive ones alone, the others ``workers`` at a time, slowest
    first), waits until every grader has been gone for STABLE_SECONDS, then checks everything
    and repairs the kit."""
    started = time.monotonic()
    root = root or Path(tempfile.mkdtemp(prefix="tp-attaques-"))
    root.chmod(0o755)
    previous = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # the kit's tree is compared: no .pyc from this process either
    # The grader writes the workers' bytecode itself, once, before any submission runs: a write
    # of its own (grader/engine/bytecode.py), done before the kit is photographed.
    bytecode.ensure()
    kit = KitSnapshot.take()
    attacks = list(attacks)
    runs: dict[str, AttackRun] = {}
    repaired: list[str] = []
    try:
        for attack in [a for a in attacks if a.exclusive]:
            run_attack(attack, root, kit, runs)
        shared = sorted((a for a in attacks if not a.exclusive), key=lambda a: (-a.max_seconds, a.name))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda attack: run_attack(attack, root, kit, runs), shared))
        last_exit = max((run.exited_at or 0.0 for run in runs.values()), default=0.0)
        time.sleep(max(0.0, last_exit + STABLE_SECONDS - time.monotonic()))
        for run in runs.values():
            final_checks(run, kit)
        kit_changes = kit.changes(KitSnapshot.take())
    finally:
        sys.dont_write_bytecode = previous
        for run in runs.values():
            _kill(attack_processes(run))
        repaired += [path for run in runs.values() for path in run.repaired] + kit.restore()
    ordered = {attack.name: runs[attack.name] for attack in attacks}
    return AttackBatch(ordered, kit_changes, repaired, root, time.monotonic() - started)


def describe(run: AttackRun) -> str:
    """One line for the table: expected, seen, verdict."""
    attack = run.attack
    expected = f"≤ {fr_number(attack.max_score, trim=True)}/20"
    if attack.min_score is not None:
        expected = f"{fr_number(attack.min_score, trim=True)} à {fr_number(attack.max_score, trim=True)}/20"
    seen = "pas de note" if run.score is None else f"{fr_number(run.score, trim=True)}/20"
    duration = "?" if run.elapsed is None else f"{fr_number(round(run.elapsed, 1), trim=True)} s"
    verdict = "contenue" if not run.violations else f"ÉCHEC : {run.violations[0]}"
    return f"{run.name} | attendu {expected} | vu {seen} en {duration} | {verdict}"


def report(run: AttackRun) -> str:
    lines = [
        f"Attaque {run.name} ({run.attack.family}) : {run.attack.description}",
        describe(run),
        *(f"  - {violation}" for violation in run.violations),
    ]
    if run.repaired:
        lines.append(f"  réparé par le test : {', '.join(run.repaired)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Corrige une ou plusieurs attaques du catalogue.")
    parser.add_argument("noms", nargs="*", help="attaques (noms des fichiers tests/attacks/*.toml)")
    parser.add_argument("--garder", action="store_true", help="garder le dossier de travail")
    parser.add_argument("--liste", action="store_true", help="lister les attaques")
    parser.add_argument("--sortie", action="store_true", help="afficher la sortie du correcteur")
    options = parser.parse_args(argv)
    attacks, errors = load_attacks()
    for error in errors:
        print(f"attaque mal formée : {error}", file=sys.stderr)
    if options.liste or not options.noms:
        for attack in attacks:
            print(f"{attack.name:40} {attack.description}")
        return 0
    by_name = {attack.name: attack for attack in attacks}
    unknown = [name for name in options.noms if name not in by_name]
    if unknown:
        print(f"attaque(s) inconnue(s) : {', '.join(unknown)}", file=sys.stderr)
        return 2
    problem = unshare_problem()
    if problem:
        print(f"impossible de lancer les attaques : {problem}", file=sys.stderr)
        return 2
    batch = run_attacks(by_name[name] for name in options.noms)
    for run in batch.runs.values():
        print(report(run))
        if options.sortie:
            print(f"--- sortie du correcteur ---\n{run.console}\n---")
    if batch.kit_changes:
        print(f"kit modifié pendant le lot : {', '.join(batch.kit_changes)}")
    if options.garder:
        print(f"dossier de travail gardé : {batch.root}")
    else:
        remove_tree(batch.root)
    return 0 if all(not run.violations for run in batch.runs.values()) and not batch.kit_changes else 1


if __name__ == "__main__":
    raise SystemExit(main())
