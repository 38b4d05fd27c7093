"""What each worker plays: the scenarios of one part, with their images, failures and budgets.

Image bodies are random for every grade, so files on disk can only hold them if the
student's code really fetched them. Scenario names are the vocabulary shared with the
checks (:class:`Scenario`).
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from grader.engine.worker.protocol import ConsoleMode, ReplyOrder, ScenarioKind, ScenarioSpec

# Forces an order on the mocked replies of part 2 for a whole grade (tests/flake.py only).
REPLY_ORDER_VARIABLE = "CORRECTION_ORDRE_DES_REPONSES"

_URL_SHAPES = (
    "https://images.example.org/photos/{i}/full.jpg",
    "https://cdn.example.net/img/{i}.png?size=large",
    "https://cdn.example.net/img/{i}.png?size=small",
    "https://images.example.org/gallery/{i}/cat.png",
    "https://cdn.example.net/gallery/{i}/cat.png",
    "https://images.example.org/photos/{i}/full.jpg?v=2",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BAD_URL = "https://cdn.example.net/img/broken.png?size=large"

# Each scenario of the solution takes 0,3 s at most, its script 0,15 s: a first hang is declared
# after seven times that or more, so that a loaded machine never passes for a hang.
LOAD_BUDGET = 3.0
BUDGET = 2.0
SCRIPT_BUDGET = 2.0
SERVER_BUDGET = 2.5
BUDGET_AFTER_A_HANG = 1.0
# The bounds on the student's code, per part, counted from its first worker's start: once a
# scenario has hung, the part stops PART_BUDGET s after that start (a restarted worker gets what
# is left, at least attempt.RESTART_HELLO_FLOOR to start); slow code that never hangs (a
# time.sleep per image) gets PART_LIMIT. No total for the whole grade is promised: nox, pytest
# and the workers' imports (up to attempt.HELLO_LIMIT on a loaded machine) come on top.
# A single hang, even in the first scenario, leaves the rest of the part about 1,5 s to replay
# in a new worker (0,9 s needed on an idle machine).
PART_BUDGET = 4.0
PART_LIMIT = 15.0

# Part 1 fetches one image after the other, so each wait of its loopback servers adds up: they
# answer faster than part 2's, which must leave requests in flight long enough to overlap.
SCRIPT_IMAGES = 6
SCRIPT_LATENCY = {"sync": 0.005, "async": 0.02}
# The same for the mocked replies of main()'s first run.
MAIN_LATENCY = {"sync": 0.005, "async": 0.01}
# main() called on the loopback server: in part 2 long enough to tell overlap from sequence.
SERVER_IMAGES, SERVER_LATENCY = 8, 0.15
# More images than a small thread pool has threads: a pool sharing one session must then
# reuse its connections too (tests/variants/concurrent_futures_partie_1).
SYNC_SERVER_IMAGES, SYNC_SERVER_LATENCY = 8, 0.005
# main() on a loopback server whose URLs fail in the middle of the batch: two images, then
# these faults (a 404 page, a 500 page, a connection cut before any answer), then two more.
SERVER_ERROR_IMAGES = 4
SERVER_ERROR_LATENCY = {"sync": 0.005, "async": 0.02}
SERVER_FAULTS = ("404", "500", "drop")
TIMING_IMAGES = 4
DISK_IMAGES = 4
DISK_FAILS_AT = 2  # the second file opened for writing fails like a full disk
# Far apart, so that a duration written in the code cannot fit both runs, even on a busy machine.
TIMING_LATENCIES = {"sync": (0.01, 0.06), "async": (0.02, 0.25)}


class Scenario(StrEnum):
    SCRIPT = "script"
    LOG_FORMAT = "log_format"
    DOWNLOAD_ONE = "download_one"
    DOWNLOAD_404 = "download_404"
    MAIN = "main"
    NESTED_DIR = "nested_dir"
    EXISTING_DIR = "existing_dir"
    ERROR_CONNECTION = "error_connection"
    ERROR_404 = "error_404"
    ERROR_500 = "error_500"
    ERROR_DISK = "error_disk"
    ERROR_TIMEOUT = "error_timeout"
    LOG_MESSAGES = "log_messages"
    LOG_ERROR_CONNECTION = "log_error_connection"
    LOG_ERROR_404 = "log_error_404"
    TIMING_SHORT = "timing_short"
    TIMING_LONG = "timing_long"
    SERVER = "server"
    SERVER_ERRORS = "server_errors"


# The scenarios that run the student's main() on mocked HTTP.
MAIN_RUNS = (
    Scenario.MAIN,
    Scenario.NESTED_DIR,
    Scenario.EXISTING_DIR,
    Scenario.ERROR_CONNECTION,
    Scenario.ERROR_404,
    Scenario.ERROR_500,
    Scenario.ERROR_DISK,
    Scenario.LOG_MESSAGES,
)


@dataclass(frozen=True)
class Image:
    url: str
    body: bytes


def image_set(count: int, start: int = 1) -> list[Image]:
    """``count`` images with realistic URLs and unpredictable bodies."""
    return [
        Image(_URL_SHAPES[i % len(_URL_SHAPES)].format(i=i), PNG_SIGNATURE + os.urandom(96))
        for i in range(start, start + count)
    ]


def _encoded(images: list[Image]) -> tuple[tuple[str, str], ...]:
    return tuple((image.url, base64.b64encode(image.body).decode()) for image in images)


@dataclass(frozen=True)
class PartPlan:
    """The scenarios of one part, and the images each one serves (for the checks)."""

    part: str
    specs: tuple[ScenarioSpec, ...]
    images: dict[str, list[Image]]

    @property
    def names(self) -> set[str]:
        return {str(spec.name) for spec in self.specs}

    def spec(self, name: str) -> ScenarioSpec:
        return next(spec for spec in self.specs if spec.name == name)


def _main(name: Scenario, images: list[Image], budget: float = BUDGET, **options: Any) -> ScenarioSpec:
    settings: dict[str, Any] = {"out": "images", "auto_create": True, **options}
    return ScenarioSpec(str(name), ScenarioKind.MAIN, budget, images=_encoded(images), **settings)


def _with_failure(name: Scenario, kind: str, **options: Any) -> tuple[ScenarioSpec, list[Image]]:
    """Four images and one failing URL in the middle of the batch."""
    good = image_set(4, start=11)
    urls = (good[0].url, good[1].url, BAD_URL, good[2].url, good[3].url)
    return _main(name, good, failures=((BAD_URL, kind),), urls=urls, **options), good


def server_shape(part: str) -> tuple[int, float]:
    """Images and latency of the loopback server that main() downloads from directly."""
    return (SERVER_IMAGES, SERVER_LATENCY) if part == "async" else (SYNC_SERVER_IMAGES, SYNC_SERVER_LATENCY)


def build(part: str) -> PartPlan:
    """The part's scenarios; those on a loopback server get its URLs from each worker's servers."""
    images: dict[str, list[Image]] = {}
    specs: list[ScenarioSpec] = []

    def add(spec: ScenarioSpec, served: list[Image]) -> None:
        specs.append(spec)
        images[spec.name] = served

    add(ScenarioSpec(Scenario.SCRIPT, ScenarioKind.SCRIPT, SCRIPT_BUDGET, auto_create=True), [])
    add(ScenarioSpec(Scenario.LOG_FORMAT, ScenarioKind.LOG_FORMAT, BUDGET), [])
    one = image_set(1, start=2)
    add(ScenarioSpec(Scenario.DOWNLOAD_ONE, ScenarioKind.DOWNLOAD_ONE, BUDGET, images=_encoded(one),
                     url=one[0].url), one)  # fmt: skip
    add(ScenarioSpec(Scenario.DOWNLOAD_404, ScenarioKind.DOWNLOAD_ONE, BUDGET,
                     failures=((BAD_URL, "404"),), url=BAD_URL), [])  # fmt: skip
    main_images = image_set(6)
    add(_main(Scenario.MAIN, main_images, latency=MAIN_LATENCY[part]), main_images)
    two = image_set(2, start=7)
    add(_main(Scenario.NESTED_DIR, two, out="sortie/images/lot", auto_create=False), two)
    add(_main(Scenario.EXISTING_DIR, two, out="sortie/images/lot", precreate=True, runs=2), two)
    for name, kind in (
        (Scenario.ERROR_CONNECTION, "connection"),
        (Scenario.ERROR_404, "404"),
        (Scenario.ERROR_500, "500"),
    ):
        add(*_with_failure(name, kind))
    disk = image_set(DISK_IMAGES, start=21)
    add(_main(Scenario.ERROR_DISK, disk, fail_open=DISK_FAILS_AT), disk)
    if part == "async":
        add(*_with_failure(Scenario.ERROR_TIMEOUT, "timeout"))
    three = image_set(3, start=31)
    add(_main(Scenario.LOG_MESSAGES, three, console=ConsoleMode.STUDENT), three)
    for name, kind in ((Scenario.LOG_ERROR_CONNECTION, "connection"), (Scenario.LOG_ERROR_404, "404")):
        add(*_with_failure(name, kind, console=ConsoleMode.STUDENT))
    for name, latency in zip(
        (Scenario.TIMING_SHORT, Scenario.TIMING_LONG), TIMING_LATENCIES[part], strict=True
    ):
        timed = image_set(TIMING_IMAGES, start=41)
        add(_main(name, timed, latency=latency, console=ConsoleMode.STUDENT, force_info=True,
                  stand_in=True), timed)  # fmt: skip
    for name in (Scenario.SERVER, Scenario.SERVER_ERRORS):
        add(ScenarioSpec(name, ScenarioKind.MAIN, SERVER_BUDGET, server=True, auto_create=True), [])
    return PartPlan(part, tuple(_with_reply_order(spec) for spec in specs), images)


def _with_reply_order(spec: ScenarioSpec) -> ScenarioSpec:
    """The spec with the reply order forced for this grade, if any (mocked main() runs only)."""
    forced = os.environ.get(REPLY_ORDER_VARIABLE, "")
    if spec.kind is not ScenarioKind.MAIN or forced not in set(ReplyOrder):
        return spec
    return dataclasses.replace(spec, reply_order=ReplyOrder(forced))


def restricted(plan: PartPlan, names: Collection[str]) -> PartPlan:
    """``plan`` with only the scenarios named (grading one part or some criteria)."""
    kept = tuple(spec for spec in plan.specs if spec.name in names)
    return PartPlan(plan.part, kept, {name: plan.images[name] for name in plan.images if name in names})
