"""Checks shared by both parts: each runs once on sync_downloader.py and once on async_downloader.py."""

from __future__ import annotations

import contextlib
import io
import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from grader.checks import (
    expect_error_logged,
    expect_file_count,
    expect_no_error_page,
    expect_saved,
    files_under,
    shows_duration,
)
from grader.conftest import GradingSession
from grader.criteria import for_both_parts
from grader.downloaders import Downloader
from grader.probes import Console, Image, console_from, default_console, image_set
from grader.student import NotDone, StudentCode, StudentCrash, expect


@pytest.fixture
def downloader(part: str, grading: GradingSession) -> Downloader:
    code = StudentCode(grading.module(part), part, grading.hung_parts)
    code.loaded.get()
    return Downloader(code)


@pytest.fixture
def images() -> list[Image]:
    return image_set(6)


def _run_with_failures(
    downloader: Downloader, output_dir: Path, fail: Callable[[Any, str], None]
) -> tuple[list[Image], Console]:
    """main() on good images with one failing URL in the middle; returns the good ones."""
    good = image_set(4)
    bad_url = "https://cdn.example.net/img/broken.png?size=large"
    console = default_console()
    with downloader.mocked(output_dir) as http:
        for image in good:
            http.serve(image)
        fail(http, bad_url)
        downloader.main([good[0].url, good[1].url, bad_url, good[2].url, good[3].url], output_dir)
    return good, console


# --- download ------------------------------------------------------------------------------


@for_both_parts("download", weight=2)
def test_main_saves_every_image_in_its_own_file(
    downloader: Downloader, images: list[Image], output_dir: Path, tmp_path: Path
) -> None:
    """main() enregistre chaque image dans son propre fichier du dossier de sortie"""
    default_console()
    with downloader.mocked(output_dir) as http:
        for image in images:
            http.serve(image, latency=0.01)
        downloader.main([image.url for image in images], output_dir)
    expect_saved(images, output_dir, tmp_path, "main()")


@for_both_parts("download")
def test_download_and_save_writes_one_image_and_returns_its_path(
    downloader: Downloader, images: list[Image], output_dir: Path
) -> None:
    """download_and_save() écrit une image et renvoie le chemin du fichier"""
    output_dir.mkdir(parents=True)
    image = images[1]
    default_console()
    with downloader.mocked() as http:
        http.serve(image)
        returned = downloader.download_one(image.url, output_dir).returned
    expect(
        isinstance(returned, Path) and returned.is_file(),
        f"download_and_save a renvoyé {returned!r}.",
        "La fonction doit renvoyer le chemin (Path) du fichier qu'elle vient d'écrire.",
    )
    expect(
        returned.resolve().parent == output_dir.resolve() and returned.read_bytes() == image.body,
        f"Le fichier renvoyé ({returned}) n'est pas l'image téléchargée dans {output_dir}.",
        "Le fichier doit être dans output_dir et contenir exactement les octets reçus.",
    )


# --- session -------------------------------------------------------------------------------


@for_both_parts("session", weight=2)
def test_main_opens_a_single_session_for_all_requests(
    downloader: Downloader, images: list[Image], output_dir: Path
) -> None:
    """main() ouvre une seule session et envoie toutes les requêtes par elle"""
    default_console()
    with downloader.mocked(output_dir) as http:
        for image in images:
            http.serve(image)
        downloader.main([image.url for image in images], output_dir)
    created = len(http.sessions)
    observed = f"{len(http.sent)} requête(s) envoyée(s), {created} session(s) créée(s)."
    expect(
        created == 1 and http.senders() == {id(http.sessions[0])} and len(http.sent) >= len(images),
        observed,
        f"Où créez-vous la {downloader.session_class} ? Une seule, ouverte dans main() pour "
        "tout le lot, puis transmise à download_and_save().",
    )


