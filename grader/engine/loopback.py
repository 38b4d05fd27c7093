"""The image servers a part's worker downloads from for real, and what they saw.

Each worker attempt gets fresh servers (on sockets it opened in its private network when it
has one). What a server observed becomes a :class:`ServerStats` record: the facts that
corroborate, or not, what the worker claims.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.engine import evidence, plans
from grader.engine.evidence import ServerStats

if TYPE_CHECKING:
    import socket

    from grader.engine.imageserver import ImageServer


@dataclass(frozen=True)
class ServerSpec:
    """An image server the supervisor runs for one scenario of a part."""

    scenario: str
    images: int
    latency: float
    seed: int

    PORTS = 2  # two base URLs: code that reuses one session still opens a connection per host


def _seed() -> int:
    return int.from_bytes(os.urandom(4), "big")


def server_specs(part: str) -> list[ServerSpec]:
    images, latency = plans.server_shape(part)
    return [
        ServerSpec(plans.Scenario.SCRIPT, plans.SCRIPT_IMAGES, plans.SCRIPT_LATENCY[part], _seed()),
        ServerSpec(plans.Scenario.SERVER, images, latency, _seed()),
        ServerSpec(
            plans.Scenario.SERVER_ERRORS,
            plans.SERVER_ERROR_IMAGES,
            plans.SERVER_ERROR_LATENCY[part],
            _seed(),
        ),
    ]


def listeners_needed(specs: list[ServerSpec]) -> int:
    return ServerSpec.PORTS * len(specs)


def scenario_urls(name: str, server: ImageServer) -> tuple[str, ...]:
    """What main() is given for a loopback scenario: in the failing batch, faults in the middle."""
    if name != plans.Scenario.SERVER_ERRORS:
        return tuple(server.urls)
    before = server.urls[: evidence.ERRORS_BEFORE_FAILURES]
    after = server.urls[evidence.ERRORS_BEFORE_FAILURES :]
    faults = [server.fault_url(kind, f"image-{kind}.png") for kind in plans.SERVER_FAULTS]
    return (*before, *faults, *after)


def open_servers(specs: list[ServerSpec], sockets: list[socket.socket]) -> dict[str, ImageServer]:
    """Started servers by scenario name, on ``sockets`` (PORTS per server) or on ports of their own."""
    from grader.engine.imageserver import ImageServer  # aiohttp: imported while the worker starts

    servers: dict[str, ImageServer] = {}
    for index, spec in enumerate(specs):
        given = sockets[ServerSpec.PORTS * index : ServerSpec.PORTS * (index + 1)]
        server = ImageServer(
            images=spec.images, latency=spec.latency, ports=ServerSpec.PORTS, seed=spec.seed, sockets=given
        )
        server.start()
        servers[spec.scenario] = server
    return servers


def stats(server: ImageServer) -> ServerStats:
    return ServerStats(
        requests=server.requests_served,
        max_in_flight=server.max_in_flight,
        connections=server.connections,
        ports=len(server.base_urls),
        expected=tuple(server.expected_bytes(url) for url in server.urls),
        requested=server.requested,
    )
