"""Errors: a network, HTTP or disk failure is logged, costs only its own image, and returns None."""

from __future__ import annotations

from grader.checks.expectations import (
    AWAIT_HINT,
    expect_error_logged,
    expect_file_count,
    expect_no_error_page,
    fail_on_todo,
)
from grader.checks.handlers import shadowed_clauses
from grader.checks.marks import for_both_parts, observed_outside
from grader.engine.observations import PartView, ScenarioView, shown_value
from grader.engine.outcomes import NotDone, expect
from grader.engine.plans import DISK_FAILS_AT, DISK_IMAGES, SERVER_FAULTS, Scenario


@for_both_parts("errors", reads=(Scenario.ERROR_CONNECTION, Scenario.ERROR_TIMEOUT))
def test_connection_error_is_logged_and_the_others_still_download(view: PartView, notes: list[str]) -> None:
    """Une erreur réseau est loguée et n'empêche pas les autres téléchargements"""
    scenario = view.scenario(Scenario.ERROR_CONNECTION)
    # A remark worth no points: the errors are still caught and logged (README, grading table).
    notes.extend(clause.remark() for clause in shadowed_clauses(view.source))
    expect_file_count(scenario, "main() avec une erreur de connexion")
    expect_error_logged(scenario, failures=1)
    if view.part == "async":
        timeout = view.scenario(Scenario.ERROR_TIMEOUT)
        if timeout.failed_call is not None and not timeout.not_done:
            notes.append(
                "un délai dépassé (TimeoutError, qui n'est pas une "
                "aiohttp.ClientError) arrête votre main() : "
                "pensez à l'attraper aussi."
            )


@for_both_parts("errors", weight=1.5, reads=(Scenario.ERROR_404, Scenario.ERROR_500))
def test_http_error_status_is_logged_and_never_saved_as_an_image(view: PartView) -> None:
    """Un statut HTTP 404 ou 500 est une erreur : loguée, et rien n'est enregistré"""
    for name, status in ((Scenario.ERROR_404, 404), (Scenario.ERROR_500, 500)):
        scenario = view.scenario(name)
        expect_no_error_page(scenario)
        expect_file_count(scenario, f"main() avec une réponse {status}")
        expect_error_logged(scenario, failures=1)


@for_both_parts("errors", reads=(Scenario.ERROR_DISK,))
def test_disk_write_error_is_logged_and_the_others_still_download(view: PartView) -> None:
    """Une erreur d'écriture sur le disque est loguée et n'arrête pas les autres"""
    scenario = view.scenario(Scenario.ERROR_DISK)
    saved = len(scenario.files())
    # An exception that ends main() is an error not handled, however many files it left: how
    # many depends on when it struck.
    escaped = scenario.escaped_error()
    if saved != DISK_IMAGES - 1 or escaped:
        fail_on_todo(scenario)
    crash = scenario.crash_text()
    expect(
        saved == DISK_IMAGES - 1 and not escaped,
        f"{saved} fichier(s) enregistré(s) sur {DISK_IMAGES} alors qu'une seule écriture a échoué "
        "(disque plein simulé)." + (f" {crash}." if crash else "") + _stopped_after(scenario, crash),
        _disk_hint(scenario, crash),
    )
    expect_error_logged(scenario, failures=1)


def _stopped_after(scenario: ScenarioView, crash: str) -> str:
    """Said when main() returned normally but never tried the images after the failed write,
    or when it never awaited its downloads."""
    if scenario.never_awaited and not scenario.write_opens:
        return f" {scenario.never_awaited_text()}."
    if crash or not DISK_FAILS_AT <= scenario.write_opens < DISK_IMAGES:
        return ""
    return (
        f" main() s'est terminé normalement après {scenario.write_opens} ouverture(s) de fichier en "
        f"écriture sur {DISK_IMAGES} : le lot s'arrête à l'échec."
    )


def _disk_hint(scenario: ScenarioView, crash: str) -> str:
    """The cause the observations support: the OSError escapes, main() stops the batch, or
    main() never awaits its downloads."""
    if scenario.never_awaited and not scenario.write_opens:
        return AWAIT_HINT
    if not crash and DISK_FAILS_AT <= scenario.write_opens < DISK_IMAGES:
        return (
            "L'erreur d'écriture est bien rattrapée, mais main() n'essaie plus les images suivantes : "
            "cherchez un break, un return ou une exception relancée dans la boucle de main()."
        )
    return (
        "L'écriture du fichier peut lever OSError (IOError) : l'attrapez-vous dans download_and_save() pour "
        "que les autres images continuent ?"
    )


@for_both_parts("errors", weight=0.5, reads=(Scenario.DOWNLOAD_ONE, Scenario.DOWNLOAD_404))
def test_download_and_save_returns_none_on_failure(view: PartView) -> None:
    """download_and_save() renvoie None quand le téléchargement échoue"""
    working = view.scenario(Scenario.DOWNLOAD_ONE)
    if working.not_done:
        raise NotDone(working.not_done)
    scenario = view.scenario(Scenario.DOWNLOAD_404)
    scenario.require_completed("download_and_save()")
    returned = scenario.returned()
    written = len(scenario.files())
    expect(
        returned.get("type") == "None" and not written,
        f"Pour une réponse 404, download_and_save a renvoyé {shown_value(returned)} et écrit "
        f"{written} fichier(s).",
        "En cas d'échec, la fonction logue l'erreur, n'écrit rien et renvoie None.",
    )
    expect(
        working.requests_sent > 0 and bool(working.files()),
        "download_and_save() n'écrit aucun fichier quand tout va bien : renvoyer None n'a alors rien "
        "d'une gestion d'erreur.",
        "Commencez par le cas qui réussit : télécharger, écrire le fichier, renvoyer son chemin.",
    )


@for_both_parts("errors", reads=(Scenario.SERVER_ERRORS,))
@observed_outside
def test_failures_on_a_real_server_cost_only_their_own_image(view: PartView) -> None:
    """Sur un vrai serveur local, une URL en échec (404, 500, connexion coupée) ne coûte que son image"""
    scenario = view.scenario(Scenario.SERVER_ERRORS)
    stats = view.server(Scenario.SERVER_ERRORS)
    files = scenario.files()
    wanted = len(stats.expected)
    asked = len(stats.requested)  # the good images: every one after the failures too
    escaped = scenario.escaped_error()
    if asked < wanted or len(files) != wanted or escaped:
        fail_on_todo(scenario)
    expect(
        stats.requests > 0,
        "main() n'a envoyé aucune requête au serveur local : rien à vérifier ici.",
        "Commencez par le cas qui réussit : télécharger chaque URL reçue et enregistrer l'image.",
    )
    # What the files hold is the download criterion's business: here, only which exist.
    expect(
        asked == wanted and len(files) == wanted and not escaped,
        f"Sur le serveur local, {len(SERVER_FAULTS)} URL échouent au milieu du lot (404, 500, connexion "
        f"coupée) : {asked} image(s) sur {wanted} demandée(s), {len(files)} fichier(s) dans le dossier "
        f"de sortie ({wanted} attendus)."
        + (f" {escaped} : l'erreur n'a pas été rattrapée." if escaped else ""),
        "Une image en échec ne doit ni arrêter les autres ni laisser de fichier : où se trouvent vos "
        "try/except, et que font-ils ?",
    )
