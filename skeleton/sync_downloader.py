"""Partie 1 : téléchargement séquentiel d'une liste d'images avec requests.

Complétez les fonctions marquées TODO, puis lancez « poetry run -- nox -s grade » pour
obtenir votre note et des indices (dans PyCharm : configuration « Correction (skeleton) »).
Pour exécuter ce script seul : « poetry run python skeleton/sync_downloader.py »,
ou la configuration « Partie 1 : sync_downloader » de PyCharm (bouton Run). Il télécharge
alors les vraies images de IMAGE_URLS, sur Internet.
"""

import hashlib
import logging
import re
import time
from collections.abc import Sequence
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
    # TODO 1 : configurez le module logging (par exemple avec logging.basicConfig)
    # pour afficher les messages de niveau INFO et plus dans la console,
    # avec un format qui montre l'heure, le niveau et le message.
    raise NotImplementedError("TODO 1 : setup_logging")


def download_and_save(session: requests.Session, url: str, output_dir: Path) -> Path | None:
    """Télécharge une image avec la session donnée et l'enregistre dans ``output_dir``.

    Renvoie le chemin du fichier écrit, ou ``None`` (après avoir logué l'erreur)
    si le téléchargement ou l'écriture a échoué.
    """
    # TODO 2 : écrivez download_and_save.
    #  - Choisissez le fichier de destination avec filename_from_url(url).
    #  - Loguez l'URL en cours, puis faites la requête avec la session reçue en
    #    paramètre (jamais requests.get directement).
    #  - Un code HTTP d'erreur (404, 500…) est un échec : une page d'erreur n'est pas une image.
    #  - Écrivez le contenu binaire de la réponse dans le fichier, loguez le succès.
    #  - Avec try/except, attrapez les erreurs réseau (requests.exceptions.RequestException)
    #    et d'écriture (OSError, alias IOError) : loguez-les au niveau ERROR et renvoyez None,
    #    sans laisser de fichier incomplet.
    #  - Attention à l'ordre : RequestException (délai dépassé compris, requests.Timeout en
    #    fait partie) hérite d'OSError. Placez son « except » avant celui d'OSError, sinon
    #    toute erreur réseau serait loguée comme une erreur d'écriture.
    raise NotImplementedError("TODO 2 : download_and_save")


def main(urls: Sequence[str] = IMAGE_URLS, output_dir: Path = OUTPUT_DIR) -> float:
    """Télécharge les images l'une après l'autre et renvoie la durée totale en secondes."""
    # TODO 3 : écrivez main.
    #  - Loguez le début, démarrez le chronomètre (module time, ex. time.perf_counter()).
    #  - Créez output_dir avec pathlib, dossiers parents compris, sans erreur s'il existe déjà.
    #  - Ouvrez une seule requests.Session pour tous les téléchargements et appelez
    #    download_and_save pour chaque URL, l'une après l'autre.
    #  - Arrêtez le chronomètre, affichez la durée totale à la fin et renvoyez-la (en secondes).
    raise NotImplementedError("TODO 3 : main")


if __name__ == "__main__":
    setup_logging()
    main()
