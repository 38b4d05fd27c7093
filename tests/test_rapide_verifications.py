"""Fast tier: the real checks, on observations written by hand (a PartRun built in the test).

No worker runs: each test builds the few observations a check reads, calls the check (or
the PartView, or the corroboration) and asserts the exact French outcome.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.checks import test_directory as directory_checks
from grader.checks import test_download as download_checks
from grader.checks import test_session as session_checks
from grader.engine import evidence
from grader.engine.evidence import ServerStats
from grader.engine.observations import PartView
from grader.engine.outcomes import Broken, Lost, NotDone
from grader.engine.plans import Image, PartPlan, Scenario
from grader.engine.runs import PartRun, ScenarioRun
from grader.engine.worker.protocol import LoadEnding, ScenarioEnding

LOADED = {"status": "ok", "value": {"type": "None"}}
IMAGE = Image("https://images.example.org/photos/2/full.jpg", b"\x89PNG\r\n\x1a\nimage")


def _call(value: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A call as the worker reports it (returned normally unless ``status`` says otherwise)."""
    return {"status": "ok", "value": value or {"type": "None"}, "chain": [], "line": None, **fields}


def _scenario(name: Scenario, observed: dict[str, Any] | None = None, **fields: Any) -> ScenarioRun:
    return ScenarioRun(str(name), Path("correction/sync") / name, observed=observed, **fields)


def _view(
    *scenarios: ScenarioRun,
    part: str = "sync",
    load: dict[str, Any] | None = LOADED,
    images: dict[str, list[Image]] | None = None,
    **fields: Any,
) -> PartView:
    run = PartRun(part, PartPlan(part, (), images or {}), Path("correction") / part, load=load, **fields)
    run.scenarios = {scenario.name: scenario for scenario in scenarios}
    return PartView(run)


def _raised(check: Any, view: PartView) -> BaseException:
    """What the check concluded, when it did not pass."""
    try:
        check(view)
    except (Lost, NotDone, Broken) as error:
        return error
    pytest.fail(f"attendu {check.__name__} perdue sur ces observations ; vu la vérification réussie")


def test_syntax_error_names_the_file_the_line_and_the_message() -> None:
    load = {"status": "raised", "exception": "SyntaxError", "message": "expected ':'", "line": 70}
    problem = _view(load=load).load_problem()
    expected = (
        "sync_downloader.py ne se charge pas : erreur de syntaxe (sync_downloader.py, ligne 70) : "
        "expected ':'"
    )
    assert isinstance(problem, Broken) and problem.cause == expected, (
        f"attendu Broken({expected!r}) ; vu {problem!r}"
    )
    hint = "Ouvrez le fichier dans PyCharm : la ligne fautive est soulignée en rouge."
    assert problem.hint == hint, f"attendu la piste {hint!r} ; vu {problem.hint!r}"


def test_missing_part_file_is_not_done_rather_than_broken() -> None:
    problem = _view(load=None, load_ending=LoadEnding.MISSING).load_problem()
    expected = "fichier absent : sync_downloader.py"
    assert isinstance(problem, NotDone) and problem.todo == expected, (
        f"attendu NotDone({expected!r}) ; vu {problem!r}"
    )


def test_hung_scenario_is_broken_and_shows_the_students_call_chain() -> None:
    chain = [
        {"file": "sync_downloader.py", "line": 70, "function": "main"},
        {"file": "sync_downloader.py", "line": 52, "function": "download_and_save"},
    ]
    view = _view(_scenario(Scenario.MAIN, ending=ScenarioEnding.HUNG, chain=chain))
    error = _raised(lambda view: view.scenario(Scenario.MAIN), view)
    expected = (
        "votre code tourne encore après le délai imparti (boucle infinie ?) : "
        "main, ligne 70 → download_and_save, ligne 52"
    )
    assert isinstance(error, Broken) and error.cause == expected, (
        f"attendu Broken({expected!r}) ; vu {error!r}"
    )


def test_download_and_save_returning_none_loses_with_what_it_returned() -> None:
    observed = {"call": _call(), "traffic": {"requests": 1}}
    view = _view(_scenario(Scenario.DOWNLOAD_ONE, observed), images={"download_one": [IMAGE]})
    error = _raised(download_checks.test_download_and_save_writes_one_image_and_returns_its_path, view)
    expected = (
        "download_and_save a renvoyé None.\n"
        "Piste : La fonction doit renvoyer le chemin (Path) du fichier qu'elle vient d'écrire."
    )
    assert isinstance(error, Lost) and str(error) == expected, f"attendu Lost({expected!r}) ; vu {error!r}"


def test_download_and_save_still_raising_not_implemented_is_not_done() -> None:
    observed = {"call": _call(status="not_done", todo="TODO 2 : download_and_save")}
    view = _view(_scenario(Scenario.DOWNLOAD_ONE, observed), images={"download_one": [IMAGE]})
    error = _raised(download_checks.test_download_and_save_writes_one_image_and_returns_its_path, view)
    assert isinstance(error, NotDone) and error.todo == "TODO 2 : download_and_save", (
        f"attendu NotDone('TODO 2 : download_and_save') ; vu {error!r}"
    )


