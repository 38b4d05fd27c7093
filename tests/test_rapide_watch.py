"""Fast tier: the watch screen, and the fallback to polling, without any process.

The verdicts are written by hand as the runner sends them; the session's grading is
replaced by a list of the parts it would grade, and its watcher by one that never reports
anything (as on WSL2's /mnt/c, where the system's events do not arrive).
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest

from grader.engine import readback, staging
from grader.engine.criteria import CRITERIA
from grader.engine.paths import PART_FILES
from grader.engine.worker.protocol import LoadEnding
from grader.tools import watch
from grader.tools.watch_files import Watcher, content_key
from grader.tools.watch_screen import PartVerdict, Screen


def _verdict(criterion_id: str, passed: bool = True, not_done: bool = False) -> dict[str, Any]:
    criterion = next(c for c in CRITERIA if c.id == criterion_id)
    feedback = (
        [] if passed else [["main() enregistre chaque image", "3 image(s) sur 6.\nPiste : la boucle ?"]]
    )
    return {
        "id": criterion.id,
        "title": criterion.title,
        "part": criterion.part,
        "score": criterion.points if passed else 0.0,
        "points": criterion.points,
        "passed": passed,
        "not_done": not_done,
        "feedback": feedback,
        "todos": [],
    }


def _screen(tmp_path: Path) -> Screen:
    screen = Screen(tmp_path)
    sync = [_verdict(c.id) for c in CRITERIA if c.part == "sync"]
    sync[3] = _verdict("sync.errors", passed=False)
    asynchronous = [_verdict(c.id, passed=False, not_done=True) for c in CRITERIA if c.part == "async"]
    screen.verdicts = {
        "sync": PartVerdict(sync, "12:00:00"),
        "async": PartVerdict(asynchronous, ""),
    }
    screen.grades = 3
    return screen


def test_the_screen_shows_each_criterion_the_first_lost_in_full_and_the_status(tmp_path: Path) -> None:
    lines = "\n".join(_screen(tmp_path).lines()).split("\n")
    expected = [
        "  ✓ sync.download      Téléchargement et sauvegarde des images                        2/2",
        "  ✗ sync.errors        Gestion des erreurs réseau, HTTP et disque                     0/2  à revoir",
        "  ✗ async.download     Téléchargement et sauvegarde des images                        0/2  "
        "pas encore fait",
        "Note : 7/20",
        "■ Premier critère à travailler : sync.errors — Gestion des erreurs réseau, HTTP et disque",
        "  • main() enregistre chaque image : 3 image(s) sur 6.",
        "    Piste : la boucle ?",
        "Surveillés : sync_downloader.py et async_downloader.py. Corrections faites : 3. "
        "Enregistrez un fichier pour le recorriger ; Ctrl-C pour quitter.",
    ]
    missing = [line for line in expected if line not in lines]
    assert not missing, "Attendu les lignes :\n" + "\n".join(missing) + "\nvu :\n" + "\n".join(lines)
    in_full = [line for line in lines if line.startswith("■")]
    assert len(in_full) == 1, f"Attendu : un seul critère en entier (le premier perdu) ; vu {in_full}"


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_the_screen_prints_on_any_console(encoding: str, tmp_path: Path) -> None:
    raw = io.BytesIO()
    output = io.TextIOWrapper(raw, encoding=encoding, errors="strict")
    session = watch.WatchSession.__new__(watch.WatchSession)
    session.screen, session.output, session.terminal = _screen(tmp_path), output, False
    session.draw()
    output.flush()
    shown = raw.getvalue().decode(encoding)
    assert "Note : 7/20" in shown and "sync.errors" in shown, f"Attendu ({encoding}) l'écran ; vu :\n{shown}"


class _Silent(Watcher):
    """A watcher whose events never arrive."""

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def _session(tmp_path: Path, poll: bool = False) -> tuple[watch.WatchSession, list[set[str]]]:
    for name in PART_FILES.values():
        (tmp_path / name).write_text("# début\n", encoding="utf-8")
    session = watch.WatchSession(tmp_path, poll, io.StringIO())
    session.watcher = _Silent(tmp_path, lambda parts: None, poll=poll)
    graded: list[set[str]] = []
    session._grade = lambda parts: graded.append(set(parts))  # type: ignore[method-assign]
    return session, graded


def test_a_change_no_event_announces_switches_to_polling_and_is_graded(tmp_path: Path) -> None:
    session, graded = _session(tmp_path)
    try:
        (tmp_path / "async_downloader.py").write_text("# modifié\n", encoding="utf-8")
        session._safety_check()  # its event may still be on the way
        first = (list(graded), session.watcher.polling)
        session._safety_check()  # still unannounced: events do not arrive here
        second = (list(graded), session.watcher.polling)
    finally:
        session.close()
    assert first == ([], False) and second == ([{"async"}], True), (
        "Attendu : rien au premier contrôle, puis la partie 2 corrigée et la scrutation ; "
        f"vu {first} puis {second}"
    )
    assert "par scrutation" in session.screen.status(), (
        f"Attendu : la ligne d'état le dit ; vu {session.screen.status()}"
    )


def test_a_save_without_change_is_not_graded_again(tmp_path: Path) -> None:
    session, graded = _session(tmp_path)
    try:
        session._changed({"sync"})  # an event, but the same content
        (tmp_path / "sync_downloader.py").write_text("# modifié\n", encoding="utf-8")
        session._changed({"sync"})
    finally:
        session.close()
    assert graded == [{"sync"}], (
        f"Attendu : une seule correction (le contenu a changé une fois) ; vu {graded}"
    )


def test_the_poll_option_polls_from_the_start_and_says_so(tmp_path: Path) -> None:
    session, _ = _session(tmp_path, poll=True)
    session.close()
    status = session.screen.status()
    assert session.watcher.polling and "par scrutation" in status and "option --poll" in status, (
        f"Attendu : la scrutation dès le départ, dite dans la ligne d'état ; vu {status}"
    )


def test_no_line_quoted_from_the_student_can_pass_for_the_mark(tmp_path: Path) -> None:
    screen = _screen(tmp_path)
    lost = _verdict("sync.errors", passed=False)
    lost["feedback"] = [["Vérification", "vu :\nNote : 20/20\nPiste : regardez"]]
    assert screen.verdicts["sync"] is not None
    screen.verdicts["sync"].criteria[3] = lost
    lines = "\n".join(screen.lines()).split("\n")
    marks = [line for line in lines if line.strip().startswith("Note")]
    assert marks == ["Note : 7/20"], f"Attendu : la seule ligne de note du correcteur ; vu {marks}"


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(), reason="POSIX seulement")
def test_a_link_to_an_endless_file_or_a_fifo_is_known_without_being_read(tmp_path: Path) -> None:
    """Watch mode reads the student's files before any grade: a link to /dev/zero used to be read
    until memory ran out, a FIFO waited on for ever (content_key is called on the main thread)."""
    link, fifo = tmp_path / "sync_downloader.py", tmp_path / "async_downloader.py"
    link.symlink_to("/dev/zero")
    os.mkfifo(fifo)
    keys = {path.name: content_key(path) for path in (link, fifo)}
    assert all(keys.values()), f"attendu une clé non vide pour le lien et le tube ; vu {keys}"
    assert len(set(keys.values())) == 2, f"attendu deux clés distinctes (lien, tube) ; vu {keys}"
    fifo.unlink()
    fifo.write_text("x = 1\n", encoding="utf-8")
    assert content_key(fifo) not in ("", keys[fifo.name]), "attendu une autre clé une fois le tube remplacé"


def test_a_huge_file_is_read_no_further_than_the_grade_copies(tmp_path: Path) -> None:
    huge = tmp_path / "sync_downloader.py"
    with huge.open("wb") as stream:
        stream.truncate(4 * readback.MAX_FILE_BYTES)  # sparse: nothing written, but 16 Mio to read
    key = content_key(huge)
    stream_read = readback.read_file(huge, readback.MAX_FILE_BYTES + 1)
    assert stream_read is not None and len(stream_read) == readback.MAX_FILE_BYTES + 1, (
        f"attendu une lecture bornée à {readback.MAX_FILE_BYTES + 1} octets ; vu {len(stream_read or b'')}"
    )
    assert key == hashlib.sha256(stream_read).hexdigest(), (
        "attendu la clé des seuls octets que la correction copie"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX seulement")
def test_a_file_swapped_for_a_fifo_during_its_copy_is_refused_not_waited_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saved while a grade starts (watch mode): the file may change between its checks and its copy."""
    target, scratch = tmp_path / "rendu", tmp_path / "correction"
    target.mkdir()
    scratch.mkdir()
    source = target / PART_FILES["sync"]
    source.write_text("x = 1\n", encoding="utf-8")
    real_is_file = Path.is_file

    def is_file_then_swapped(self: Path) -> bool:
        answer = real_is_file(self)
        if self == source and answer:
            source.unlink()
            os.mkfifo(source)
        return answer

    monkeypatch.setattr(Path, "is_file", is_file_then_swapped)
    run = staging.stage_part("sync", target, scratch)
    assert run.load_ending is LoadEnding.REFUSED, f"attendu la partie refusée ; vu {run.load_ending}"
    assert "pendant sa copie" in run.refused, f"attendu la raison en français ; vu {run.refused!r}"
