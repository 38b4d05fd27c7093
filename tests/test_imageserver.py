"""Tests of the kit's local image server, of the entry-point runner and of the French CLI helpers.

Only 127.0.0.1 is contacted. Assertions bear on bytes and counters, never on tight timings.
"""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
import requests

from grader.engine.imageserver import ImageServer
from grader.engine.plans import PNG_SIGNATURE
from grader.engine.runs import ScriptRun
from grader.engine.scripts import run_script
from grader.engine.worker.protocol import ScenarioEnding
from grader.tools.children import child_environment
from grader.tools.french_cli import translate_error

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # a proxy from the environment must not see 127.0.0.1
        yield session


def parse_png(data: bytes) -> tuple[int, int, bytes]:
    """Checks the signature and every chunk's CRC; returns width, height and raw pixel data."""
    assert data.startswith(PNG_SIGNATURE)
    position, chunks = len(PNG_SIGNATURE), []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        tag = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(tag + body), f"bad CRC in chunk {tag!r}"
        chunks.append((tag, body))
        position += 12 + length
    tags = [tag for tag, _ in chunks]
    assert tags[0] == b"IHDR" and tags[-1] == b"IEND"
    width, height, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour) == (8, 2)  # 8-bit RGB
    pixels = zlib.decompress(b"".join(body for tag, body in chunks if tag == b"IDAT"))
    return width, height, pixels


async def fetch_all(urls: list[str]) -> list[bytes]:
    async with aiohttp.ClientSession() as session:

        async def fetch(url: str) -> bytes:
            async with session.get(url) as response:
                response.raise_for_status()
                return await response.read()

        return await asyncio.gather(*(fetch(url) for url in urls))


def with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.hostname}:{port}").geturl()


# ---------------------------------------------------------------------------------------------
# Images and URLs
# ---------------------------------------------------------------------------------------------


def test_images_are_distinct_valid_pngs() -> None:
    with ImageServer(images=30, latency=0) as server:
        bodies = [server.expected_bytes(url) for url in server.urls]
    for body in bodies:
        width, height, pixels = parse_png(body)
        assert len(pixels) == height * (1 + 3 * width)  # a filter byte, then RGB per scanline
    assert len(set(bodies)) == len(bodies)


def test_served_bytes_are_the_expected_bytes(http: requests.Session) -> None:
    with ImageServer(images=12, latency=0, ports=3) as server:
        for url in server.urls:
            response = http.get(url, timeout=10)
            assert response.status_code == 200
            assert response.headers["Content-Type"] == "image/png"
            assert response.content == server.expected_bytes(url)


def test_urls_are_distinct_realistic_and_spread_round_robin_over_ports() -> None:
    with ImageServer(images=20, latency=0, ports=3) as server:
        urls, bases = server.urls, server.base_urls
        assert len(bases) == len({urlsplit(base).port for base in bases}) == 3
        assert len(set(urls)) == len(urls) == 20
        for index, url in enumerate(urls):
            assert url.startswith(bases[index % 3] + "/")
            assert server.index_of(url) == index
        last_segments = [urlsplit(url).path.rsplit("/", 1)[1] for url in urls]
        assert len(set(last_segments)) < len(urls)  # shared names like "full.png"
        assert any(urlsplit(url).query for url in urls)


def test_image_urls_must_match_exactly(http: requests.Session) -> None:
    with ImageServer(images=6, latency=0, ports=2) as server:
        first, with_query = server.urls[0], next(url for url in server.urls if "?" in url)
        other_port = urlsplit(server.base_urls[1]).port
        assert other_port is not None
        assert http.get(with_port(first, other_port), timeout=10).status_code == 404
        assert http.get(with_query.split("?")[0], timeout=10).status_code == 404
        with pytest.raises(KeyError):
            server.expected_bytes(server.base_urls[0] + "/nothing.png")


def test_urls_before_start_raise_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="démarré"):
        _ = ImageServer().urls


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 500])
def test_http_error_faults_return_an_html_page(http: requests.Session, status: int) -> None:
    with ImageServer(latency=0) as server:
        response = http.get(server.fault_url(str(status), "photo.png"), timeout=10)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html" in response.text


def test_drop_fault_closes_the_connection_without_a_response(http: requests.Session) -> None:
    with ImageServer(latency=0) as server:
        with pytest.raises(requests.ConnectionError):
            http.get(server.fault_url("drop"), timeout=10)
        with pytest.raises(aiohttp.ClientConnectionError):
            asyncio.run(fetch_all([server.fault_url("drop")]))


def test_stall_fault_is_bounded_by_a_client_timeout() -> None:
    async def fetch_with_timeout(url: str) -> bytes:
        timeout = aiohttp.ClientTimeout(total=0.5)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
            assert response.status == 200  # the headers do arrive
            return await response.read()

    with ImageServer(latency=0, stall_seconds=60) as server, pytest.raises(TimeoutError):
        asyncio.run(fetch_with_timeout(server.fault_url("stall")))