def test_main_saving_no_image_says_how_many_were_expected() -> None:
    images = [IMAGE, Image("https://cdn.example.net/img/3.png?size=large", b"\x89PNG\r\n\x1a\nautre")]
    view = _view(_scenario(Scenario.MAIN, {"call": _call()}), images={"main": images})
    error = _raised(download_checks.test_main_saves_every_image_in_its_own_file, view)
    expected = "Après main(), 0 image(s) sur 2 se trouvent dans le dossier de sortie (0 fichier(s))."
    assert isinstance(error, Lost) and error.observed == expected, (
        f"attendu Lost({expected!r}) ; vu {error!r}"
    )


def test_one_session_per_request_loses_the_session_check_with_the_counts() -> None:
    traffic = {"sessions": 6, "requests": 6, "all_from_one_session": False}
    view = _view(_scenario(Scenario.MAIN, {"call": _call(), "traffic": traffic}))
    error = _raised(session_checks.test_main_opens_a_single_session_for_all_requests, view)
    expected = "6 requête(s) envoyée(s), 6 session(s) créée(s)."
    assert isinstance(error, Lost) and error.observed == expected, (
        f"attendu Lost({expected!r}) ; vu {error!r}"
    )


def test_missing_nested_folder_loses_the_directory_check() -> None:
    view = _view(_scenario(Scenario.NESTED_DIR, {"call": _call()}, folders={"sortie"}))
    error = _raised(directory_checks.test_main_creates_a_missing_nested_output_folder, view)
    expected = "Le dossier sortie/images/lot (trois niveaux) n'existe pas après main()."
    assert isinstance(error, Lost) and error.observed == expected, (
        f"attendu Lost({expected!r}) ; vu {error!r}"
    )


def test_nested_folder_on_disk_passes_the_directory_check() -> None:
    folders = {"sortie", "sortie/images", "sortie/images/lot"}
    view = _view(_scenario(Scenario.NESTED_DIR, {"call": _call()}, folders=folders))
    try:
        directory_checks.test_main_creates_a_missing_nested_output_folder(view)
    except (Lost, NotDone, Broken) as error:
        pytest.fail(f"attendu la vérification réussie (dossier créé) ; vu {error!r}")


def test_claims_without_any_request_to_the_local_server_are_not_corroborated() -> None:
    missing = evidence.corroborated(_view().run, "sync.session")
    assert missing == evidence.NO_REQUEST, f"attendu {evidence.NO_REQUEST!r} ; vu {missing!r}"


def test_a_new_connection_per_request_does_not_corroborate_the_session() -> None:
    servers = {"server": ServerStats(requests=4, connections=4, ports=2)}
    missing = evidence.corroborated(_view(servers=servers).run, "sync.session")
    expected = "le serveur local de la correction a reçu chaque requête sur une nouvelle connexion"
    assert missing == expected, f"attendu {expected!r} ; vu {missing!r}"
    reused = {"server": ServerStats(requests=4, connections=2, ports=2)}
    missing = evidence.corroborated(_view(servers=reused).run, "sync.session")
    assert missing == "", f"attendu la session corroborée (une connexion par port) ; vu {missing!r}"


def test_print_only_logging_is_told_what_was_printed_not_that_nothing_showed() -> None:
    from grader.checks import test_logging as logging_checks

    printed = "Début du lot\nTéléchargement de https://images.example.org/photos/2/full.jpg\nFin du lot\n"
    observed = {"runs": [{"call": _call()}], "console": [], "records": [], "printed": printed}
    # console: what the supervisor read on the worker's console, where those prints went.
    view = _view(_scenario(Scenario.LOG_MESSAGES, observed), console=printed)

    def check(part_view: PartView) -> None:
        logging_checks.test_console_log_tells_start_each_url_each_success_and_end(part_view, [])

    error = _raised(check, view)
    expected = "3 ligne(s) affichée(s) avec print() pendant main(), aucun message de logging."
    assert isinstance(error, Lost) and error.observed == expected, f"attendu {expected!r} ; vu {error!r}"
    assert error.hint == logging_checks.PRINT_HINT, f"attendu la piste sur print ; vu {error.hint!r}"


def _session_evidence(requests: int, connections: int, in_flight: int) -> bool:
    stats = ServerStats(requests=requests, max_in_flight=in_flight, connections=connections, ports=2)
    return evidence.connections_reused(_view(servers={str(Scenario.SERVER): stats}).run)


def test_a_part_1_session_is_corroborated_only_by_a_connection_that_carries_several_requests() -> None:
    cases = {
        "une session, l'une après l'autre (2 connexions, 8 requêtes)": (_session_evidence(8, 2, 1), True),
        "une session partagée par 4 threads (4 connexions, 8 requêtes)": (_session_evidence(8, 4, 4), True),
        "tout envoyé d'un coup, une connexion par requête": (_session_evidence(8, 8, 8), False),
        "un client par requête, l'un après l'autre": (_session_evidence(8, 8, 1), False),
        "aucune requête": (_session_evidence(0, 0, 0), False),
    }
    wrong = {case: seen for case, (seen, expected) in cases.items() if seen != expected}
    assert not wrong, (
        f"attendu la réutilisation d'une connexion comme seule preuve d'une session ; vu {wrong}"
    )
