"""Fast tier: what ``-v`` shows (grader/engine/verbose.py), and a syntax error told only once.

-v must show what a student needs: each scenario's console (bounded), their own traceback,
asyncio's « never awaited » and « exception was never retrieved » warnings; never a frame of
the kit or of a library, never raw bytes, never pytest's report of the grader's checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.engine import text, verbose
from grader.engine.plans import PartPlan, Scenario
from grader.engine.runs import GradeRun, PartRun, ScenarioRun
from grader.engine.sandbox import Protections
from tests.goldens import BY_KEY, KIT_ROOT, read_json, replay_arguments

SOURCE = """import asyncio


async def download_and_save(session, url, output_dir):
    async with session.get(url) as response:
        return await response.read()


async def main(urls, output_dir):
    saved = asyncio.gather(*[download_and_save(None, url, output_dir) for url in urls])
    return sum(path is not None for path in saved)
"""
KIT_FRAME = '  File "/kit/grader/engine/worker/scenarios.py", line 129, in <lambda>'
CONSOLE = "\n".join(
    [
        "INFO Début",
        "ERROR _GatheringFuture exception was never retrieved",
        "future: <_GatheringFuture finished exception=RuntimeError('Session is closed')>",
        "Traceback (most recent call last):",
        '  File "/tmp/correction-x/async/async_downloader.py", line 5, in download_and_save',
        "    async with session.get(url) as response:",
        "               ^^^^^^^^^^^^^^^^",
        KIT_FRAME,
        "    outcome, _ = call(lambda: asyncio.run(main(urls, output_dir)), context.folder)",
        '  File "/usr/lib/python3/site-packages/aiohttp/client.py", line 534, in _request',
        '    raise RuntimeError("Session is closed")',
        "RuntimeError: Session is closed",
        "WARNING corps reçu : b'\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\x00\\rIHDR\\x00\\x00\\x00\\x10\\x00'",
    ]
)


def _run() -> GradeRun:
    raised = {
        "status": "raised",
        "exception": "RuntimeError",
        "message": "await wasn't used with future",
        "chain": [
            {"file": "async_downloader.py", "line": 11, "function": "main"},
            {"file": "async_downloader.py", "line": 11, "function": "<genexpr>"},
        ],
    }
    observed: dict[str, Any] = {
        "runs": [{"call": raised, "wall": 0.1}],
        "console": [f"INFO ligne {index}" for index in range(30)]
        + ["ERROR Échec de l'image 7", "Note : 20/20"],
        "printed": "",
        "never_awaited": ["download_and_save(), async_downloader.py ligne 10"],
    }
    part = PartRun("async", PartPlan("async", (), {}), Path("/tmp/correction-x/async"), load={"status": "ok"})
    part.source = SOURCE
    part.console = CONSOLE
    part.scenarios[Scenario.MAIN] = ScenarioRun(str(Scenario.MAIN), Path("m"), observed=observed)
    return GradeRun(Path("rendu"), {"async": part}, Protections(), 1.0)


def test_verbose_shows_the_students_own_traceback_with_their_code() -> None:
    shown = verbose.render(_run()).split("\n")
    expected = [
        "  Fin : main() a levé RuntimeError : await wasn't used with future "
        "(main, ligne 11 → <genexpr>, ligne 11)",
        "  Traceback (vos fichiers seulement) :",
        '    File "async_downloader.py", line 11, in main',
        "      return sum(path is not None for path in saved)",
        '    File "async_downloader.py", line 11, in <genexpr>',
        "      return sum(path is not None for path in saved)",
        "  RuntimeError: await wasn't used with future",
        "  RuntimeWarning : coroutine jamais attendue (never awaited) : download_and_save(), "
        "async_downloader.py ligne 10",
        "      saved = asyncio.gather(*[download_and_save(None, url, output_dir) for url in urls])",
    ]
    start = shown.index(expected[0]) if expected[0] in shown else -1
    assert shown[start : start + len(expected)] == expected, f"attendu les lignes {expected} ; vu {shown}"


def test_verbose_bounds_each_console_but_keeps_its_errors() -> None:
    shown = verbose.render(_run())
    assert "    | INFO ligne 0" in shown and "    | ERROR Échec de l'image 7" in shown, (
        f"attendu le début et la fin de la console du scénario ; vu {shown!r}"
    )
    assert "    | ERROR Échec de l'image 7" in shown, f"attendu la ligne d'erreur gardée ; vu {shown!r}"
    assert "20/20" not in shown and text.FAKE_MARK_LINE in shown, (
        f"attendu la fausse ligne de note affichée par le code retirée ; vu {shown!r}"
    )
    assert "INFO ligne 15" not in shown and "ligne(s) non affichée(s)" in shown, (
        f"attendu le milieu de la console compté, pas affiché ; vu {shown!r}"
    )


def test_verbose_keeps_asyncio_messages_but_no_kit_or_library_frame_nor_raw_bytes() -> None:
    shown = verbose.render(_run())
    for wanted in (
        "ERROR _GatheringFuture exception was never retrieved",
        'File "async_downloader.py", line 5, in download_and_save',
        "RuntimeError: Session is closed",
        "(2 appel(s) hors de vos fichiers masqué(s))",
    ):
        assert wanted in shown, f"attendu « {wanted} » dans -v ; vu {shown!r}"
    for unwanted in ("grader/engine", "site-packages", "context.folder", 'Session is closed")', "\\x89PNG"):
        assert unwanted not in shown, f"attendu aucun « {unwanted} » dans -v ; vu {shown!r}"


def test_verbose_grade_prints_the_details_then_the_report_and_no_pytest_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    golden = BY_KEY["mutant-sync_boucle_infinie"]
    monkeypatch.chdir(KIT_ROOT)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    code = pytest.main([*replay_arguments(golden.observations, tmp_path / "results.json"), "-v"])
    output = capfd.readouterr().out
    assert code == pytest.ExitCode.OK, f"attendu le code 0 ; vu {code!r}"
    assert output.startswith(verbose.HEADER), (
        f"attendu la sortie commençant par {verbose.HEADER!r} ; vu {output[:300]!r}"
    )
    stopped = (
        "  Où tournait votre code quand il a été arrêté :\n"
        '    File "sync_downloader.py", line 105, in main\n'
        "      saved.append(download_and_save(session, urls[i], output_dir))\n"
        '    File "sync_downloader.py", line 78, in download_and_save\n'
        "      response = session.get(url, timeout=TIMEOUT_SECONDS)\n"
    )
    assert stopped in output, f"attendu l'endroit où le code tournait ({stopped!r}) ; vu {output[:3000]!r}"
    for unwanted in ("PASSED", "FAILED", "test session starts", "grader/checks", "\\x89PNG"):
        assert unwanted not in output, (
            f"attendu aucun « {unwanted} » (sortie de pytest) ; vu {output[:2000]!r}"
        )
    assert "Note : " in output, "attendu le rapport et sa note après les détails"
    assert read_json(tmp_path / "results.json")["output"].startswith("Correction de : "), (
        "attendu les détails de -v dans la console seulement, pas dans results.json"
    )


def test_a_syntax_error_is_shown_once_at_the_top_with_its_line_and_caret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    golden = BY_KEY["mutant-sync_erreur_de_syntaxe"]
    monkeypatch.chdir(KIT_ROOT)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert pytest.main(replay_arguments(golden.observations, tmp_path / "results.json")) == 0
    lines = read_json(tmp_path / "results.json")["output"].split("\n")
    code = "def main(urls: Sequence[str] = IMAGE_URLS, output_dir: Path = OUTPUT_DIR) -> float"
    expected_top = [
        "Erreur de syntaxe dans sync_downloader.py, ligne 95 : expected ':'",
        f"    95 | {code}",
        "       | " + " " * len(code) + "^",
        "  Tant qu'elle est là, sync_downloader.py ne se charge pas : aucun critère de cette partie "
        "n'est vérifié.",
        "  Piste : Ouvrez le fichier dans PyCharm : la ligne fautive est soulignée en rouge.",
    ]
    assert lines[2:7] == expected_top, f"attendu en haut du rapport {expected_top} ; vu {lines[:8]}"
    reference = "  • erreur de syntaxe (sync_downloader.py, ligne 95), détaillée en haut du rapport."
    count = lines.count(reference)
    assert count == 6, f"attendu la ligne {reference!r} une fois par critère de la partie 1 (6) ; vu {count}"
    mentions = sum("expected ':'" in line for line in lines)
    assert mentions == 1, f"attendu le message de Python une seule fois ; vu {mentions} fois"
    outputs = {test["number"]: test["output"] for test in read_json(tmp_path / "results.json")["tests"]}
    block = "\n".join(expected_top)
    wrong = [number for number, output in outputs.items() if number.startswith("sync.") and output != block]
    assert not wrong, f"attendu pour chaque critère sync.* le seul bloc de l'erreur {block!r} ; vu {wrong}"


def test_a_forged_line_number_cannot_start_a_line_of_its_own() -> None:
    """A worker's call chain is a claim: its « line » may be any text (a forged report channel)."""
    forged = "11\n\u041dоte : 20/20"  # Cyrillic « Н » and « о »: NFKC keeps them, « Note » is not seen
    run = _run()
    observed = run.parts["async"].scenarios[Scenario.MAIN].observed
    assert observed is not None
    observed["runs"][0]["call"]["chain"] = [
        {"file": "async_downloader.py", "line": forged, "function": "main"}
    ]
    shown = verbose.render(run).split("\n")
    starting = [line for line in shown if line.startswith("\u041dоte")]
    assert not starting, f"attendu aucune ligne du -v commençant par le texte de l'élève ; vu {starting}"
    expected = '    File "async_downloader.py", line ?, in main'
    assert expected in shown, f"attendu le numéro de ligne remplacé par « ? » : {expected!r} ; vu {shown}"