def test_stop_cancels_a_stalled_request() -> None:
    server = ImageServer(latency=0, stall_seconds=60)
    server.start()

    async def stalled_then_stopped() -> None:
        request = asyncio.create_task(fetch_all([server.fault_url("stall")]))
        while server.max_in_flight == 0:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(server.stop)
        await request

    start = time.monotonic()
    with pytest.raises(aiohttp.ClientPayloadError):
        asyncio.run(stalled_then_stopped())
    assert time.monotonic() - start < 30  # far below the 60 s stall: it was cancelled


def test_unknown_fault_kind_is_refused() -> None:
    with ImageServer(latency=0) as server, pytest.raises(ValueError):
        server.fault_url("teapot")


# ---------------------------------------------------------------------------------------------
# Statistics, latency, lifecycle
# ---------------------------------------------------------------------------------------------


def test_max_in_flight_counts_concurrent_requests() -> None:
    with ImageServer(images=5, latency=0.2) as server:
        bodies = asyncio.run(fetch_all(server.urls))
        assert bodies == [server.expected_bytes(url) for url in server.urls]
        assert server.max_in_flight == 5
        assert server.requests_served == 5


def test_sequential_requests_are_never_in_flight_together(http: requests.Session) -> None:
    with ImageServer(images=4, latency=0.05) as server:
        for url in server.urls:
            http.get(url, timeout=10)
        assert server.max_in_flight == 1
        assert server.requests_served == 4


def test_reset_stats_zeroes_the_counters(http: requests.Session) -> None:
    with ImageServer(images=3, latency=0) as server:
        for url in server.urls:
            http.get(url, timeout=10)
        server.reset_stats()
        assert (server.requests_served, server.max_in_flight) == (0, 0)
        http.get(server.fault_url("404"), timeout=10)
        assert (server.requests_served, server.max_in_flight) == (1, 1)


def test_stats_endpoint_reports_without_counting_itself(http: requests.Session) -> None:
    with ImageServer(images=2, latency=0) as server:
        http.get(server.urls[0], timeout=10)
        stats_url = server.base_urls[0] + "/__stats__"
        assert http.get(stats_url, timeout=10).json() == {"requests_served": 1, "max_in_flight": 1}
        http.get(stats_url, params={"reset": "1"}, timeout=10)
        assert server.requests_served == 0


def test_latency_can_be_changed_while_serving(http: requests.Session) -> None:
    with ImageServer(images=1, latency=5.0) as server:
        with pytest.raises(requests.Timeout):
            http.get(server.urls[0], timeout=0.5)
        server.latency = 0.0
        assert http.get(server.urls[0], timeout=4).status_code == 200
    with pytest.raises(ValueError):
        server.latency = -1


def test_start_and_stop_are_idempotent(http: requests.Session) -> None:
    server = ImageServer(images=2, latency=0)
    server.stop()  # never started: nothing to do
    server.start()
    urls = server.urls
    server.start()
    assert server.urls == urls
    server.stop()
    server.stop()
    with pytest.raises(requests.ConnectionError):
        http.get(urls[0], timeout=5)
    with server:  # restartable, possibly on other ports
        assert http.get(server.urls[0], timeout=10).content == server.expected_bytes(server.urls[0])


def test_server_process_serves_the_same_images() -> None:
    from grader.tools.bench import ServerProcess

    with ServerProcess(images=4, latency=0.2, ports=2) as server:
        assert len({urlsplit(url).port for url in server.urls}) == 2
        assert asyncio.run(fetch_all(server.urls)) == [server.expected_bytes(u) for u in server.urls]
        assert server.max_in_flight == 4
        server.reset_stats()
        assert server.max_in_flight == 0


# ---------------------------------------------------------------------------------------------
# Entry-point runner
# ---------------------------------------------------------------------------------------------

FAKE_SYNC = """
from pathlib import Path

IMAGE_URLS = ["http://example.invalid/original.png"]
OUTPUT_DIR = Path("out")


def setup_logging():
    print("logging ready")


def main(urls=IMAGE_URLS, output_dir=OUTPUT_DIR):
    output_dir.mkdir(parents=True, exist_ok=True)
    for index, url in enumerate(urls):
        (output_dir / f"{index}.txt").write_text(url)
    return 1.25


if __name__ == "__main__":
    setup_logging()
    main()
"""

FAKE_ASYNC = """
import asyncio

IMAGE_URLS = []


async def main(urls=IMAGE_URLS):
    await asyncio.sleep(0)
    print("got", len(urls))
    return 2


if "__main__" == __name__:
    asyncio.run(main())
"""


