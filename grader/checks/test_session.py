"""Session: one session for the whole batch, handed to download_and_save(), and closed."""

from __future__ import annotations

from grader.checks.expectations import fail_on_todo, require_some_work
from grader.checks.marks import for_both_parts, observed_outside, only_in
from grader.engine.observations import PartView
from grader.engine.outcomes import expect
from grader.engine.plans import Scenario

SESSION_CLASS = {"sync": "requests.Session", "async": "aiohttp.ClientSession"}
NO_REQUEST = "main() n'a envoyé aucune requête au serveur local : rien à vérifier ici."


@for_both_parts("session", weight=2, reads=(Scenario.MAIN,))
def test_main_opens_a_single_session_for_all_requests(view: PartView) -> None:
    """main() ouvre une seule session et envoie toutes les requêtes par elle"""
    scenario = view.scenario(Scenario.MAIN)
    require_some_work(scenario)
    traffic = scenario.traffic
    created, sent = traffic["sessions"], traffic["requests"]
    expect(
        created == 1 and traffic["all_from_one_session"],
        f"{sent} requête(s) envoyée(s), {created} session(s) créée(s).",
        f"Où créez-vous la {SESSION_CLASS[view.part]} ? Une seule, ouverte dans main() pour tout le lot, "
        "puis transmise à download_and_save().",
    )
    if view.part == "async":
        expect(
            traffic["sessions_left_open"] == 0,
            "La session aiohttp.ClientSession n'est jamais fermée (aiohttp "
            "avertit alors « Unclosed client session »).",
            "Ouvrez-la avec « async with aiohttp.ClientSession() as "
            "session: », qui la ferme à la fin du bloc.",
        )


@for_both_parts("session", reads=(Scenario.DOWNLOAD_ONE,))
def test_download_and_save_uses_the_session_it_is_given(view: PartView) -> None:
    """download_and_save() utilise la session reçue en paramètre"""
    scenario = view.scenario(Scenario.DOWNLOAD_ONE)
    require_some_work(scenario, "download_and_save()")
    traffic = scenario.traffic
    created = traffic["sessions"]
    expect(
        traffic["all_from_given_session"] and created == 0,
        f"Requête envoyée par une autre session que celle reçue ; {created} session(s) créée(s) par "
        "download_and_save.",
        "Le paramètre session est là pour être utilisé : n'appelez pas la bibliothèque directement et "
        "n'ouvrez pas de nouvelle session dans download_and_save().",
    )


@only_in("sync", "session", reads=(Scenario.SERVER,))
@observed_outside
def test_main_reuses_its_connections_on_a_real_server(view: PartView) -> None:
    """Sur un vrai serveur local, main() réutilise ses connexions (une seule session)

    Part 1 only: part 2 downloads at once, and one session then opens a connection per
    request in flight, as separate sessions would.
    """
    scenario = view.scenario(Scenario.SERVER)
    stats = view.server(Scenario.SERVER)
    sent, connections, ports = stats.requests, stats.connections, stats.ports
    if not sent:
        fail_on_todo(scenario)
        expect(False, NO_REQUEST, "Appelez download_and_save() pour chaque URL reçue, avec la session.")
    in_flight = f", au plus {stats.max_in_flight} requêtes à la fois" if stats.max_in_flight > 1 else ""
    expect(
        connections <= stats.connection_budget,
        f"Le serveur local a reçu {sent} requête(s) sur {connections} connexion(s) TCP distinctes "
        f"({ports} serveur(s){in_flight}).",
        f"Une seule {SESSION_CLASS[view.part]} garde ses connexions ouvertes d'une requête à l'autre : "
        "où la créez-vous ?",
    )
