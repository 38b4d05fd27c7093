"""``nox -s watch [-- DOSSIER] [--poll]``: correction en continu, as rustlings' ``watch``.

Each save of ``sync_downloader.py`` or ``async_downloader.py`` re-grades that part only (the
other keeps its last verdict on screen) and redraws one screen: the mark, one line per
criterion, the first criterion lost in full, and a status line. Ctrl-C quits in French
with the last mark, and leaves nothing running.

- Watching: :mod:`watchfiles` (the operating system's file events), with a fallback to
  polling when events do not arrive (WSL2 on /mnt/c, network drives): at start when the
  folder is known not to deliver them, and later as soon as a change is seen by
  comparing contents without any event. ``--poll`` forces polling.
- Grading: in a :mod:`grader.tools.watch_runner` process started before it is needed
  (imports done), exactly as ``nox -s grade -- DOSSIER --partie …``. A burst of saves
  gives one grade (the watcher groups events, and identical contents are not graded
  again); a grade still running when its file changes again is cancelled and restarted.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from grader.engine import text
from grader.engine.criteria import PART_TITLES, TOTAL_POINTS
from grader.engine.french_numbers import fr_number
from grader.engine.paths import KIT_ROOT, PART_FILES, PARTS, resolve_target, shown_path
from grader.engine.process_tree import NEW_GROUP_FLAGS, NEW_SESSION, kill_tree
from grader.tools.children import child_environment
from grader.tools.french_cli import FrenchArgumentParser

POLL_DELAY_MS = 300
SAFETY_CHECK_SECONDS = 1.0  # how often contents are compared, in case events never arrive
STOP_WAIT_SECONDS = 15.0  # a cancelled grade ends its workers and isolation within this
RUNNER_START_SECONDS = 60.0
CLEAR = "\x1b[2J\x1b[H"
RULE = "-" * 72


# --- what is watched ---------------------------------------------------------------------


def events_may_not_arrive(folder: Path) -> str:
    """Why the operating system's file events may never arrive for ``folder`` ('' if they should)."""
    resolved = str(folder.resolve())
    if sys.platform.startswith("linux") and resolved.startswith("/mnt/"):
        with contextlib.suppress(OSError):
            if "microsoft" in Path("/proc/version").read_text(encoding="utf-8").lower():
                return "dossier Windows vu depuis WSL"
    if os.name == "nt":
        if resolved.startswith("\\\\"):
            return "dossier réseau"
        import ctypes

        drive = resolved[:3]
        windll = getattr(ctypes, "windll", None)
        if windll is not None and windll.kernel32.GetDriveTypeW(drive) == 4:  # DRIVE_REMOTE
            return "lecteur réseau"
    return ""


