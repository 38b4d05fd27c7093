"""Local image server: N distinct PNG images, simulated latency, several ports and faults.

The supervisor serves each grade's images with :class:`ImageServer`; the demo and the bench
use it too, and ``python -m grader.tools.imageserver`` runs it by hand (see ``--help``).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import html
import random
import socket
import struct
import threading
import zlib
from collections.abc import Coroutine, Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from aiohttp import web

from grader.engine.plans import PNG_SIGNATURE

HOST = "127.0.0.1"
IMAGE_SIZE = 32
FAULT_KINDS = ("404", "500", "drop", "stall")
# Read by the bench when the server runs in another process; not counted as a request.
STATS_PATH = "/__stats__"
DEFAULT_STALL_SECONDS = 30.0
# Bounded so that stop() stays fast even if a handler ignores cancellation.
_SHUTDOWN_TIMEOUT = 0.1
_START_TIMEOUT = 10.0

# Realistic URL shapes: several images share their last segment ("full.png", "photo.png",
# "images"), some differ only by their query string, one is percent-encoded (accents, space).
_URL_TEMPLATES: tuple[str, ...] = (
    "/photos/{i}/full.png",
    "/img/{i}.png?size=large",
    "/api/v1/images?id={i}&format=png",
    "/static/thumbs/{i:04d}/photo.png?w=32&h=32",
    "/galerie/{i}/vacances%20%C3%A9t%C3%A9.png",
)


class _Key(NamedTuple):
    """What identifies an image whatever the client's URL encoding: port, path, query."""

    port: int
    path: str
    query: tuple[tuple[str, str], ...]


def _key_from_url(url: str) -> _Key:
    parts = urlsplit(url)
    return _Key(parts.port or 80, unquote(parts.path), tuple(sorted(parse_qsl(parts.query))))


# ---------------------------------------------------------------------------------------------
# PNG generation (by hand: zlib + struct, no Pillow)
# ---------------------------------------------------------------------------------------------


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, tag, data, then the CRC of tag + data."""
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def encode_png(width: int, height: int, rgb_rows: Sequence[bytes]) -> bytes:
    """Encodes 8-bit RGB rows (without filter byte) as a complete PNG file."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB, no interlace
    # Each scanline starts with its filter type; 0 = no filter, the simplest valid choice.
    raw = b"".join(b"\x00" + row for row in rgb_rows)
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw, 9))
        + _png_chunk(b"IEND", b"")
    )


