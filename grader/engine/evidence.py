"""What the supervisor saw the student's code do, by itself, and what that lets a claim earn.

The worker shares its process with the student's code, so everything it reports is a
claim: a student who reads the grader can forge any of it. The image servers run in the
supervisor, their bodies are random for each grade and never sent to the worker, the
files are read from disk once the worker is dead, and the console is read here. These
are observed facts (:class:`ServerStats`, the disk, the console).

A check that judges claims earns its points only when observed facts show that the same
kind of work was done (:data:`CORROBORATION`, one fact per criterion): a forged report
then adds nothing to code that does not do the work. Checks that judge observed facts
alone carry the ``observed_outside`` mark and need no corroboration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.engine.plans import Scenario

if TYPE_CHECKING:
    from grader.engine.runs import PartRun


@dataclass(frozen=True)
class ServerStats:
    """What one loopback image server saw during its scenario: observed, never reported."""

    requests: int = 0
    max_in_flight: int = 0
    connections: int = 0  # distinct TCP connections the requests came on
    ports: int = 0
    expected: tuple[bytes, ...] = ()  # the image bodies it served, random for this grade
    requested: frozenset[int] = frozenset()  # indexes in ``expected`` of the images asked for

    @property
    def connection_budget(self) -> int:
        """The most TCP connections one session needs here: one per server, times the requests
        in flight at once (a thread pool sharing its session opens one per thread)."""
        return self.ports * max(1, self.max_in_flight)

    def saved(self, files: dict[str, bytes]) -> int:
        """How many of its images are on disk, byte for byte."""
        written = set(files.values())
        return sum(1 for body in self.expected if body in written)


LOOPBACK_SCENARIOS = (Scenario.SERVER, Scenario.SCRIPT, Scenario.SERVER_ERRORS)


def _stats(run: PartRun, name: Scenario) -> tuple[ServerStats, dict[str, bytes]]:
    scenario = run.scenarios.get(str(name))
    return run.servers.get(str(name)) or ServerStats(), scenario.files if scenario else {}


def requests_seen(run: PartRun) -> bool:
    """A loopback server received requests for its URLs from this part's code."""
    return any(_stats(run, name)[0].requests > 0 for name in LOOPBACK_SCENARIOS)


def images_saved(run: PartRun) -> bool:
    """A loopback server's random bytes are on disk: this part's code downloaded and saved."""
    return any(stats.saved(files) > 0 for stats, files in (_stats(run, n) for n in LOOPBACK_SCENARIOS))


def files_written(run: PartRun) -> bool:
    """A file appeared in a loopback scenario's folder: this part's code writes files."""
    return any(files for _, files in (_stats(run, name) for name in LOOPBACK_SCENARIOS))


def went_past_failures(run: PartRun) -> bool:
    """In the failing batch, an image listed after the failures was asked for: errors were survived."""
    stats, _ = _stats(run, Scenario.SERVER_ERRORS)
    return any(index >= ERRORS_BEFORE_FAILURES for index in stats.requested)


def connections_reused(run: PartRun) -> bool:
    """Part 1: the server saw its requests come on at most one connection per port and request
    in flight (a session: one connection per server, or per thread that shares it), and at
    least one connection carry more than one request. Without that reuse, clients that send
    every request at once (one connection each) would look like a shared session.

    Part 2 opens a connection per request in flight even with one session: there, requests.
    """
    if run.part != "sync":
        return requests_seen(run)
    stats, _ = _stats(run, Scenario.SERVER)
    return 0 < stats.connections < stats.requests and stats.connections <= stats.connection_budget


def downloads_overlapped(run: PartRun) -> bool:
    """A loopback server had two requests or more in flight at once."""
    return any(_stats(run, name)[0].max_in_flight >= 2 for name in LOOPBACK_SCENARIOS)


# Images of the failing batch served before its failing URLs (the others come after them).
ERRORS_BEFORE_FAILURES = 2

# For each criterion (its name within the part), the observed fact its claims need.
CORROBORATION: dict[str, Callable[[PartRun], bool]] = {
    "download": images_saved,
    "session": connections_reused,
    "directory": requests_seen,
    "errors": went_past_failures,
    "logging": requests_seen,
    "timing": requests_seen,
    "files": files_written,
    "concurrency": downloads_overlapped,
}

UNCORROBORATED: dict[str, str] = {
    "download": "aucune des images du serveur local de la correction n'a été enregistrée par votre code",
    "errors": (
        "sur le serveur local de la correction, aucune image placée après les URL en échec n'a été "
        "demandée : le lot s'arrête à la première erreur"
    ),
    "session": "le serveur local de la correction a reçu chaque requête sur une nouvelle connexion",
    "files": "aucun fichier écrit par votre code dans les lancements sur le serveur local de la correction",
    "concurrency": "le serveur local de la correction n'a jamais eu deux requêtes en cours à la fois",
}
NO_REQUEST = (
    "le serveur local de la correction n'a reçu aucune requête de votre code (ni de main(), ni du script)"
)


def corroborated(run: PartRun, criterion: str) -> str:
    """'' when the criterion's claims may count; else what was observed instead (French)."""
    name = criterion.split(".", 1)[-1]
    if CORROBORATION.get(name, requests_seen)(run):
        return ""
    if not requests_seen(run):
        return NO_REQUEST
    return UNCORROBORATED.get(name, NO_REQUEST)
