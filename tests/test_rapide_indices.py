"""Fast tier: hints that deepen over consecutive grades, and the local history they read.

Each grade here is a golden's recorded observations judged again (``--rejouer``) in this
process, with ``--historique`` pointing to a file of the test: no worker, no real grade.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.batch.runner import grader_command
from grader.engine import hints, history
from grader.engine.criteria import CRITERIA
from tests.goldens import BY_KEY, KIT_ROOT, read_json, replay_arguments

GOLDEN = BY_KEY["mutant-async_sans_raise_for_status"]  # loses async.errors only
LOST = "async.errors"
LEVEL_2 = "Indice 2 (la notion) : "
LEVEL_3 = "Indice 3 (votre code) : "


def _grade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *options: str, observations: Path = GOLDEN.observations
) -> str:
    """Replays a recorded grade with ``options``; returns the console report (results.json)."""
    results = tmp_path / "results.json"
    monkeypatch.chdir(KIT_ROOT)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    code = pytest.main([*replay_arguments(observations, results), *options])
    assert code == pytest.ExitCode.OK, f"attendu le code 0 du correcteur rejoué ; vu {code!r}"
    output: str = read_json(results)["output"]
    return output


def _levels_shown(report: str) -> int:
    return 3 if LEVEL_3 in report else 2 if LEVEL_2 in report else 1


@pytest.mark.parametrize(
    ("streak", "level"), [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (9, 3)], ids=lambda value: str(value)
)
def test_level_rises_with_the_number_of_consecutive_lost_grades(streak: int, level: int) -> None:
    seen = hints.level_for(streak)
    assert seen == level, (
        f"attendu le niveau {level} pour {streak} correction(s) perdue(s) d'affilée ; vu {seen}"
    )


def test_every_criterion_has_a_concept_with_a_documentation_link_and_a_place() -> None:
    documented = (
        "https://docs.python.org/3/",
        "https://requests.readthedocs.io/",
        "https://docs.aiohttp.org/",
    )
    for criterion in CRITERIA:
        concept = hints.CONCEPTS[criterion.id]
        assert concept.links and all(link.startswith(("https://", "http://")) for link in concept.links), (
            f"attendu au moins un lien de documentation pour {criterion.id} ; vu {concept.links}"
        )
        assert criterion.id == "async.files" or concept.links[0].startswith(documented), (
            f"attendu pour {criterion.id} une page de Python, requests ou aiohttp ; vu {concept.links[0]}"
        )
        assert hints.PLACES[criterion.id].functions, f"attendu une fonction à regarder pour {criterion.id}"


def test_hints_deepen_grade_after_grade_then_fall_back_once_the_criterion_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / ".correction" / "historique.jsonl"
    first = _levels_shown(_grade(tmp_path, monkeypatch, f"--historique={log}"))
    target = history.read(log)[-1].target
    lost_again = history.Entry(history.now(), target, 18.8, (LOST,))
    seen = [first]
    for grade in (3, 5):  # the grades before it, lost as well, written as the grader writes them
        while len(history.read(log)) < grade - 1:
            history.append(lost_again, log)
        seen.append(_levels_shown(_grade(tmp_path, monkeypatch, f"--historique={log}")))
    assert seen == [1, 2, 3], f"attendu les niveaux 1, 2, 3 aux corrections 1, 3 et 5 ; vu {seen}"
    assert len(history.read(log)) == 5, (
        f"attendu 5 corrections dans l'historique ; vu {len(history.read(log))}"
    )
    history.append(history.Entry(history.now(), target, 20.0, ()), log)  # the criterion passed once
    again = _levels_shown(_grade(tmp_path, monkeypatch, f"--historique={log}"))
    assert again == 1, f"attendu le niveau 1 après une correction où {LOST} est réussi ; vu {again}"


def test_streak_counts_only_the_same_folder_and_stops_at_a_pass() -> None:
    entries = [
        history.Entry("2026-11-30T10:00:00", "skeleton", 0.0, (LOST,)),
        history.Entry("2026-11-30T10:01:00", "skeleton", 20.0, ()),
        history.Entry("2026-11-30T10:02:00", "skeleton", 0.0, (LOST,)),
        history.Entry("2026-11-30T10:03:00", "autre", 0.0, (LOST,)),
        history.Entry("2026-11-30T10:04:00", "skeleton", 0.0, (LOST,)),
    ]
    streaks = history.streaks(entries, "skeleton", [LOST, "sync.errors"])
    assert streaks == {LOST: 3, "sync.errors": 1}, (
        f"attendu {LOST} perdu 3 fois d'affilée (celle-ci comprise) et sync.errors 1 fois ; vu {streaks}"
    )


def test_all_levels_at_once_point_at_the_students_code_without_any_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _grade(tmp_path, monkeypatch, "--indices", "tous")
    assert "Piste : " in report and LEVEL_2 in report, (
        f"attendu les niveaux 1 (Piste) et 2 avec --indices tous ; vu {report[-1500:]!r}"
    )
    link = "https://docs.aiohttp.org/en/stable/client_reference.html#aiohttp.ClientResponse.raise_for_status"
    assert link in report, f"attendu le lien {link} au niveau 2 ; vu {report[-1500:]!r}"
    line = next((line for line in report.splitlines() if LEVEL_3 in line), "")
    expected = (
        "  • Indice 3 (votre code) : download_and_save() (async_downloader.py, ligne 72) : relisez "
        "ligne 80 « try: », ligne 86 « except (aiohttp.ClientError, TimeoutError) as error: », "
        "ligne 89 « except OSError as error: ». Ce qui a été observé : La page d'erreur HTTP a été "
        "enregistrée comme image : broken-6127e77522.png."
    )
    assert line == expected, f"attendu la ligne {expected!r} ; vu {line!r}"
    assert "Indices : tous les niveaux sont affichés (--indices tous)." in report, (
        "attendu la ligne qui explique les indices affichés"
    )
    assert not list(tmp_path.rglob("*.jsonl")), "attendu aucun historique écrit sans --historique"


def test_each_grade_appends_one_line_to_the_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "historique.jsonl"
    _grade(tmp_path, monkeypatch, f"--historique={log}")
    _grade(tmp_path, monkeypatch, f"--historique={log}")
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2, f"attendu une ligne par correction (2) ; vu {len(lines)}"
    document = json.loads(lines[-1])
    assert sorted(document) == ["date", "dossier", "note", "pas_faits", "perdus"], (
        f"attendu les champs date, dossier, note, perdus, pas_faits ; vu {sorted(document)}"
    )
    assert (document["note"], document["perdus"], document["pas_faits"]) == (18.8, [LOST], []), (
        f"attendu la note 18,8 et {LOST} seul perdu ; vu {document}"
    )


def test_a_corrupt_or_cut_history_line_is_skipped_and_the_next_grade_starts_its_own_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "historique.jsonl"
    good = history.Entry("2026-11-30T10:00:00", "skeleton", 0.0, ("sync.errors",))
    log.write_text("pas du json\n" + good.to_json() + '\n{"date": "2026-11-30T10:0', encoding="utf-8")
    _grade(tmp_path, monkeypatch, f"--historique={log}")
    entries, skipped = history.read_counting(log)
    assert [entry.target for entry in entries][:1] == ["skeleton"] and len(entries) == 2, (
        f"attendu l'entrée valide gardée et la nouvelle ajoutée (2 entrées) ; vu {entries}"
    )
    assert skipped == 2, (
        f"attendu 2 lignes illisibles ignorées (la ligne coupée et « pas du json ») ; vu {skipped}"
    )


@pytest.mark.parametrize("mark", ["1" + "0" * 400, "NaN", "Infinity", "-1", "20.5"])
def test_a_history_line_with_a_mark_we_never_write_is_skipped(mark: str) -> None:
    line = (
        '{"date": "2026-11-30T10:00:00", "dossier": "skeleton", "note": '
        + mark
        + ', "perdus": [], "pas_faits": []}'
    )
    parsed = history.parse_line(line)
    assert parsed is None, f"attendu la ligne ignorée (note {mark[:12]} hors de 0 à 20) ; vu {parsed}"


def test_a_history_that_cannot_be_written_never_stops_the_grade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "historique.jsonl"
    log.mkdir()  # a folder where the file should be
    report_path = tmp_path / "results.json"
    _grade(tmp_path, monkeypatch, f"--historique={log}")
    assert report_path.is_file(), "attendu results.json écrit malgré un historique impossible à écrire"


def test_batch_and_platform_grades_never_pass_the_history_nor_deeper_hints() -> None:
    command = grader_command(Path("rendu"), Path("results.json"))
    options = [argument for argument in command if argument.startswith(("--historique", "--indices"))]
    assert not options, f"attendu une commande de correction en lot sans historique ni indices ; vu {options}"


def test_without_history_the_report_shows_level_one_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _grade(tmp_path, monkeypatch)
    assert _levels_shown(report) == 1 and "Indices :" not in report, (
        f"attendu le niveau 1 seul et aucune ligne sur les indices sans --historique ; vu {report[-1200:]!r}"
    )


def test_an_unknown_hint_option_is_refused_in_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(KIT_ROOT)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    code = pytest.main(
        [*replay_arguments(GOLDEN.observations, tmp_path / "results.json"), "--indices", "toutes"]
    )
    error = capsys.readouterr().err
    expected = "--indices toutes : valeur inconnue. Pour voir tous les niveaux d'indice"
    assert code == pytest.ExitCode.USAGE_ERROR and expected in error, (
        f"attendu le refus « {expected}… » ; vu le code {code!r} et {error[-300:]!r}"
    )


def test_level_three_starts_where_the_observed_call_chain_stopped() -> None:
    source = "\n".join(
        [
            "import asyncio",
            "",
            "async def main(urls, output_dir):",
            "    saved = asyncio.gather(*tasks)",
            "    return sum(path is not None for path in saved)",
        ]
    )
    observed = (
        "main() a levé RuntimeError : await wasn't used with future (main, ligne 5 → <genexpr>, ligne 5)"
    )
    shown = hints.where_in_code("async.concurrency", source, observed)
    expected = (
        "main() (async_downloader.py, ligne 5) « return sum(path is not None for path in saved) », là où la "
        "correction a vu votre code ; main() (async_downloader.py, ligne 3) : relisez ligne 4 « saved = "
        f"asyncio.gather(*tasks) ». Ce qui a été observé : {observed}"
    )
    assert shown == expected, f"attendu {expected!r} ; vu {shown!r}"
    nowhere = hints.where_in_code("sync.directory", "x = 1\n", "")
    assert nowhere == "regardez main() dans sync_downloader.py.", (
        f"attendu la fonction à regarder quand rien ne la situe ; vu {nowhere!r}"
    )