def content_key(path: Path) -> str:
    """What a file holds, as a digest ('' when it is missing or unreadable)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


class Watcher:
    """Reports the parts whose file changed, through ``notify`` (from its own thread)."""

    def __init__(self, folder: Path, notify: Callable[[set[str]], None], poll: bool) -> None:
        self.folder = folder
        self.notify = notify
        self.polling = poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="surveillance", daemon=True)
        self._thread.start()

    def switch_to_polling(self) -> None:
        if self.polling:
            return
        self.stop()
        self.polling = True
        self.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        try:
            self._follow_events()
        except Exception:  # the folder vanished, the system refused a watch…: the safety check takes over
            return

    def _follow_events(self) -> None:
        import watchfiles

        names = {name: part for part, name in PART_FILES.items()}

        def ours(_: watchfiles.Change, path: str) -> bool:
            return Path(path).name in names

        for changes in watchfiles.watch(
            self.folder,
            watch_filter=ours,
            recursive=False,
            force_polling=self.polling,
            poll_delay_ms=POLL_DELAY_MS,
            stop_event=self._stop,
            debounce=400,
            step=50,
            raise_interrupt=False,
        ):
            parts = {names[Path(path).name] for _, path in changes if Path(path).name in names}
            if parts:
                self.notify(parts)


# --- grading in a process started ahead of time ------------------------------------------


Answer = Callable[[Any], None]


class Runner:
    """A :mod:`watch_runner` process: started early, given one job, then gone."""

    def __init__(self, log: IO[bytes]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.tools.watch_runner"],
            cwd=KIT_ROOT,
            env=child_environment() | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            encoding="utf-8",
            # Ctrl-C reaches the watcher only: it stops its runners itself, in order.
            start_new_session=NEW_SESSION,
            creationflags=NEW_GROUP_FLAGS,
        )
        self.parts: tuple[str, ...] = ()

    def start(
        self, parts: tuple[str, ...], target: Path, results: Path, answer: Callable[[Any], None]
    ) -> None:
        """Sends the job; ``answer`` gets the runner's JSON answer (None if it gave none)."""
        self.parts = parts
        job = {"target": str(target), "parts": list(parts), "results": str(results), "cwd": os.getcwd()}
        assert self.process.stdin is not None and self.process.stdout is not None
        stdout = self.process.stdout

        def read() -> None:
            reply: Any = None
            with contextlib.suppress(OSError, ValueError):
                for line in stdout:
                    if line.strip().startswith("{"):
                        reply = json.loads(line)
            answer(reply)

        try:
            self.process.stdin.write(json.dumps(job) + "\n")
            self.process.stdin.flush()
        except OSError:
            pass  # the runner is gone: its reader says so
        threading.Thread(target=read, name="correction", daemon=True).start()

    def cancel(self) -> None:
        """Stops its grade (or tells an idle runner to leave): a line, then the end of its input."""
        stdin = self.process.stdin
        if stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                stdin.write("stop\n")
                stdin.flush()
            with contextlib.suppress(OSError, ValueError):
                stdin.close()

    def finish(self, timeout: float) -> None:
        """Waits for it to end; past ``timeout``, kills it and what it started."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(self.process)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)


# --- the screen ----------------------------------------------------------------------------


@dataclass
class PartVerdict:
    criteria: list[dict[str, Any]]
    at: str

    @property
    def score(self) -> float:
        return round(sum(float(c["score"]) for c in self.criteria) + 1e-9, 2)

    @property
    def points(self) -> float:
        return sum(float(c["points"]) for c in self.criteria)


@dataclass
class Screen:
    """What the watcher knows, and how it is drawn."""

    target: Path
    verdicts: dict[str, PartVerdict | None] = field(default_factory=lambda: dict.fromkeys(PARTS))
    running: tuple[str, ...] = ()
    failure: str = ""
    polling: str = ""  # why the watcher polls ('' with the system's events)
    grades: int = 0

    def mark(self) -> str:
        if any(verdict is None for verdict in self.verdicts.values()):
            return "Note : …"
        total = sum(verdict.score for verdict in self.verdicts.values() if verdict is not None)
        return f"Note : {fr_number(round(total + 1e-9, 2), trim=True)}/{fr_number(TOTAL_POINTS, trim=True)}"

    def lines(self) -> list[str]:
        shown = f"{shown_path(self.target)}{os.sep}"
        lines = [f"Correction en continu de {text.one_line(shown)}", ""]
        first_lost: dict[str, Any] | None = None
        for part in PARTS:
            verdict = self.verdicts[part]
            state = "  (correction en cours…)" if part in self.running else ""
            lines.append(f"{PART_TITLES[part]}{state}")
            if verdict is None:
                lines.append("  pas encore corrigée")
            else:
                for criterion in verdict.criteria:
                    lines.append("  " + _criterion_line(criterion))
                    if first_lost is None and not criterion["passed"]:
                        first_lost = criterion
            lines.append("")
        lines.append(self.mark())
        if self.failure:
            lines += ["", self.failure]
        if first_lost is not None:
            lines += ["", *_in_full(first_lost)]
        elif all(verdict is not None for verdict in self.verdicts.values()):
            lines += ["", "Tous les critères sont validés. Bravo !"]
        lines += ["", RULE, self.status()]
        return lines

    def status(self) -> str:
        files = " et ".join(PART_FILES.values())
        how = f"par scrutation toutes les {POLL_DELAY_MS} ms ({self.polling})" if self.polling else ""
        watched = f"Surveillés{' ' + how if how else ''} : {files}."
        done = f" Corrections faites : {self.grades}." if self.grades else ""
        return f"{watched}{done} Enregistrez un fichier pour le recorriger ; Ctrl-C pour quitter."


def _criterion_line(criterion: dict[str, Any]) -> str:
    points = f"{fr_number(criterion['score'], trim=True)}/{fr_number(criterion['points'], trim=True)}"
    if criterion["passed"]:
        mark, state = "✓", ""
    elif criterion["not_done"]:
        mark, state = "✗", "pas encore fait"
    else:
        mark, state = "✗", "à revoir"
    return f"{mark} {criterion['id']:<18} {criterion['title']:<58} {points:>7}  {state}".rstrip()


def _in_full(criterion: dict[str, Any]) -> list[str]:
    """The first criterion lost: what was observed, and the hint (each check that failed)."""
    lines = [f"■ Premier critère à travailler : {criterion['id']} — {criterion['title']}"]
    for title, message in criterion["feedback"]:
        block = text.multi_line(f"  • {title} : " + str(message).replace("\n", "\n    "))
        # As in the report: no line quoted from the student's run can pass for the mark line.
        lines += [text.defuse_marks(line) for line in block.split("\n")]
    return lines


# --- the loop ------------------------------------------------------------------------------


# Ctrl-C, Ctrl-Break or a polite termination: only noted, so that it never cuts the start of a
# process in two (a runner started but not yet known would outlive the watcher).
QUIT = threading.Event()


def _quit_asked(signum: int, frame: object) -> None:
    QUIT.set()


class WatchSession:
    def __init__(self, target: Path, poll: bool, output: IO[str]) -> None:
        self.target = target
        self.output = output
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.scratch = Path(tempfile.mkdtemp(prefix="correction-continue-"))
        self.log = (self.scratch / "runners.log").open("ab")
        why = "option --poll" if poll else events_may_not_arrive(target)
        self.watcher = Watcher(target, lambda parts: self.events.put(("changed", parts)), poll=bool(why))
        self.screen = Screen(target, polling=why)
        self.keys = {part: content_key(target / name) for part, name in PART_FILES.items()}
        self.spare: Runner | None = None
        self.current: Runner | None = None
        self.stopping: list[Runner] = []
        self.unannounced: dict[str, str] = {}  # changes seen by the safety check, not yet by an event
        self.terminal = output.isatty()

    # drawing

    def draw(self) -> None:
        body = "\n".join(self.screen.lines())
        prefix = CLEAR if self.terminal else f"\n{RULE}\n"
        encoding = getattr(self.output, "encoding", None)
        self.output.write(text.for_console(prefix + body + "\n", encoding))
        self.output.flush()

    # runners

    def _runner(self) -> Runner:
        runner, self.spare = self.spare, None
        if runner is None:
            runner = Runner(self.log)
        return runner

    def _grade(self, parts: set[str]) -> None:
        """Cancels the grade in progress if any, then grades ``parts`` (with the cancelled ones)."""
        if self.current is not None:
            parts |= set(self.current.parts)
            self.current.cancel()
            self.stopping.append(self.current)
            self.current = None
        ordered = tuple(part for part in PARTS if part in parts)
        runner = self._runner()
        results = self.scratch / f"results-{time.monotonic_ns()}.json"
        runner.start(ordered, self.target, results, self._answer_for(runner))
        self.current = runner
        self.screen.running = ordered
        self.draw()

    def _answer_for(self, runner: Runner) -> Answer:
        def answer(reply: Any) -> None:
            self.events.put(("done", (runner, reply)))

        return answer

    def _done(self, runner: Runner, reply: Any) -> None:
        if runner is not self.current:
            return  # a cancelled grade: its answer no longer matters
        self.current = None
        self.screen.running = ()
        self.screen.grades += 1
        if not isinstance(reply, dict) or not reply.get("ok"):
            self.screen.failure = (
                "La correction n'a pas pu aboutir (processus de correction arrêté). Enregistrez de nouveau "
                "pour réessayer, ou lancez poetry run -- nox -s grade pour le détail."
            )
        else:
            self.screen.failure = ""
            at = time.strftime("%H:%M:%S")
            for part in runner.parts:
                criteria = [c for c in reply["verdicts"] if c["part"] == part]
                self.screen.verdicts[part] = PartVerdict(criteria, at)
        self.draw()
        runner.finish(STOP_WAIT_SECONDS)  # it has answered: only its exit is left
        if self.spare is None:
            self.spare = Runner(self.log)  # started now, while the student edits: ready next time

    def _changed(self, parts: set[str]) -> None:
        changed = set()
        for part in parts:
            key = content_key(self.target / PART_FILES[part])
            if key != self.keys[part]:
                self.keys[part] = key
                changed.add(part)
        if changed:
            self._grade(changed)

    def _safety_check(self) -> None:
        """A change that no event announced by the next check: events do not arrive here.

        A change seen once may have its event on the way (a save a few milliseconds ago);
        still unannounced one check later, it is graded, and the watcher polls from then on.
        """
        keys = {part: content_key(self.target / name) for part, name in PART_FILES.items()}
        unseen = {part for part, key in keys.items() if key != self.keys[part]}
        missed = {part for part in unseen if self.unannounced.get(part) == keys[part]}
        self.unannounced = {part: keys[part] for part in unseen}
        if not missed:
            return
        if not self.watcher.polling:
            self.watcher.switch_to_polling()
            self.screen.polling = "les événements du système n'arrivent pas pour ce dossier"
        self._changed(missed)

    def run(self) -> str:
        """Watches until interrupted; returns the farewell line."""
        self.watcher.start()
        self._grade(set(PARTS))
        last_check = time.monotonic()
        try:
            while not QUIT.is_set():
                try:
                    kind, payload = self.events.get(timeout=0.2)
                except queue.Empty:
                    if time.monotonic() - last_check >= SAFETY_CHECK_SECONDS:
                        last_check = time.monotonic()
                        self._safety_check()
                    self._reap()
                    continue
                if kind == "changed":
                    # A few milliseconds more: the rest of a burst of saves joins this grade.
                    time.sleep(0.02)
                    while not self.events.empty():
                        more_kind, more = self.events.get_nowait()
                        if more_kind == "changed":
                            payload = payload | more
                        else:
                            self._done(*more)
                    self._changed(payload)
                    last_check = time.monotonic()
                elif kind == "done":
                    self._done(*payload)
        finally:
            self.close()
        return self.farewell()

    def farewell(self) -> str:
        parts = []
        for part in PARTS:
            verdict = self.screen.verdicts[part]
            if verdict is not None:
                score = f"{fr_number(verdict.score, trim=True)}/{fr_number(verdict.points, trim=True)}"
                parts.append(f"partie {PARTS.index(part) + 1} : {score}")
        if all(self.screen.verdicts[p] is not None for p in PARTS):
            detail = f" ({', '.join(parts)})"
            return f"Correction en continu arrêtée. Dernière {self.screen.mark().lower()}{detail}."
        if parts:
            return f"Correction en continu arrêtée. Dernières notes : {', '.join(parts)}."
        return "Correction en continu arrêtée avant la fin de la première correction : aucune note."

    def _reap(self) -> None:
        self.stopping = [runner for runner in self.stopping if runner.process.poll() is None]

    def close(self) -> None:
        """Stops watching, cancels every grade, and waits until every process has ended."""
        with contextlib.suppress(Exception):
            self.watcher.stop()
        runners = [*self.stopping, *(r for r in (self.current, self.spare) if r is not None)]
        for runner in runners:
            runner.cancel()
        for runner in runners:
            runner.finish(STOP_WAIT_SECONDS)
        self.log.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _install_signals() -> None:
    """Ctrl-C, Ctrl-Break (Windows) and a polite termination all ask the loop to quit."""
    for name in ("SIGINT", "SIGBREAK", "SIGTERM"):
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, _quit_asked)


def main(argv: Sequence[str] | None = None) -> int:
    parser = FrenchArgumentParser(
        prog="nox -s watch --",
        description="Correction en continu : chaque enregistrement de sync_downloader.py ou "
        "async_downloader.py recorrige cette partie. Ctrl-C pour quitter.",
    )
    parser.add_argument(
        "dossier", nargs="?", default="skeleton", help="dossier à corriger (défaut : skeleton)"
    )
    parser.add_argument(
        "--poll",
        action="store_true",
        help="scrute les fichiers (si les enregistrements passent inaperçus)",
    )
    args = parser.parse_args(argv)
    output = sys.stdout
    encoding = getattr(output, "encoding", None)
    if importlib.util.find_spec("watchfiles") is None:
        message = "Il manque la bibliothèque watchfiles : lancez « poetry install », puis relancez."
        print(text.for_console(message, encoding), file=sys.stderr)
        return 2
    target = resolve_target(args.dossier)
    if not target.is_dir():
        from grader.conftest import missing_folder_message

        print(text.for_console(missing_folder_message(args.dossier, target), encoding), file=sys.stderr)
        return 2
    if os.name == "nt":
        os.system("")  # lets the Windows console read the escape sequence that clears it
    _install_signals()
    try:
        farewell = WatchSession(target, args.poll, output).run()
    except Exception as error:  # a fault of the kit: said in one line, never as a traceback
        farewell = (
            "Correction en continu arrêtée par une erreur interne du correcteur "
            f"({type(error).__name__} : {text.one_line(error)}). Relancez-la, ou utilisez "
            "poetry run -- nox -s grade."
        )
    output.write(text.for_console("\n" + farewell + "\n", encoding))
    output.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
