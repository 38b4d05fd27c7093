"""Partie 1, variante concurrent.futures : un pool de threads partage une session requests.

Variante acceptée du catalogue du kit (tests/variants/) : elle doit obtenir 20/20.
"""

import hashlib
import logging
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
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
WORKERS = 4

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


def download_and_save(session: requests.Session, url: str, output_dir: Path) -> Path | None:
    """Télécharge une image avec la session donnée et l'enregistre dans ``output_dir``.

    Renvoie le chemin du fichier écrit, ou ``None`` (après avoir logué l'erreur)
    si le téléchargement ou l'écriture a échoué.
    """
    destination = output_dir / filename_from_url(url)
    logger.info("Téléchargement de %s", url)
    try:
        response = session.get(url, timeout=TIMEOUT_SECONDS)
        # Une réponse 404 ou 500 contient une page d'erreur, pas une image.
        response.raise_for_status()
        destination.write_bytes(response.content)
    except requests.RequestException as error:
        logger.error("Échec du téléchargement de %s : %s", url, error)
        return None
    except OSError as error:
        # Disque plein, droits… : on ne laisse pas un fichier à moitié écrit.
        with suppress(OSError):
            destination.unlink(missing_ok=True)
        logger.error("Impossible d'enregistrer %s dans %s : %s", url, destination, error)
        return None
    logger.info("Image enregistrée : %s (%d octets)", destination, len(response.content))
    return destination


def main(urls: Sequence[str] = IMAGE_URLS, output_dir: Path = OUTPUT_DIR) -> float:
    """Télécharge les images avec un pool de threads et renvoie la durée totale en secondes."""
    logger.info("Début du téléchargement de %d images (pool de %d threads)", len(urls), WORKERS)
    start = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    # Une session partagée par les threads : ses connexions sont réutilisées.
    with requests.Session() as session, ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(download_and_save, session, url, output_dir) for url in urls]
        saved = [future.result() for future in as_completed(futures)]
    elapsed = time.perf_counter() - start
    successes = sum(path is not None for path in saved)
    logger.info("Fin : %d/%d images téléchargées en %.2f s", successes, len(urls), elapsed)
    return elapsed


if __name__ == "__main__":
    setup_logging()
    main()
