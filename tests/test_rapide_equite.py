"""Fairness helpers, without a worker: reply order, durations read, except order, tracebacks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from grader.checks.expectations import durations_in
from grader.checks.handlers import shadowed_clauses
from grader.engine.observations import without_tracebacks
from grader.engine.worker.mocks import Failure, mocked_http
from grader.engine.worker.protocol import ReplyOrder

IMAGES = [(f"https://images.example.org/{i}.png", b"png%d" % i) for i in range(4)]
BAD = "https://cdn.example.net/img/broken.png"
URLS = [IMAGES[0][0], IMAGES[1][0], BAD, IMAGES[2][0], IMAGES[3][0]]
EXPECTED_ORDER = {
    "request": [0, 1, 2, 3, 4],
    "failures_first": [2, 0, 1, 3, 4],
    "failures_last": [0, 1, 3, 4, 2],
    "reverse": [4, 3, 2, 1, 0],
}


def _replies_in_order(order: ReplyOrder, latency: float) -> list[int]:
    handed: list[int] = []

    async def one(session: aiohttp.ClientSession, index: int) -> None:
        async with session.get(URLS[index]):
            handed.append(index)

    async def batch() -> None:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(one(session, index) for index in range(len(URLS))))

    with mocked_http("async", IMAGES, [Failure(BAD, "404")], latency, reply_order=order):
        asyncio.run(batch())
    return handed


@pytest.mark.parametrize("order", list(ReplyOrder))
@pytest.mark.parametrize("latency", [0.0, 0.01])
def test_mocked_replies_reach_the_tasks_in_the_forced_order(order: ReplyOrder, latency: float) -> None:
    handed = _replies_in_order(order, latency)
    assert handed == EXPECTED_ORDER[order], (
        f"Attendu : réponses remises dans l'ordre {EXPECTED_ORDER[order]} (ordre « {order} », latence "
        f"{latency} s) ; vu : {handed}"
    )


def test_output_folder_appears_at_the_first_request_whatever_reply_comes_first(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    seen: list[bool] = []

    async def failing_first() -> None:
        async with aiohttp.ClientSession() as session, session.get(BAD) as response:
            seen.append(folder.is_dir() and response.status == 404)

    def create() -> None:
        folder.mkdir()

    with mocked_http("async", IMAGES, [Failure(BAD, "404")], 0.0, on_first_request=create):
        asyncio.run(failing_first())
    assert seen == [True], f"Attendu : le dossier de sortie présent dès la réponse 404 ; vu : {seen}"


@pytest.mark.parametrize(
    ("shown", "seconds"),
    [
        ("Fin : 4/4 en 1234 msec", 1.234),
        ("durée : 0.250 sec.", 0.25),
        ("terminé en 12 millisec", 0.012),
        ("took 1.5 secs", 1.5),
        ("en 0,31 secondes", 0.31),
        ("en 2 Millisecondes", 0.002),
    ],
)
def test_durations_are_read_with_the_units_people_write(shown: str, seconds: float) -> None:
    read = [value for value, _ in durations_in(shown)]
    assert read == [pytest.approx(seconds)], f"Attendu : {seconds} s lues dans « {shown} » ; vu : {read}"


def test_bare_integers_and_clock_times_are_not_durations() -> None:
    read = durations_in("12:00:01 [INFO] 3/3 images, 142 octets")
    assert read == [], f"Attendu : aucune durée lue ; vu : {read}"


def test_broad_except_placed_before_the_network_one_is_named_with_both_lines() -> None:
    source = (
        "import requests\n"
        "def f():\n"
        "    try:\n"
        "        pass\n"
        "    except OSError:\n"
        "        pass\n"
        "    except requests.RequestException:\n"
        "        pass\n"
    )
    remarks = [clause.remark() for clause in shadowed_clauses(source)]
    assert len(remarks) == 1 and remarks[0].startswith(
        "« except OSError » (ligne 5) est placé avant « except requests.RequestException » (ligne 7)"
    ), f"Attendu : une remarque qui nomme les lignes 5 et 7 ; vu : {remarks}"


@pytest.mark.parametrize("name", ["sync_downloader.py", "async_downloader.py"])
def test_the_solution_orders_its_except_clauses_well(name: str) -> None:
    source = (Path(__file__).resolve().parent.parent / "solution" / name).read_text(encoding="utf-8")
    found = shadowed_clauses(source)
    assert found == [], f"Attendu : aucune remarque sur l'ordre des except de solution/{name} ; vu : {found}"


def test_http_status_errors_are_not_network_errors_shadowed_by_oserror() -> None:
    source = (
        "import aiohttp\ntry:\n    pass\nexcept OSError:\n    pass\n"
        "except aiohttp.ClientResponseError:\n    pass\n"
    )
    found = shadowed_clauses(source)
    assert found == [], (
        f"Attendu : ClientResponseError n'hérite pas d'OSError, aucune remarque ; vu : {found}"
    )


def test_tracebacks_are_left_out_of_quoted_console_lines() -> None:
    console = [
        "12:00:01 [INFO] Début",
        "12:00:01 [ERROR] Task exception was never retrieved",
        "Traceback (most recent call last):",
        '  File "/venv/lib/site-packages/aioresponses/core.py", line 534, in _request_mock',
        "    raise RuntimeError('Session is closed')",
        "RuntimeError: Session is closed",
        "12:00:02 [INFO] Fin : 3/3 images en 0.21 s",
    ]
    kept = without_tracebacks(console)
    assert kept == [console[0], console[1], console[-1]], f"Attendu : la trace retirée ; vu : {kept}"
