"""The grading scale: one entry per criterion, with its stable id, French title and points."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    points: float

    @property
    def part(self) -> str:
        return self.id.split(".", 1)[0]


CRITERIA: tuple[Criterion, ...] = (
    Criterion("sync.download", "Téléchargement et sauvegarde des images", 2.0),
    Criterion("sync.session", "Une seule requests.Session pour toutes les requêtes", 1.5),
    Criterion("sync.directory", "Création du dossier de sortie (pathlib)", 1.0),
    Criterion("sync.errors", "Gestion des erreurs réseau, HTTP et disque", 2.0),
    Criterion("sync.logging", "Logging : format et messages utiles", 1.5),
    Criterion("sync.timing", "Mesure et affichage de la durée totale", 1.0),
    Criterion("async.download", "Téléchargement et sauvegarde des images", 2.0),
    Criterion("async.session", "Une seule aiohttp.ClientSession pour toutes les requêtes", 1.0),
    Criterion("async.directory", "Création du dossier de sortie (pathlib)", 0.5),
    Criterion("async.errors", "Gestion des erreurs aiohttp, HTTP et disque", 2.0),
    Criterion("async.logging", "Logging : format et messages utiles", 1.0),
    Criterion("async.timing", "Mesure et affichage de la durée totale", 1.0),
    Criterion("async.files", "Écriture des fichiers avec aiofiles", 1.5),
    Criterion("async.concurrency", "Téléchargements concurrents (gather, boucle non bloquée)", 2.0),
)

BY_ID: dict[str, Criterion] = {criterion.id: criterion for criterion in CRITERIA}

PART_TITLES: dict[str, str] = {
    "sync": "Partie 1 : sync_downloader.py (requests)",
    "async": "Partie 2 : async_downloader.py (asyncio, aiohttp, aiofiles)",
}


TOTAL_POINTS = 20.0
assert sum(c.points for c in CRITERIA) == TOTAL_POINTS