def _is_foreground(pattern: int, x: int, y: int, period: int) -> bool:
    """Stripes or checkerboard, so that images also look different, not only hash differently."""
    if pattern == 0:
        return (y // period) % 2 == 0
    if pattern == 1:
        return (x // period) % 2 == 0
    if pattern == 2:
        return ((x + y) // period) % 2 == 0
    return (x // period + y // period) % 2 == 0


@functools.cache
def make_png(index: int, seed: int = 0, size: int = IMAGE_SIZE) -> bytes:
    """The PNG image number ``index``: colour and pattern derived from (seed, index)."""
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    foreground = digest[0:3]
    background = bytes(255 - channel for channel in foreground)  # always contrasted
    pattern, period = digest[3] % 4, 2 + digest[4] % 7
    rows = [
        bytearray().join(
            foreground if _is_foreground(pattern, x, y, period) else background for x in range(size)
        )
        for y in range(size)
    ]
    # The first pixel encodes the index itself: bytes are distinct even if two digests collide.
    rows[0][0:3] = (index % (1 << 24)).to_bytes(3, "big")
    return encode_png(size, size, [bytes(row) for row in rows])


def _error_page(status: int, title: str, detail: str) -> web.Response:
    body = (
        f'<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        f"<title>{status} {title}</title></head>\n"
        f"<body><h1>{status} : {title}</h1><p>{detail}</p></body></html>\n"
    )
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")


def _abort_connection(request: web.Request) -> None:
    """Closes the TCP connection at once: the client gets no (or no complete) response."""
    if request.transport is not None:
        request.transport.abort()


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


class ImageServer:
    """Serves ``images`` distinct PNG images on 127.0.0.1 from a background thread.

    Every request waits ``latency`` seconds (± ``jitter``, uniformly) without blocking the
    event loop, so concurrent clients overlap their waits like on a real network. The image
    URLs are spread round-robin over ``ports`` listening ports (several "hosts"). Paths under
    ``/fault/<kind>/`` simulate failures, see :meth:`fault_url`.
    """

    def __init__(
        self,
        *,
        images: int = 20,
        latency: float = 0.2,
        jitter: float = 0.0,
        ports: int = 1,
        seed: int = 0,
        port_base: int = 0,
        stall_seconds: float = DEFAULT_STALL_SECONDS,
        sockets: Sequence[socket.socket] = (),
    ) -> None:
        if images < 0 or ports < 1 or latency < 0 or jitter < 0:
            raise ValueError("images ≥ 0, ports ≥ 1, latency ≥ 0 et jitter ≥ 0 sont attendus")
        self._images = images
        self._latency = latency
        self._jitter = jitter
        # Listening sockets made elsewhere (in a worker's network namespace): served as they are.
        self._given_sockets = list(sockets)
        self._port_count = len(self._given_sockets) or ports
        self._seed = seed
        self._port_base = port_base
        self._stall_seconds = stall_seconds
        self._random = random.Random(seed)  # only used from the server thread
        # Counters are written by the server thread and read by the test thread.
        self._stats_lock = threading.Lock()
        self._in_flight = 0
        self._max_in_flight = 0
        self._requests = 0
        self._connections: set[tuple[object, ...]] = set()  # the clients' (address, port) pairs
        self._requested: set[int] = set()  # indexes of the images asked for
        # start()/stop() may be called from several threads (fixtures, signal handlers).
        self._lifecycle_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._handler_tasks: set[asyncio.Task[object]] = set()
        self._ports: list[int] = []
        self._urls: list[str] = []
        self._index_by_key: dict[_Key, int] = {}

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Binds the ports and serves from a daemon thread; returns once listening."""
        with self._lifecycle_lock:
            if self._loop is not None:
                return
            sockets = self._bind_sockets()
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=self._run_loop, args=(loop,), name="ImageServer", daemon=True)
            thread.start()
            try:
                self._call(loop, self._open(sockets))
            except BaseException:
                for sock in sockets:
                    sock.close()
                self._shutdown_loop(loop, thread)
                raise
            self._loop, self._thread = loop, thread
            self._ports = [sock.getsockname()[1] for sock in sockets]
            self._build_urls()

    def stop(self) -> None:
        """Stops serving: cancels pending handlers (stalls included) and joins the thread."""
        with self._lifecycle_lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None:
                return
            self._loop = self._thread = None
            try:
                self._call(loop, self._close())
            finally:
                self._shutdown_loop(loop, thread)

    def __enter__(self) -> ImageServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _bind_sockets(self) -> list[socket.socket]:
        if self._given_sockets:
            return list(self._given_sockets)
        sockets: list[socket.socket] = []
        try:
            for offset in range(self._port_count):
                port = self._port_base + offset if self._port_base else 0
                sockets.append(socket.create_server((HOST, port)))
        except OSError:
            for sock in sockets:
                sock.close()
            raise
        return sockets

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    @staticmethod
    def _call(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]) -> None:
        """Runs a coroutine on the server loop from the caller's thread and waits for it."""
        asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=_START_TIMEOUT)

    @staticmethod
    def _shutdown_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    async def _open(self, sockets: list[socket.socket]) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        # handler_cancellation: a client that gives up (timeout) frees its handler, so
        # in_flight drops at once instead of after a 30 s stall.
        runner = web.AppRunner(
            app,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        self._runner = runner
        for sock in sockets:
            await web.SockSite(runner, sock).start()

    async def _close(self) -> None:
        tasks = list(self._handler_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- URLs ---------------------------------------------------------------------------------

    def _build_urls(self) -> None:
        urls: list[str] = []
        for index in range(self._images):
            port = self._ports[index % self._port_count]
            # Template chosen per round, so that every port gets every URL shape.
            template = _URL_TEMPLATES[(index // self._port_count) % len(_URL_TEMPLATES)]
            urls.append(f"http://{HOST}:{port}" + template.format(i=index))
        # Built aside, then swapped: the server thread never sees a half-filled table.
        self._index_by_key = {_key_from_url(url): index for index, url in enumerate(urls)}
        self._urls = urls

    def _require_started(self) -> None:
        if not self._ports:
            raise RuntimeError("le serveur d'images n'est pas démarré : appelez start() d'abord")

    @property
    def urls(self) -> list[str]:
        """The image URLs, spread round-robin over the ports (a copy; still readable after stop)."""
        self._require_started()
        return list(self._urls)

    @property
    def base_urls(self) -> list[str]:
        """One base URL per port, e.g. ``http://127.0.0.1:41234``."""
        self._require_started()
        return [f"http://{HOST}:{port}" for port in self._ports]

    def fault_url(self, kind: str, name: str = "image.png") -> str:
        """URL of a failing image: ``kind`` is "404", "500", "drop" or "stall"."""
        if kind not in FAULT_KINDS:
            expected = ", ".join(FAULT_KINDS)
            raise ValueError(f"type de panne inconnu : {kind!r} (attendu : {expected})")
        return f"{self.base_urls[0]}/fault/{kind}/{quote(name)}"

    def index_of(self, url: str) -> int:
        """The index of an image URL; KeyError if it is not one of :attr:`urls`."""
        self._require_started()
        try:
            return self._index_by_key[_key_from_url(url)]
        except KeyError:
            raise KeyError(f"cette URL n'est pas une image du serveur : {url}") from None

    def expected_bytes(self, url: str) -> bytes:
        """The exact body a client must save for this image URL."""
        return make_png(self.index_of(url), self._seed)

    # -- latency and statistics ---------------------------------------------------------------

    @property
    def images(self) -> int:
        return self._images

    @property
    def latency(self) -> float:
        """Mean delay of every response, in seconds; may be changed while serving."""
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("la latence ne peut pas être négative")
        self._latency = seconds  # a float store is atomic: the server thread sees old or new

    @property
    def jitter(self) -> float:
        return self._jitter

    def reset_stats(self) -> None:
        """Zeroes the counters; max_in_flight restarts from the requests still running."""
        with self._stats_lock:
            self._requests = 0
            self._connections.clear()
            self._requested.clear()
            self._max_in_flight = self._in_flight

    @property
    def max_in_flight(self) -> int:
        """Largest number of requests handled at the same time since the last reset."""
        with self._stats_lock:
            return self._max_in_flight

    @property
    def connections(self) -> int:
        """TCP connections the requests came on since the last reset: one client that keeps its
        connections alive (a session) opens at most one per port, a client per request one each."""
        with self._stats_lock:
            return len(self._connections)

    @property
    def requested(self) -> frozenset[int]:
        """Indexes (in :attr:`urls`) of the images asked for since the last reset."""
        with self._stats_lock:
            return frozenset(self._requested)

    @property
    def requests_served(self) -> int:
        """Number of requests received since the last reset (faults and 404 included)."""
        with self._stats_lock:
            return self._requests

    def _enter_request(self, peer: object) -> None:
        with self._stats_lock:
            if isinstance(peer, tuple):
                self._connections.add(peer)
            self._requests += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave_request(self) -> None:
        with self._stats_lock:
            self._in_flight -= 1

    # -- request handling ---------------------------------------------------------------------

    def _delay(self) -> float:
        latency, jitter = self._latency, self._jitter
        if jitter == 0:
            return latency
        return max(0.0, latency + self._random.uniform(-jitter, jitter))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == STATS_PATH:
            return self._stats_response(reset="reset" in request.query)
        task = asyncio.current_task()
        if task is not None:
            self._handler_tasks.add(task)
        transport = request.transport
        self._enter_request(transport.get_extra_info("peername") if transport is not None else None)
        try:
            # Never time.sleep(): the wait must let other requests proceed concurrently.
            await asyncio.sleep(self._delay())
            return await self._respond(request)
        finally:
            self._leave_request()
            if task is not None:
                self._handler_tasks.discard(task)

    def _stats_response(self, *, reset: bool) -> web.Response:
        stats = {"requests_served": self.requests_served, "max_in_flight": self.max_in_flight}
        if reset:
            self.reset_stats()
        return web.json_response(stats)

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/fault/"):
            return await self._respond_fault(request)
        index = self._index_by_key.get(self._request_key(request))
        if index is None:
            detail = f"Aucune image à l'adresse {html.escape(request.path_qs)}."
            return _error_page(404, "image introuvable", detail)
        with self._stats_lock:
            self._requested.add(index)
        return web.Response(
            body=make_png(index, self._seed),
            content_type="image/png",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @staticmethod
    def _request_key(request: web.Request) -> _Key:
        # The local port tells which "host" was contacted; the Host header is only a fallback.
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        port = sockname[1] if sockname else (request.url.port or 80)
        return _Key(port, request.path, tuple(sorted(request.query.items())))

    async def _respond_fault(self, request: web.Request) -> web.StreamResponse:
        kind = request.path.split("/")[2]
        if kind == "404":
            return _error_page(404, "image introuvable", "Image inexistante (panne simulée).")
        if kind == "500":
            return _error_page(500, "erreur interne du serveur", "Panne simulée du serveur.")
        if kind == "drop":
            _abort_connection(request)
            return web.Response()  # never sent: aiohttp sees the closed transport and gives up
        if kind == "stall":
            return await self._stall(request)
        return _error_page(404, "panne inconnue", f"Types de panne : {', '.join(FAULT_KINDS)}.")

    async def _stall(self, request: web.Request) -> web.StreamResponse:
        """Sends the headers and half of an image, then goes silent (bounded, cancellable)."""
        body = make_png(0, self._seed)
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        await asyncio.sleep(self._stall_seconds)
        _abort_connection(request)  # the body stays incomplete: the client sees an error
        return response