@for_both_parts("session")
def test_download_and_save_uses_the_session_it_is_given(
    downloader: Downloader, images: list[Image], output_dir: Path
) -> None:
    """download_and_save() utilise la session reçue en paramètre"""
    output_dir.mkdir(parents=True)
    default_console()
    with downloader.mocked() as http:
        http.serve(images[0])
        call = downloader.download_one(images[0].url, output_dir)
    created_by_student = len(http.sessions) - 1
    expect(
        http.senders() == {call.session_id} and created_by_student == 0,
        f"Requête envoyée par une autre session que celle reçue ; {created_by_student} "
        "session(s) créée(s) par download_and_save.",
        "Le paramètre session est là pour être utilisé : n'appelez pas la bibliothèque "
        "directement et n'ouvrez pas de nouvelle session dans download_and_save().",
    )


# --- directory -----------------------------------------------------------------------------


@for_both_parts("directory")
def test_main_creates_a_missing_nested_output_folder(
    downloader: Downloader, images: list[Image], nested_output_dir: Path, tmp_path: Path
) -> None:
    """main() crée le dossier de sortie manquant, parents compris"""
    default_console()
    with downloader.mocked() as http:
        for image in images[:2]:
            http.serve(image)
        downloader.main([image.url for image in images[:2]], nested_output_dir)
    expect(
        nested_output_dir.is_dir(),
        f"Le dossier {nested_output_dir.relative_to(tmp_path)} (trois niveaux) n'existe pas après main().",
        "Avec pathlib, quels paramètres de mkdir créent aussi les dossiers parents ?",
    )


@for_both_parts("directory")
def test_main_runs_again_when_the_output_folder_exists(
    downloader: Downloader, images: list[Image], nested_output_dir: Path, tmp_path: Path
) -> None:
    """main() fonctionne quand le dossier de sortie existe déjà (second lancement)"""
    nested_output_dir.mkdir(parents=True)
    default_console()
    with downloader.mocked() as http:
        for image in images[:2]:
            http.serve(image)
        urls = [image.url for image in images[:2]]
        downloader.main(urls, nested_output_dir)
        downloader.main(urls, nested_output_dir)  # a FileExistsError here fails the check
    expect(
        nested_output_dir.is_dir(),
        f"Le dossier {nested_output_dir.relative_to(tmp_path)} a disparu après deux lancements de main().",
        "main() doit réutiliser le dossier de sortie existant.",
    )


# --- errors --------------------------------------------------------------------------------


@for_both_parts("errors")
def test_connection_error_is_logged_and_the_others_still_download(
    downloader: Downloader, output_dir: Path, tmp_path: Path, notes: list[str]
) -> None:
    """Une erreur réseau est loguée et n'empêche pas les autres téléchargements"""
    good, console = _run_with_failures(
        downloader,
        output_dir,
        lambda http, url: http.fail(url, error=downloader.connection_error()),
    )
    expect_file_count(len(good), output_dir, tmp_path, "main() avec une erreur de connexion")
    expect_error_logged(console, failures=1)
    if downloader.is_async:
        _advise_on_timeouts(downloader, output_dir, notes)


def _advise_on_timeouts(downloader: Downloader, output_dir: Path, notes: list[str]) -> None:
    image = image_set(1)[0]
    bad_url = "https://images.example.org/photos/slow/full.jpg"
    with downloader.mocked() as http:
        http.serve(image)
        http.fail(bad_url, error=TimeoutError())
        try:
            downloader.main([image.url, bad_url], output_dir.with_name("delai"))
        except Exception:
            notes.append(
                "un délai dépassé (TimeoutError, qui n'est pas une aiohttp.ClientError) "
                "arrête votre main() : pensez à l'attraper aussi."
            )


def _fail_with_status(status: int, http: Any, url: str) -> None:
    http.fail(url, status=status)


@for_both_parts("errors", weight=1.5)
def test_http_error_status_is_logged_and_never_saved_as_an_image(
    downloader: Downloader, output_dir: Path, tmp_path: Path
) -> None:
    """Un statut HTTP 404 ou 500 est une erreur : loguée, et rien n'est enregistré"""
    for status in (404, 500):
        folder = output_dir.with_name(f"{output_dir.name}-{status}")
        good, console = _run_with_failures(downloader, folder, partial(_fail_with_status, status))
        expect_no_error_page(folder)
        expect_file_count(len(good), folder, tmp_path, f"main() avec une réponse {status}")
        expect_error_logged(console, failures=1)


