"""Partie 1, variante : fonctions d'aide et dataclass pour le bilan du lot."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
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
TIMEOUT_SECONDS = 30

logger = logging.getLogger(__name__)


@dataclass
class Summary:
    """Bilan d'un lot : ce qui a été enregistré, ce qui a échoué, et la durée."""

    saved: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        total = len(self.saved) + len(self.failed)
        return f"{len(self.saved)}/{total} images enregistrées en {self.seconds:.2f} s"


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


def fetch(session: requests.Session, url: str) -> bytes:
    """Le contenu binaire de l'URL ; lève requests.RequestException en cas d'échec."""
    response = session.get(url, timeout=TIMEOUT_SECONDS)
    response.raise_for_status()
    return response.content


def store(content: bytes, destination: Path) -> None:
    """Écrit le fichier ; en cas d'OSError, ne laisse pas de fichier incomplet."""
    try:
        destination.write_bytes(content)
    except OSError:
        destination.unlink(missing_ok=True)
        raise


def download_and_save(session: requests.Session, url: str, output_dir: Path) -> Path | None:
    """Télécharge une image avec la session donnée et l'enregistre dans ``output_dir``."""
    destination = output_dir / filename_from_url(url)
    logger.info("Téléchargement de %s", url)
    try:
        store(fetch(session, url), destination)
    except requests.RequestException as error:
        logger.error("Téléchargement impossible de %s : %s", url, error)
    except OSError as error:
        logger.error("Écriture impossible de %s : %s", destination, error)
    else:
        logger.info("%s enregistrée dans %s", url, destination.name)
        return destination
    return None


def main(urls: Sequence[str] = IMAGE_URLS, output_dir: Path = OUTPUT_DIR) -> float:
    """Télécharge les images l'une après l'autre et renvoie la durée totale en secondes."""
    logger.info("Début du lot (%d images)", len(urls))
    summary = Summary()
    start = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    with requests.Session() as session:
        for url in urls:
            path = download_and_save(session, url, output_dir)
            if path is None:
                summary.failed.append(url)
            else:
                summary.saved.append(path)
    summary.seconds = time.perf_counter() - start
    logger.info("Fin du lot : %s", summary)
    return summary.seconds


if __name__ == "__main__":
    setup_logging()
    main()