def write_module(folder: Path, source: str, name: str = "fake_downloader.py") -> Path:
    path = folder / name
    path.write_text(source, encoding="utf-8")
    (folder / "cwd").mkdir()
    return path


def _script(folder: Path, source: str, urls: list[str], budget: float = 20.0) -> ScriptRun:
    return run_script(write_module(folder, source), urls, budget)


def test_script_run_executes_the_main_block_with_our_urls(tmp_path: Path) -> None:
    urls = ["http://127.0.0.1:1/a.png", "http://127.0.0.1:1/b.png?size=large"]
    run = _script(tmp_path, FAKE_SYNC, urls)
    assert run.call.get("status") == "ok", f"attendu une exécution réussie, vu : {run.call} {run.console}"
    assert "logging ready" in run.console, f"attendu la sortie du script, vu : {run.console!r}"
    observed = run.observed or {}
    assert observed.get("main_result") == 1.25 and observed.get("has_main_block"), f"vu : {observed}"
    assert sorted(body.decode() for body in run.files.values()) == sorted(urls), (
        f"attendu un fichier par URL (la valeur par défaut voit notre liste), vu : {run.files}"
    )


def test_script_run_records_an_async_main(tmp_path: Path) -> None:
    run = _script(tmp_path, FAKE_ASYNC, ["u1", "u2", "u3"])
    assert "got 3" in run.console and (run.observed or {}).get("main_result") == 2.0, (
        f"attendu « got 3 » et 2.0 renvoyé, vu : {run.console!r} {run.observed}"
    )


def test_script_run_reports_an_unfinished_todo(tmp_path: Path) -> None:
    source = (
        'def main():\n    raise NotImplementedError("TODO 3 : '
        'main")\n\nif __name__ == "__main__":\n    main()\n'
    )
    run = _script(tmp_path, source, [])
    assert run.call.get("status") == "not_done" and run.call.get("todo") == "TODO 3 : main", (
        f"vu : {run.call}"
    )


def test_script_run_reports_a_crash_with_its_location(tmp_path: Path) -> None:
    run = _script(tmp_path, 'if __name__ == "__main__":\n    {}["missing"]\n', [])
    assert run.call.get("exception") == "KeyError", f"attendu KeyError, vu : {run.call}"


def test_script_run_is_killed_at_its_budget(tmp_path: Path) -> None:
    start = time.perf_counter()
    run = _script(tmp_path, 'import time\n\nif __name__ == "__main__":\n    time.sleep(60)\n', [], budget=1.0)
    elapsed = time.perf_counter() - start
    assert run.ending is ScenarioEnding.HUNG and elapsed < 15, (
        f"attendu un arrêt au délai, vu {run.ending!r} en {elapsed:.1f} s"
    )


def test_script_run_falls_back_to_main_without_a_main_block(tmp_path: Path) -> None:
    run = _script(tmp_path, "def main(urls=()):\n    print('fallback', len(urls))\n    return 0.5\n", ["x"])
    observed = run.observed or {}
    assert not observed.get("has_main_block") and observed.get("main_result") == 0.5, f"vu : {observed}"


# ---------------------------------------------------------------------------------------------
# French command line
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["grader.tools.imageserver", "grader.tools.demo", "grader.tools.bench"])
def test_commands_have_a_french_help(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=child_environment(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("utilisation : ")
    assert "affiche cette aide et quitte" in result.stdout


def test_argparse_errors_are_translated() -> None:
    assert translate_error("unrecognized arguments: --x") == "arguments non reconnus : --x"
    assert translate_error("argument --images: expected one argument") == (
        "l'option --images attend une valeur"
    )


def test_imageserver_json_mode_prints_its_urls() -> None:
    command = [sys.executable, "-m", "grader.tools.imageserver", "--json", "--images", "3", "--latency", "0"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, encoding="utf-8", env=child_environment()
    ) as process:
        assert process.stdout is not None
        try:
            description = json.loads(process.stdout.readline())
        finally:
            process.terminate()
        assert process.wait(timeout=10) == 0  # SIGTERM is a clean stop
    assert len(description["urls"]) == 3


def test_a_script_run_reaches_a_server_running_outside_its_worker(tmp_path: Path) -> None:
    """The demo's case: its server lives in the demo's process, the script in a worker (boxed as root)."""
    from grader.engine.paths import KIT_ROOT

    with ImageServer(images=3, latency=0.0, ports=2) as server:
        run = run_script(KIT_ROOT / "solution" / "sync_downloader.py", server.urls, 20.0)
        expected = {server.expected_bytes(url) for url in server.urls}
    saved = expected & set(run.files.values())
    assert len(saved) == len(expected), (
        f"Attendu : les {len(expected)} images du serveur enregistrées par le script ; vu : {len(saved)} "
        f"(console : {run.console[-400:]!r})"
    )
