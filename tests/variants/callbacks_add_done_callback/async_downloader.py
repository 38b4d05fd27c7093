"""Partie 2, variante à rappels : chaque tâche signale sa fin par add_done_callback.

Variante acceptée du catalogue du kit (tests/variants/) : elle doit obtenir 20/20.
"""

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiofiles
import aiofiles.os
import aiohttp

IMAGE_URLS: list[str] = [
    "https://picsum.photos/id/10/640/480",
    "https://picsum.photos/id/20/640/480",
    "https://picsum.photos/id/30/640/480",
    "https://picsum.photos/id/40/640/480",
    "https://picsum.photos/id/50/640/480",
    "https://picsum.photos/id/60/640/480",
    "https://httpbin.org/image/png",
    "https://httpbin.org/image/jpeg",
    "https://httpbin.org/image/webp",
    "https://www.python.org/static/img/python-logo.png",
    "https://www.python.org/static/community_logos/python-powered-w-200x80.png",
    "https://www.python.org/static/favicon.ico",
]
OUTPUT_DIR = Path("images") / "async"

# Délai maximal par requête ; à son expiration aiohttp lève TimeoutError, pas ClientError.
TIMEOUT = aiohttp.ClientTimeout(total=30)

logger = logging.getLogger(__name__)


def filename_from_url(url: str) -> str:
    """Renvoie un nom de fichier sûr et propre à cette URL (fourni, ne pas modifier).

    Le nom garde la fin du chemin de l'URL, lisible, suivie d'une empreinte de l'URL
    entière : deux URL qui finissent pareil (ou ne diffèrent que par la query string)
    donnent deux noms différents. Les caractères autres que lettres, chiffres, « _ »
    et « - » sont remplacés : le fichier reste toujours dans le dossier de sortie.
    L'extension de l'image est conservée quand l'URL en a une.
    """
    last_segment = unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2])
    stem, dot, extension = last_segment.rpartition(".")
    if not dot:
        stem, extension = last_segment, ""
    safe_stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60] or "image"
    suffix = f".{extension.lower()}" if re.fullmatch(r"[A-Za-z0-9]{1,5}", extension) else ""
    digest = hashlib.sha256(url.encode()).hexdigest()[:10]
    return f"{safe_stem}-{digest}{suffix}"


def setup_logging() -> None:
    """Configure l'affichage des logs dans la console : heure, niveau et message."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s.%(msecs)03d [%(levelname)s] %(message)s",
        datefmt="%H:%M:%S",
    )


async def download_and_save(session: aiohttp.ClientSession, url: str, output_dir: Path) -> Path | None:
    """Télécharge une image et l'écrit avec aiofiles ; None (erreur loguée) en cas d'échec."""
    destination = output_dir / filename_from_url(url)
    logger.info("Téléchargement de %s", url)
    try:
        async with session.get(url) as response:
            response.raise_for_status()
            content = await response.read()
    except (aiohttp.ClientError, TimeoutError) as error:
        logger.error("Échec de %s : %r", url, error)
        return None
    try:
        async with aiofiles.open(destination, "wb") as file:
            await file.write(content)
    except OSError as error:
        with suppress(OSError):
            await aiofiles.os.remove(destination)
        logger.error("Écriture impossible pour %s : %s", url, error)
        return None
    return destination


def _on_done(url: str, results: dict[str, Path | None]) -> Callable[[asyncio.Task[Path | None]], None]:
    """Le rappel d'une tâche : note son résultat et logue le succès."""

    def callback(task: asyncio.Task[Path | None]) -> None:
        path = None if task.cancelled() or task.exception() is not None else task.result()
        results[url] = path
        if path is not None:
            logger.info("Terminé : %s -> %s", url, path.name)

    return callback


async def main(urls: Sequence[str] = IMAGE_URLS, output_dir: Path = OUTPUT_DIR) -> float:
    """Lance une tâche par URL, chacune avec son rappel, puis attend qu'elles aient toutes fini."""
    logger.info("Début du lot de %d images", len(urls))
    start = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Path | None] = {}
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        tasks = []
        for url in urls:
            task = asyncio.create_task(download_and_save(session, url, output_dir))
            task.add_done_callback(_on_done(url, results))
            tasks.append(task)
        if tasks:
            await asyncio.wait(tasks)
    elapsed = time.perf_counter() - start
    successes = sum(path is not None for path in results.values())
    logger.info("Fin : %d/%d images en %.2f s", successes, len(urls), elapsed)
    return elapsed


if __name__ == "__main__":
    setup_logging()
    asyncio.run(main())
