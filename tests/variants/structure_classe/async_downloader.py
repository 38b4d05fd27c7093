"""Partie 2, variante : une classe qui garde la session et le dossier de sortie."""

from __future__ import annotations

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
    logging.basicConfig(level=logging.INFO, format="{asctime} {levelname:<8} {message}", style="{")


class ImageDownloader:
    """Télécharge des images par une session aiohttp partagée, dans un dossier donné."""

    def __init__(self, session: aiohttp.ClientSession, output_dir: Path) -> None:
        self.session = session
        self.output_dir = output_dir

    async def fetch(self, url: str) -> bytes:
        async with self.session.get(url) as response:
            response.raise_for_status()
            return await response.read()

    async def store(self, content: bytes, destination: Path) -> None:
        try:
            async with aiofiles.open(destination, "wb") as file:
                await file.write(content)
        except OSError:
            with suppress(OSError):
                await aiofiles.os.remove(destination)
            raise

    async def run(self, url: str) -> Path | None:
        destination = self.output_dir / filename_from_url(url)
        logger.info("Téléchargement de %s", url)
        try:
            await self.store(await self.fetch(url), destination)
        except (TimeoutError, aiohttp.ClientError) as error:
            logger.error("Téléchargement impossible de %s : %r", url, error)
            return None
        except OSError as error:
            logger.error("Écriture impossible de %s : %s", destination, error)
            return None
        logger.info("%s enregistrée dans %s", url, destination.name)
        return destination


async def download_and_save(session: aiohttp.ClientSession, url: str, output_dir: Path) -> Path | None:
    """Télécharge une image avec la session donnée et l'enregistre dans ``output_dir``."""
    return await ImageDownloader(session, output_dir).run(url)


async def main(urls: Sequence[str] = IMAGE_URLS, output_dir: Path = OUTPUT_DIR) -> float:
    """Télécharge toutes les images en même temps et renvoie la durée totale en secondes."""
    logger.info("Début du lot (%d images)", len(urls))
    start = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        paths = await asyncio.gather(*[download_and_save(session, url, output_dir) for url in urls])
    seconds = time.perf_counter() - start
    saved = [path for path in paths if path is not None]
    logger.info("Fin du lot : %d/%d images enregistrées en %.2f s", len(saved), len(urls), seconds)
    return seconds


if __name__ == "__main__":
    setup_logging()
    asyncio.run(main())
