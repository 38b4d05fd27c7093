"""The grader's guards: broken, hanging or nosy submissions never crash, hang or reach out."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from pathlib import Path

import pytest

from grader.engine.worker.aioresponses_compat import fix_needed
from grader.guards import CheckTimeout, deadline, watch_writes
from grader.probes import LoggingState
from tests.catalogue import Grade, grade

ROOT = Path(__file__).resolve().parent.parent
SYNC_CRITERIA = {
    "sync.download",
    "sync.session",
    "sync.directory",
    "sync.errors",
    "sync.logging",
    "sync.timing",
}


def _submission(tmp_path: Path, file: str, old: str, new: str) -> Path:
    folder = tmp_path / "rendu"
    shutil.copytree(ROOT / "solution", folder, ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"extrait attendu une fois dans {file}, vu {text.count(old)} fois"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return folder


def _graded(tmp_path: Path, file: str, old: str, new: str) -> Grade:
    result = grade("garde", _submission(tmp_path, file, old, new), tmp_path / "correction")
    assert result.ok, f"attendu un résultat du correcteur, vu : {result.problem()}"
    return result


def test_syntax_error_costs_its_part_only_and_names_file_and_line(tmp_path: Path) -> None:
    result = _graded(tmp_path, "sync_downloader.py", "def main(", "def main(:")
    assert result.lost == SYNC_CRITERIA, f"attendu la perte des critères sync.*, vu {sorted(result.lost)}"
    output = result.marks["sync.download"].output
    line = next(
        number
        for number, text in enumerate((ROOT / "solution/sync_downloader.py").read_text().splitlines(), 1)
        if text.startswith("def main(")
    )
    assert f"sync_downloader.py, ligne {line}" in output, (
        f"attendu le fichier et la ligne {line}, vu : {output}"
    )


def test_network_access_is_blocked_and_reported(tmp_path: Path) -> None:
    nosy = (
        "logger = logging.getLogger(__name__)\n"
        "try:\n"
        '    requests.get("https://www.python.org/", timeout=5)\n'
        "except requests.RequestException:\n"
        "    pass\n"
    )
    result = _graded(tmp_path, "sync_downloader.py", "logger = logging.getLogger(__name__)\n", nosy)
    outputs = "\n".join(mark.output for mark in result.marks.values())
    assert "accès réseau bloqué vers www.python.org" in outputs, (
        f"attendu une remarque sur l'accès réseau bloqué, vu : {outputs[:500]}"
    )
    assert result.score == 20, f"attendu 20/20 (l'accès bloqué ne coûte rien ici), vu {result.score}"


def test_student_code_runs_in_a_scratch_folder(tmp_path: Path) -> None:
    marker = "trace-du-correcteur.txt"
    result = _graded(
        tmp_path,
        "sync_downloader.py",
        "    output_dir.mkdir(parents=True, exist_ok=True)\n",
        f"    output_dir.mkdir(parents=True, exist_ok=True)\n    Path({marker!r}).write_text('x')\n",
    )
    assert result.score == 20, f"attendu 20/20 (le fichier en plus est sans effet), vu {result.score}"
    left = [path for path in (ROOT, ROOT / "grader", tmp_path / "correction") if (path / marker).exists()]
    assert not left, f"attendu aucun fichier laissé hors du dossier temporaire, vu {left}"


def test_sys_exit_in_main_does_not_end_the_grading(tmp_path: Path) -> None:
    result = _graded(
        tmp_path,
        "async_downloader.py",
        "    output_dir.mkdir(parents=True, exist_ok=True)\n",
        "    output_dir.mkdir(parents=True, exist_ok=True)\n    raise SystemExit(1)\n",
    )
    assert len(result.marks) == 14 and "sync.download" not in result.lost, (
        f"attendu les 14 critères notés et la partie 1 intacte, vu {sorted(result.lost)} perdus"
    )
    assert "sys.exit(1) appelé par votre code" in result.marks["async.download"].output


def test_results_follow_the_gradescope_format(tmp_path: Path) -> None:
    result = grade("solution", ROOT / "solution", tmp_path)
    document = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert document["score"] == 20 and len(document["tests"]) == 14, (
        f"vu {document['score']}, {len(document['tests'])} entrées"
    )
    for entry in document["tests"]:
        assert set(entry) == {"number", "name", "score", "max_score", "status", "output"}, (
            f"clés vues : {sorted(entry)}"
        )
        assert entry["status"] == "passed" and entry["score"] == entry["max_score"], f"entrée vue : {entry}"
    assert result.ok


def test_deadline_stops_a_busy_loop_that_swallows_exceptions() -> None:
    start = time.perf_counter()
    with pytest.raises(CheckTimeout), deadline(0.2):
        while True:
            try:
                sum(range(1000))
            except Exception:  # the student's over-broad except
                continue
    assert time.perf_counter() - start < 2, "attendu un arrêt en moins de 2 s"


def test_logging_state_is_restored_after_student_changes() -> None:
    root = logging.getLogger()
    named = logging.getLogger("etudiant.test")
    before = (list(root.handlers), root.level, named.propagate)
    state = LoggingState.capture()
    logging.basicConfig(level=logging.DEBUG, force=True)
    named.propagate = False
    named.addHandler(logging.StreamHandler())
    logging.disable(logging.CRITICAL)
    state.restore()
    after = (list(root.handlers), root.level, named.propagate)
    assert after == before and not named.handlers and logging.root.manager.disable == 0, (
        f"attendu l'état initial {before}, vu {after}, handlers {named.handlers}"
    )


def test_disk_error_is_simulated_on_the_chosen_write_only(tmp_path: Path) -> None:
    with watch_writes(tmp_path, fail_open_number=2) as writes:
        (tmp_path / "a.png").write_bytes(b"a")
        with pytest.raises(OSError, match="Plus de place"):
            (tmp_path / "b.png").write_bytes(b"b")
        (tmp_path / "c.png").write_bytes(b"c")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "c.png"]
    assert [o.thread_id for o in writes.opens] == [threading.get_ident()] * 3


def test_aioresponses_fix_is_on_while_upstream_is_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    import aiohttp
    from aioresponses.core import RequestMatch

    major_minor = tuple(int(part) for part in aiohttp.__version__.split(".")[:2])
    if major_minor >= (3, 14):
        assert fix_needed(), "attendu le correctif actif sous aiohttp ≥ 3.14 avec aioresponses 0.7.9"
    fixed_upstream = RequestMatch._build_response

    def build_like_a_fixed_release(self: RequestMatch, *args: object, **kwargs: object) -> object:
        return None

    fix_needed.cache_clear()
    monkeypatch.setattr(RequestMatch, "_build_response", build_like_a_fixed_release)
    try:
        assert not fix_needed(), (
            "attendu le correctif désactivé quand aioresponses sait construire la réponse"
        )
    finally:
        monkeypatch.setattr(RequestMatch, "_build_response", fixed_upstream)
        fix_needed.cache_clear()
