"""Partie 2 : téléchargement concurrent de la même liste d'images avec asyncio et aiohttp.

Corrigé : « poetry run -- nox -s grade -- solution » lui donne 20/20. Pour exécuter
ce script seul : « poetry run python solution/async_downloader.py » (il télécharge les
vraies images de IMAGE_URLS, sur Internet).
"""

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Sequence
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
    """Télécharge une image avec la session donnée et l'enregistre dans ``output_dir``.

    Renvoie le chemin du fichier écrit, ou ``None`` (après avoir logué l'erreur)
    si le téléchargement ou l'écriture a échoué.
    """
    destination = output_dir / filename_from_url(url)
    logger.info("Téléchargement de %s", url)
    try:
        async with session.get(url) as response:
            response.raise_for_status()
            content = await response.read()
        # aiofiles écrit dans un thread : la boucle d'événements reste libre.
        async with aiofiles.open(destination, "wb") as file:
            await file.write(content)
    except (aiohttp.ClientError, TimeoutError) as error:
        logger.error("Échec du téléchargement de %s : %r", url, error)
        return None
    except OSError as error:
        with suppress(OSError):
            await aiofiles.os.remove(destination)
        logger.error("Impossible d'enregistrer %s dans %s : %s", url, destination, error)
        return None
    logger.info("Image enregistrée : %s (%d octets)", destination, len(content))
    return destination


async def main(urls: Sequence[str] = IMAGE_URLS, output_dir: Path = OUTPUT_DIR) -> float:
    """Télécharge toutes les images en même temps et renvoie la durée totale en secondes."""
    logger.info("Début du téléchargement concurrent de %d images", len(urls))
    start = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    # trust_env=True : aiohttp lit HTTP(S)_PROXY comme requests (utile derrière un proxy).
    async with aiohttp.ClientSession(timeout=TIMEOUT, trust_env=True) as session:
        tasks = [download_and_save(session, url, output_dir) for url in urls]
        # gather lance toutes les tâches ensemble et attend qu'elles soient toutes finies.
        saved = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    successes = sum(path is not None for path in saved)
    logger.info("Fin : %d/%d images téléchargées en %.2f s", successes, len(urls), elapsed)
    return elapsed


if __name__ == "__main__":
    setup_logging()
    asyncio.run(main())
