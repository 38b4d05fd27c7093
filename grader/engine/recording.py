"""A grade's observations as JSON, and back: to judge again without running anything.

:func:`dump_grade_run` writes a :class:`~grader.engine.supervisor.GradeRun` (every part, every
scenario, the servers' statistics, the protections) and, optionally, the reflection answer
read in the graded folder; :func:`load_grade_run` and :func:`load_recording` rebuild them
exactly: ``load_grade_run(dump_grade_run(run)) == run``. Bytes are written in base64, sets in
sorted lists, paths as strings. What the worker reported (``observed``, ``load``, ``hello``,
the call chains, the plan's specs) is already JSON: it is checked, never converted, so that
nothing is silently lost.

For the kit's maintainers: ``pytest grader --enregistrer=FICHIER`` records a real grade,
``pytest grader --rejouer=FICHIER`` judges a recording (tests/goldens, the fast tier).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from grader.engine.evidence import ServerStats
from grader.engine.plans import Image, PartPlan
from grader.engine.reflection import Reflection, Status
from grader.engine.runs import GradeRun, PartRun, ScenarioRun
from grader.engine.sandbox import Protections
from grader.engine.worker.protocol import LoadEnding, ScenarioEnding, ScenarioSpec

FORMAT = "tp-telechargements/observations"
VERSION = 1

Json: TypeAlias = bool | int | float | str | list["Json"] | dict[str, "Json"] | None
JsonObject: TypeAlias = dict[str, Json]


class RecordingError(ValueError):
    """A recording that cannot be read or written as it is (French message: where and why)."""


@dataclass(frozen=True)
class Recording:
    """A recorded grade, and the reflection answer of the graded folder (None: not recorded)."""

    grade_run: GradeRun
    answer: Reflection | None = None


# --- writing ---------------------------------------------------------------------------------


def dump_grade_run(run: GradeRun, answer: Reflection | None = None) -> str:
    """``run`` (and the reflection ``answer``) as JSON text, readable by :func:`load_recording`."""
    document: JsonObject = {
        "format": FORMAT,
        "version": VERSION,
        "answer": None if answer is None else _reflection(answer),
        "grade_run": _grade_run(run),
    }
    encoded = json.dumps(document, ensure_ascii=False, indent=1, allow_nan=False) + "\n"
    try:
        encoded.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (a file name that is not UTF-8): escaped
        encoded = json.dumps(document, indent=1, allow_nan=False) + "\n"
    return encoded


def _bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _checked(value: object, where: str) -> Json:
    """``value`` itself, once checked to be JSON that reads back equal (no tuple, no NaN…)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RecordingError(f"{where} : nombre non fini ({value}), impossible à enregistrer en JSON")
        return value
    if isinstance(value, list):
        return [_checked(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        checked: JsonObject = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise RecordingError(f"{where} : clé {key!r} qui n'est pas une chaîne")
            checked[key] = _checked(item, f"{where}.{key}")
        return checked
    raise RecordingError(f"{where} : valeur de type {type(value).__name__} impossible à enregistrer en JSON")


def _array(items: Iterable[Json]) -> list[Json]:
    return list(items)


def _object(value: dict[str, Any] | None, where: str) -> Json:
    return None if value is None else _checked(value, where)


def _objects(values: list[dict[str, Any]], where: str) -> Json:
    return _checked(values, where)


def _protections(protections: Protections) -> JsonObject:
    return {
        "uid": protections.uid,
        "box": protections.box,
        "seccomp": protections.seccomp,
        "rlimits": protections.rlimits,
        "box_refused": protections.box_refused,
    }


def _reflection(answer: Reflection) -> JsonObject:
    return {
        "status": answer.status.name,
        "answer": answer.answer,
        "words": answer.words,
        "detail": answer.detail,
    }


def _grade_run(run: GradeRun) -> JsonObject:
    return {
        "target": str(run.target),
        "seconds": run.seconds,
        "protections": _protections(run.protections),
        "parts": {name: _part(part, f"parts.{name}") for name, part in run.parts.items()},
    }


def _plan(plan: PartPlan, where: str) -> JsonObject:
    return {
        "part": plan.part,
        "specs": _objects([spec.encode() for spec in plan.specs], f"{where}.specs"),
        "images": {
            name: [{"url": image.url, "body": _bytes(image.body)} for image in images]
            for name, images in plan.images.items()
        },
    }


def _server(stats: ServerStats) -> JsonObject:
    return {
        "requests": stats.requests,
        "max_in_flight": stats.max_in_flight,
        "connections": stats.connections,
        "ports": stats.ports,
        "expected": [_bytes(body) for body in stats.expected],
        "requested": _array(sorted(stats.requested)),
    }


def _part(part: PartRun, where: str) -> JsonObject:
    return {
        "part": part.part,
        "plan": _plan(part.plan, f"{where}.plan"),
        "folder": str(part.folder),
        "load": _object(part.load, f"{where}.load"),
        "load_ending": part.load_ending,
        "load_chain": _objects(part.load_chain, f"{where}.load_chain"),
        "scenarios": {
            name: _scenario(scenario, f"{where}.scenarios.{name}")
            for name, scenario in part.scenarios.items()
        },
        "console": part.console,
        "console_truncated": part.console_truncated,
        "blocked": _array(part.blocked),
        "refused": part.refused,
        "source": part.source,
        "servers": {name: _server(stats) for name, stats in part.servers.items()},
        "seconds": part.seconds,
    }


def _scenario(scenario: ScenarioRun, where: str) -> JsonObject:
    return {
        "name": scenario.name,
        "cwd": str(scenario.cwd),
        "observed": _object(scenario.observed, f"{where}.observed"),
        "ending": scenario.ending,
        "chain": _objects(scenario.chain, f"{where}.chain"),
        "exit_code": scenario.exit_code,
        "seconds_seen": scenario.seconds_seen,
        "files": {name: _bytes(body) for name, body in scenario.files.items()},
        "folders": _array(sorted(scenario.folders)),
    }


# --- reading ---------------------------------------------------------------------------------


def load_grade_run(text: str) -> GradeRun:
    """The GradeRun written by :func:`dump_grade_run`; :class:`RecordingError` if malformed."""
    return load_recording(text).grade_run


def load_recording(text: str) -> Recording:
    """The GradeRun and the reflection answer written by :func:`dump_grade_run`."""
    try:
        document: Json = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordingError(f"JSON invalide : {error}") from error
    top = _Fields(document, "enregistrement")
    if top.value("format") != FORMAT or top.value("version") != VERSION:
        raise RecordingError(
            f"enregistrement : format {top.value('format')!r} version {top.value('version')!r} inconnu "
            f"(attendu {FORMAT!r} version {VERSION})"
        )
    answer = top.value("answer")
    return Recording(
        grade_run=_read_grade_run(top.fields("grade_run")),
        answer=None if answer is None else _read_reflection(_Fields(answer, "enregistrement.answer")),
    )


class _Fields:
    """A JSON object being read: each accessor checks the type and says where it failed."""

    def __init__(self, value: Json, where: str) -> None:
        if not isinstance(value, dict):
            raise RecordingError(f"{where} : objet JSON attendu, trouvé {_kind(value)}")
        self.data: JsonObject = value
        self.where = where

    def value(self, key: str) -> Json:
        if key not in self.data:
            raise RecordingError(f"{self.where} : champ « {key} » absent")
        return self.data[key]

    def here(self, key: str) -> str:
        return f"{self.where}.{key}"

    def fields(self, key: str) -> _Fields:
        return _Fields(self.value(key), self.here(key))

    def items(self, key: str) -> list[tuple[str, _Fields]]:
        """The entries of an object of objects, in their recorded order."""
        mapping = self.fields(key)
        return [(name, mapping.fields(name)) for name in mapping.data]

    def text(self, key: str) -> str:
        return _as_str(self.value(key), self.here(key))

    def flag(self, key: str) -> bool:
        value = self.value(key)
        if not isinstance(value, bool):
            raise RecordingError(f"{self.here(key)} : booléen attendu, trouvé {_kind(value)}")
        return value

    def integer(self, key: str) -> int:
        return _as_int(self.value(key), self.here(key))

    def optional_integer(self, key: str) -> int | None:
        value = self.value(key)
        return None if value is None else _as_int(value, self.here(key))

    def number(self, key: str) -> float:
        value = self.value(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RecordingError(f"{self.here(key)} : nombre attendu, trouvé {_kind(value)}")
        return value

    def optional_number(self, key: str) -> float | None:
        return None if self.value(key) is None else self.number(key)

    def path(self, key: str) -> Path:
        return Path(self.text(key))

    def array(self, key: str) -> list[Json]:
        value = self.value(key)
        if not isinstance(value, list):
            raise RecordingError(f"{self.here(key)} : liste attendue, trouvé {_kind(value)}")
        return value

    def texts(self, key: str) -> list[str]:
        return [_as_str(item, f"{self.here(key)}[{i}]") for i, item in enumerate(self.array(key))]

    def integers(self, key: str) -> list[int]:
        return [_as_int(item, f"{self.here(key)}[{i}]") for i, item in enumerate(self.array(key))]

    def bytes_list(self, key: str) -> list[bytes]:
        return [_as_bytes(item, f"{self.here(key)}[{i}]") for i, item in enumerate(self.array(key))]

    def bytes_by_name(self, key: str) -> dict[str, bytes]:
        mapping = self.fields(key)
        return {name: _as_bytes(value, mapping.here(name)) for name, value in mapping.data.items()}

    def mapping(self, key: str) -> dict[str, Any]:
        return self.fields(key).data

    def optional_mapping(self, key: str) -> dict[str, Any] | None:
        return None if self.value(key) is None else self.mapping(key)

    def mappings(self, key: str) -> list[dict[str, Any]]:
        return [_Fields(item, f"{self.here(key)}[{i}]").data for i, item in enumerate(self.array(key))]


def _kind(value: Json) -> str:
    return "null" if value is None else type(value).__name__


def _as_str(value: Json, where: str) -> str:
    if not isinstance(value, str):
        raise RecordingError(f"{where} : chaîne attendue, trouvé {_kind(value)}")
    return value


def _as_int(value: Json, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordingError(f"{where} : entier attendu, trouvé {_kind(value)}")
    return value


def _as_bytes(value: Json, where: str) -> bytes:
    try:
        return base64.b64decode(_as_str(value, where), validate=True)
    except binascii.Error as error:
        raise RecordingError(f"{where} : base64 invalide ({error})") from error


def _read_reflection(fields: _Fields) -> Reflection:
    name = fields.text("status")
    if name not in Status.__members__:
        raise RecordingError(f"{fields.here('status')} : statut inconnu {name!r}")
    return Reflection(Status[name], fields.text("answer"), fields.integer("words"), fields.text("detail"))


def _read_protections(fields: _Fields) -> Protections:
    return Protections(
        uid=fields.optional_integer("uid"),
        box=fields.flag("box"),
        seccomp=fields.flag("seccomp"),
        rlimits=fields.flag("rlimits"),
        box_refused=fields.flag("box_refused"),
    )


def _read_grade_run(fields: _Fields) -> GradeRun:
    return GradeRun(
        target=fields.path("target"),
        parts={name: _read_part(part) for name, part in fields.items("parts")},
        protections=_read_protections(fields.fields("protections")),
        seconds=fields.number("seconds"),
    )


def _read_plan(fields: _Fields) -> PartPlan:
    images: dict[str, list[Image]] = {}
    catalogue = fields.fields("images")
    for name in catalogue.data:
        listed = catalogue.array(name)
        images[name] = [
            Image(image.text("url"), _as_bytes(image.value("body"), image.here("body")))
            for image in (_Fields(item, f"{catalogue.here(name)}[{i}]") for i, item in enumerate(listed))
        ]
    try:
        specs = tuple(ScenarioSpec.decode(spec) for spec in fields.mappings("specs"))
    except (KeyError, TypeError, ValueError) as error:
        raise RecordingError(f"{fields.here('specs')} : scénario illisible ({error})") from None
    return PartPlan(fields.text("part"), specs, images)


def _read_server(fields: _Fields) -> ServerStats:
    return ServerStats(
        requests=fields.integer("requests"),
        max_in_flight=fields.integer("max_in_flight"),
        connections=fields.integer("connections"),
        ports=fields.integer("ports"),
        expected=tuple(fields.bytes_list("expected")),
        requested=frozenset(fields.integers("requested")),
    )


def _read_part(fields: _Fields) -> PartRun:
    return PartRun(
        part=fields.text("part"),
        plan=_read_plan(fields.fields("plan")),
        folder=fields.path("folder"),
        load=fields.optional_mapping("load"),
        load_ending=_load_ending(fields),
        load_chain=fields.mappings("load_chain"),
        scenarios={name: _read_scenario(scenario) for name, scenario in fields.items("scenarios")},
        console=fields.text("console"),
        console_truncated=fields.flag("console_truncated"),
        blocked=fields.texts("blocked"),
        refused=fields.text("refused"),
        source=fields.text("source"),
        servers={name: _read_server(server) for name, server in fields.items("servers")},
        seconds=fields.number("seconds"),
    )


def _load_ending(fields: _Fields) -> LoadEnding:
    recorded = fields.text("load_ending")
    if not recorded:  # written before endings had names: '' meant no problem seen
        return LoadEnding.LOADED if fields.optional_mapping("load") is not None else LoadEnding.NOT_STARTED
    try:
        return LoadEnding(recorded)
    except ValueError:
        raise RecordingError(f"{fields.here('load_ending')} : fin inconnue {recorded!r}") from None


def _ending(fields: _Fields) -> ScenarioEnding:
    recorded = fields.text("ending") or ScenarioEnding.REPORTED  # '' before endings had names
    try:
        return ScenarioEnding(recorded)
    except ValueError:
        raise RecordingError(f"{fields.here('ending')} : fin inconnue {recorded!r}") from None


def _read_scenario(fields: _Fields) -> ScenarioRun:
    return ScenarioRun(
        name=fields.text("name"),
        cwd=fields.path("cwd"),
        observed=fields.optional_mapping("observed"),
        ending=_ending(fields),
        chain=fields.mappings("chain"),
        exit_code=fields.optional_integer("exit_code"),
        seconds_seen=fields.optional_number("seconds_seen"),
        files=fields.bytes_by_name("files"),
        folders=set(fields.texts("folders")),
    )