@for_both_parts("errors")
def test_disk_write_error_is_logged_and_the_others_still_download(
    downloader: Downloader, images: list[Image], output_dir: Path
) -> None:
    """Une erreur d'écriture sur le disque est loguée et n'arrête pas les autres"""
    from grader.guards import watch_writes

    console = default_console()
    with downloader.mocked(output_dir) as http, watch_writes(output_dir, fail_open_number=2):
        for image in images[:4]:
            http.serve(image)
        downloader.main([image.url for image in images[:4]], output_dir)
    saved = files_under(output_dir)
    expect(
        len(saved) == 3,
        f"{len(saved)} fichier(s) enregistré(s) sur 4 alors qu'une seule écriture a échoué "
        "(disque plein simulé).",
        "L'écriture du fichier peut lever OSError (IOError) : l'attrapez-vous dans "
        "download_and_save() pour que les autres images continuent ?",
    )
    expect_error_logged(console, failures=1)


@for_both_parts("errors", weight=0.5)
def test_download_and_save_returns_none_on_failure(downloader: Downloader, output_dir: Path) -> None:
    """download_and_save() renvoie None quand le téléchargement échoue"""
    output_dir.mkdir(parents=True)
    url = "https://images.example.org/photos/404/full.jpg"
    default_console()
    with downloader.mocked() as http:
        http.fail(url, status=404)
        returned = downloader.download_one(url, output_dir).returned
    expect(
        returned is None and not files_under(output_dir),
        f"Pour une réponse 404, download_and_save a renvoyé {returned!r} et écrit "
        f"{len(files_under(output_dir))} fichier(s).",
        "En cas d'échec, la fonction logue l'erreur, n'écrit rien et renvoie None.",
    )


# --- logging -------------------------------------------------------------------------------


def _format(handler: logging.Handler, level: int, created: float) -> str:
    record = logging.LogRecord("correcteur", level, __file__, 1, "message-témoin", None, None)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    return handler.format(record)


@for_both_parts("logging")
def test_setup_logging_shows_time_level_and_message(downloader: Downloader) -> None:
    """setup_logging() affiche l'heure, le niveau et le message"""
    console = console_from(downloader.setup_logging)
    handlers = [h for h in console.handlers if not isinstance(h, logging.FileHandler)]
    expect(
        bool(handlers),
        "Après setup_logging(), aucun gestionnaire n'écrit dans la console.",
        "Une configuration avec logging.basicConfig(...) ou un StreamHandler suffit.",
    )
    now = time.time()
    for handler in handlers:
        sample = _format(handler, logging.INFO, now)
        shows_time = sample != _format(handler, logging.INFO, now + 3661.5)
        shows_level = "INFO" in sample.upper() and "ERROR" in _format(handler, logging.ERROR, now).upper()
        missing = [
            name
            for name, shown in (
                ("l'heure", shows_time),
                ("le niveau", shows_level),
                ("le message", "message-témoin" in sample),
            )
            if not shown
        ]
        expect(
            not missing,
            f"Une ligne de log s'affiche ainsi : « {sample} » ; il y manque {', '.join(missing)}.",
            "Regardez les attributs de LogRecord que l'on peut placer dans le format "
            "(documentation du module logging, « LogRecord attributes »).",
        )


def _lines_about(lines: list[str], url: str, names: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if url in line or any(name in line for name in names)]


@for_both_parts("logging")
def test_console_log_tells_start_each_url_each_success_and_end(
    downloader: Downloader, output_dir: Path
) -> None:
    """Le log affiche le début, chaque URL, chaque succès et la fin"""
    console = console_from(downloader.setup_logging)
    good = image_set(3)
    with downloader.mocked(output_dir) as http:
        for image in good:
            http.serve(image)
        downloader.main([image.url for image in good], output_dir)
    lines = console.lines
    expect(
        bool(lines),
        "Rien ne s'affiche dans la console pendant main().",
        "Utilisez-vous logging (et non print) avec le niveau configuré par setup_logging() ?",
    )
    about = {
        image.url: _lines_about(lines, image.url, downloader.saved_names(image, output_dir)) for image in good
    }
    silent = [url for url, found in about.items() if len(found) < 2]
    expect(
        not silent,
        f"{len(silent)} image(s) réussie(s) sans deux lignes la nommant (URL en cours, puis "
        f"succès), par exemple {silent[:1]}.",
        "Loguez l'URL avant le téléchargement, puis le succès en nommant l'image ou le fichier : "
        "dans la partie 2, les lignes des tâches s'entremêlent.",
    )
    first, last = min(min(found) for found in about.values()), max(max(found) for found in about.values())
    expect(
        first > 0 and last < len(lines) - 1,
        f"{len(lines)} lignes affichées ; ligne de début : {'oui' if first > 0 else 'non'}, "
        f"ligne de fin : {'oui' if last < len(lines) - 1 else 'non'}.",
        "Annoncez le début du lot avant la première URL et la fin après la dernière.",
    )


