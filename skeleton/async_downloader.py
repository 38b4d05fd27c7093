"""Partie 2 : téléchargement concurrent de la même liste d'images avec asyncio et aiohttp.

Complétez les fonctions marquées TODO, puis lancez « poetry run -- nox -s grade » pour
obtenir votre note et des indices (dans PyCharm : configuration « Correction (skeleton) »).
Pour exécuter ce script seul : « poetry run python skeleton/async_downloader.py »,
ou la configuration « Partie 2 : async_downloader » de PyCharm (bouton Run). Il télécharge
alors les vraies images de IMAGE_URLS, sur Internet.
"""

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiofiles
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
    # TODO 4 : reprenez la configuration du logging de la partie 1
    # (heure, niveau et message ; niveau INFO et plus).
    raise NotImplementedError("TODO 4 : setup_logging")


async def download_and_save(session: aiohttp.ClientSession, url: str, output_dir: Path) -> Path | None:
    """Télécharge une image avec la session donnée et l'enregistre dans ``output_dir``.

    Renvoie le chemin du fichier écrit, ou ``None`` (après avoir logué l'erreur)
    si le téléchargement ou l'écriture a échoué.
    """
    # TODO 5 : écrivez la coroutine download_and_save.
    #  - Faites la requête avec session.get(url) (dans un « async with ») et lisez
    #    le contenu binaire avec await response.read().
    #  - Un code HTTP d'erreur (404, 500…) est un échec, comme dans la partie 1.
    #  - Écrivez le fichier avec aiofiles.open() : un open() classique bloquerait
    #    la boucle d'événements.
    #  - Attrapez les erreurs d'aiohttp (aiohttp.ClientError) et d'écriture (OSError) :
    #    loguez-les au niveau ERROR et renvoyez None. Pensez aussi au délai dépassé
    #    (asyncio lève alors TimeoutError, qui n'est pas une ClientError).
    #  - Attention : TimeoutError hérite d'OSError. Si vous ne l'attrapez pas avec les
    #    erreurs d'aiohttp, votre « except OSError » l'attrapera et loguera un délai dépassé
    #    comme une erreur d'écriture : mettez TimeoutError avec aiohttp.ClientError, avant
    #    le « except OSError ».
    raise NotImplementedError("TODO 5 : download_and_save")


async def main(urls: Sequence[str] = IMAGE_URLS, output_dir: Path = OUTPUT_DIR) -> float:
    """Télécharge toutes les images en même temps et renvoie la durée totale en secondes."""
    # TODO 6 : écrivez la coroutine main.
    #  - Loguez le début, démarrez le chronomètre, créez output_dir (pathlib).
    #  - Ouvrez une seule aiohttp.ClientSession (« async with ») pour tous les téléchargements.
    #  - Préparez une tâche download_and_save par URL et lancez-les toutes ensemble
    #    avec asyncio.gather(), qui attend qu'elles soient toutes terminées.
    #  - Affichez la durée totale à la fin et renvoyez-la (en secondes).
    raise NotImplementedError("TODO 6 : main")


if __name__ == "__main__":
    setup_logging()
    asyncio.run(main())