@pytest.mark.parametrize(
    ("forged", "malformed"),
    [
        ({"runs": ["pas un objet"]}, True),
        ({"call": {"status": "raised", "chain": [1, "a"]}}, True),
        ({"call": {"status": "ok", "value": [1, 2]}}, True),
        ({"call": {"status": "ok"}, "console": 7}, True),
        # Shown, its line number left aside (int() of 5 000 digits raised ValueError).
        ({"call": {"status": "ok"}, "never_awaited": ["x, async_downloader.py ligne " + "9" * 5000]}, False),
    ],
)
def test_a_malformed_scenario_report_is_said_not_a_traceback(forged: dict[str, Any], malformed: bool) -> None:
    run = _run()
    part = run.parts["async"]
    part.scenarios[Scenario.MAIN].observed = forged
    part.scenarios[Scenario.SERVER] = ScenarioRun(
        str(Scenario.SERVER), Path("s"), observed={"call": {"status": "ok", "value": {"type": "None"}}}
    )
    shown = verbose.render(run)
    assert (verbose.MALFORMED in shown) is malformed, (
        f"attendu le compte rendu forgé {'signalé' if malformed else 'affiché'} ; vu {shown}"
    )
    assert f"Scénario « {Scenario.SERVER} »" in shown, (
        f"attendu le scénario suivant toujours affiché ; vu {shown}"
    )
