"""Partie 1, variante « tutoriel » : une classe ImageDownloader qui garde sa session.

Variante acceptée du catalogue du kit (tests/variants/) : elle doit obtenir 20/20.
"""

import hashlib
import logging
import re
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests

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
OUTPUT_DIR = Path("images") / "sync"

# requests n'a aucun délai par défaut : sans timeout, un serveur muet bloquerait le script.
TIMEOUT_SECONDS = 30

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
    """Affiche les logs dans la console : heure, niveau, message."""
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)-8s %(message)s")


class ImageDownloader:
    """Télécharge des images avec une session requests partagée (style des tutoriels)."""

    def __init__(self, session: requests.Session, output_dir: Path) -> None:
        self.session = session
        self.output_dir = output_dir

    def fetch(self, url: str) -> bytes:
        response = self.session.get(url, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        return response.content

    def save(self, url: str, content: bytes) -> Path:
        path = self.output_dir / filename_from_url(url)
        with open(path, "wb") as handle:
            handle.write(content)
        return path

    def download(self, url: str) -> Path | None:
        logger.info("GET %s", url)
        try:
            content = self.fetch(url)
        except requests.exceptions.RequestException as exc:
            logger.error("GET %s a échoué : %s", url, exc)
            return None
        try:
            path = self.save(url, content)
        except OSError as exc:
            logger.error("Écriture impossible pour %s : %s", url, exc)
            with suppress(OSError):
                (self.output_dir / filename_from_url(url)).unlink(missing_ok=True)
            return None
        logger.info("OK %s -> %s", url, path.name)
        return path


def download_and_save(session: requests.Session, url: str, output_dir: Path) -> Path | None:
    """Télécharge une image et l'enregistre ; None (erreur loguée) en cas d'échec."""
    return ImageDownloader(session, output_dir).download(url)


def main(urls: Sequence[str] = IMAGE_URLS, output_dir: Path = OUTPUT_DIR) -> float:
    """Télécharge les images une à une ; renvoie la durée totale en secondes."""
    tic = time.perf_counter()
    logger.info("Début : %d URL", len(urls))
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    ok = 0
    with requests.Session() as session:
        for url in urls:
            if download_and_save(session, url, Path(output_dir)) is not None:
                ok += 1
    toc = time.perf_counter()
    duration = toc - tic
    logger.info("Terminé : %d/%d en %.3f secondes", ok, len(urls), duration)
    return duration


if __name__ == "__main__":
    setup_logging()
    main()