@for_both_parts("logging", weight=0.5)
def test_console_log_shows_each_error(downloader: Downloader, output_dir: Path, notes: list[str]) -> None:
    """Le log affiche chaque erreur"""
    good, bad_url = image_set(2), "https://cdn.example.net/gallery/missing/cat.png"
    failures: list[tuple[str, Callable[[Any], None]]] = [
        ("connexion refusée", lambda http: http.fail(bad_url, error=downloader.connection_error())),
        ("réponse 404", lambda http: http.fail(bad_url, status=404)),
    ]
    for situation, fail in failures:
        console = console_from(downloader.setup_logging)
        folder = output_dir.with_name(f"{output_dir.name}-{situation.split()[0]}")
        with downloader.mocked(folder) as http:
            for image in good:
                http.serve(image)
            fail(http)
            try:
                downloader.main([good[0].url, bad_url, good[1].url], folder)
            except StudentCrash:
                continue  # an unhandled error is the errors criterion's business
        shown = "\n".join(console.lines)
        warnings = [r.message for r in console.collector.at_least(logging.WARNING)]
        expect(
            any(message in shown for message in warnings),
            f"Aucune ligne affichée pour l'échec de {bad_url} ({situation}).",
            "L'erreur est-elle loguée (logger.error), et ce niveau est-il affiché par la console ?",
        )
        return
    notes.append(
        "affichage des erreurs non vérifié : main() s'arrête à chaque erreur (voir le critère errors)."
    )


# --- timing --------------------------------------------------------------------------------


def _timed_run(downloader: Downloader, output_dir: Path, latency: float) -> tuple[Any, float]:
    images = image_set(4)
    with downloader.mocked(output_dir) as http:
        for image in images:
            http.serve(image, latency=latency)
        start = time.perf_counter()
        returned = downloader.main([image.url for image in images], output_dir)
        wall = time.perf_counter() - start
    return returned, wall


@for_both_parts("timing")
def test_main_returns_the_total_duration_in_seconds(downloader: Downloader, output_dir: Path) -> None:
    """main() renvoie la durée totale, en secondes"""
    default_console()
    latency = 0.05
    returned, wall = _timed_run(downloader, output_dir, latency)
    is_number = isinstance(returned, int | float) and not isinstance(returned, bool)
    expect(
        is_number and latency * 0.9 <= returned <= wall + 0.05,
        f"main() a renvoyé {returned!r} ; le lot a pris {wall:.2f} s.",
        "Prenez l'heure avec le module time (time.perf_counter()) avant et après les "
        "téléchargements, et renvoyez la différence, en secondes.",
    )


@for_both_parts("timing")
def test_total_duration_is_displayed_at_the_end(downloader: Downloader, output_dir: Path) -> None:
    """La durée totale est affichée à la fin"""
    try:
        console = console_from(downloader.setup_logging)
    except NotDone:
        console = default_console()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        returned, wall = _timed_run(downloader, output_dir, latency=0.03)
    reference = returned if isinstance(returned, int | float) and returned > 0 else wall
    tail = console.lines[-3:]
    shown = "\n".join(tail) + "\n" + printed.getvalue()
    expect(
        shows_duration(shown, reference),
        f"Durée mesurée ≈ {reference:.2f} s ; fin de l'affichage : « {' / '.join(tail)} ».",
        "Affichez la durée totale une fois tous les téléchargements terminés (log ou print).",
    )
