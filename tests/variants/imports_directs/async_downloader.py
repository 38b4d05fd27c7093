"""Partie 2, variante : imports directs (from aiohttp import ClientSession, from aiofiles import open)."""

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from urllib.parse import unquote, urlsplit

from aiofiles import open as aopen
from aiofiles.os import remove
from aiohttp import ClientError, ClientSession, ClientTimeout

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

log = logging.getLogger(__name__)


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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


async def download_and_save(session: ClientSession, url: str, output_dir: Path) -> Path | None:
    """Télécharge une image avec la session donnée et l'enregistre dans ``output_dir``."""
    target = output_dir / filename_from_url(url)
    log.info(f"GET {url}")
    try:
        async with session.get(url) as reply:
            reply.raise_for_status()
            data = await reply.read()
    except (TimeoutError, ClientError) as exc:
        log.error(f"{url} : échec du téléchargement ({exc!r})")
        return None
    try:
        async with aopen(target, "wb") as handle:
            await handle.write(data)
    except OSError as exc:
        with suppress(OSError):
            await remove(target)
        log.error(f"{url} : écriture impossible dans {target} ({exc})")
        return None
    log.info(f"{url} -> {target.name}")
    return target


async def main(urls: Sequence[str] = IMAGE_URLS, output_dir: Path = OUTPUT_DIR) -> float:
    """Télécharge toutes les images en même temps et renvoie la durée totale en secondes."""
    log.info(f"Début : {len(urls)} images à télécharger")
    t0 = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    async with ClientSession(timeout=ClientTimeout(total=30)) as session:
        results = await asyncio.gather(*(download_and_save(session, url, output_dir) for url in urls))
    duration = time.perf_counter() - t0
    log.info(f"Terminé : {sum(r is not None for r in results)} images en {duration:.3f} secondes")
    return duration


if __name__ == "__main__":
    setup_logging()
    asyncio.run(main())
