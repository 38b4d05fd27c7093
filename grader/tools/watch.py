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

This module is the loop; what is watched is :mod:`watch_files`, the grading processes
:mod:`watch_process`, and the screen :mod:`watch_screen`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from grader.engine import text
from grader.engine.french_numbers import fr_number
from grader.engine.paths import PART_FILES, PARTS, resolve_target
from grader.tools.french_cli import FrenchArgumentParser
from grader.tools.watch_files import Watcher, content_key, events_may_not_arrive
from grader.tools.watch_process import Answer, Runner
from grader.tools.watch_screen import CLEAR, RULE, PartVerdict, Screen

SAFETY_CHECK_SECONDS = 1.0  # how often contents are compared, in case events never arrive
STOP_WAIT_SECONDS = 15.0  # a cancelled grade ends its workers and isolation within this


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
