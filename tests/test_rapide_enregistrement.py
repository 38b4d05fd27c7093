"""Fast tier: a grade's observations written to JSON and read back exactly (grader/engine/recording.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from grader.engine import recording
from grader.engine.evidence import ServerStats
from grader.engine.plans import Image, PartPlan
from grader.engine.reflection import Reflection, Status
from grader.engine.runs import GradeRun, PartRun, ScenarioRun
from grader.engine.sandbox import Protections
from grader.engine.worker.protocol import LoadEnding, ScenarioEnding, ScenarioKind, ScenarioSpec
from tests.goldens import KIT_ROOT, replay_arguments

NOT_UTF8_NAME = "images/photo-\udcff.png"  # a file name that is not UTF-8, as os.fsdecode gives it


def _every_field_set() -> GradeRun:
    """A GradeRun whose every field, at every level, differs from its default."""
    image = Image("https://images.example.org/photos/1/full.jpg", b"\x89PNG\r\n\x1a\n\x00\xff")
    spec = ScenarioSpec("main", ScenarioKind.MAIN, 2.5, urls=("http://127.0.0.1:1/a",), stand_in=True)
    plan = PartPlan("sync", (spec,), {"main": [image]})
    scenario = ScenarioRun(
        name="main",
        cwd=Path("/tmp/correction-x/sync/main"),
        observed={
            "call": {"status": "ok", "value": {"type": "None"}},
            "seconds": 0.125,
            "records": [[20, "é"]],
        },
        ending=ScenarioEnding.HUNG,
        chain=[{"file": "sync_downloader.py", "line": 70, "function": "main"}],
        exit_code=-9,
        seconds_seen=1.5,
        files={"images/a.png": b"\x00\x01\xfe", NOT_UTF8_NAME: b""},
        folders={"images", "sortie/images"},
    )
    part = PartRun(
        part="sync",
        plan=plan,
        folder=Path("/tmp/correction-x/sync"),
        load={"status": "ok", "value": {"type": "None"}},
        load_ending=LoadEnding.HUNG,
        load_chain=[{"file": "sync_downloader.py", "line": 3, "function": "<module>"}],
        scenarios={
            "main": scenario,
            "script": ScenarioRun("script", Path("s"), ending=ScenarioEnding.SKIPPED),
        },
        console="07:49:38 [INFO] Début\n",
        console_truncated=True,
        blocked=["connexion à example.org:443"],
        refused="sync_downloader.py est un lien symbolique.",
        source="import requests\n",
        servers={"server": ServerStats(4, 2, 3, 2, (b"\x89PNG-a", b"\x89PNG-b"), frozenset({1, 0}))},
        seconds=3.25,
    )
    protections = Protections(uid=2304834, box=True, seccomp=True, rlimits=True, box_refused=True)
    return GradeRun(Path("/work/kit/solution"), {"sync": part}, protections, 7.5)


def test_a_grade_run_reads_back_equal_field_for_field() -> None:
    run = _every_field_set()
    answer = Reflection(Status.UNREADABLE, "réponse", 1, "pas en UTF-8")
    loaded = recording.load_recording(recording.dump_grade_run(run, answer))
    assert loaded.grade_run == run, "attendu la même GradeRun après écriture puis lecture ; vu une différence"
    assert loaded.answer == answer, f"attendu la réponse {answer} ; vu {loaded.answer}"
    assert recording.load_grade_run(recording.dump_grade_run(run)) == run, (
        "attendu load_grade_run(dump_grade_run(run)) == run ; vu une différence"
    )


RECORDED_CLASSES: list[tuple[type[Any], Any]] = [
    (GradeRun, lambda d: d["grade_run"]),
    (Protections, lambda d: d["grade_run"]["protections"]),
    (PartRun, lambda d: d["grade_run"]["parts"]["sync"]),
    (PartPlan, lambda d: d["grade_run"]["parts"]["sync"]["plan"]),
    (Image, lambda d: d["grade_run"]["parts"]["sync"]["plan"]["images"]["main"][0]),
    (ScenarioRun, lambda d: d["grade_run"]["parts"]["sync"]["scenarios"]["main"]),
    (ServerStats, lambda d: d["grade_run"]["parts"]["sync"]["servers"]["server"]),
    (Reflection, lambda d: d["answer"]),
]


@pytest.mark.parametrize(("cls", "where"), RECORDED_CLASSES, ids=lambda value: getattr(value, "__name__", ""))
def test_every_dataclass_field_is_recorded(cls: type[Any], where: Any) -> None:
    document = json.loads(recording.dump_grade_run(_every_field_set(), Reflection(Status.MISSING)))
    fields = sorted(field.name for field in dataclasses.fields(cls))
    recorded = sorted(where(document))
    assert recorded == fields, (
        f"attendu chaque champ de {cls.__name__} enregistré ({fields}) ; vu {recorded} : "
        "un champ ajouté doit l'être aussi dans grader/engine/recording.py"
    )


def test_bytes_are_written_in_base64_and_a_non_utf8_name_stays_escaped() -> None:
    text = recording.dump_grade_run(_every_field_set())
    files = json.loads(text)["grade_run"]["parts"]["sync"]["scenarios"]["main"]["files"]
    assert files["images/a.png"] == "AAH+", f"attendu b'\\x00\\x01\\xfe' en base64 « AAH+ » ; vu {files}"
    text.encode("utf-8")  # a lone surrogate would raise here
    assert "\\udcff" in text, "attendu le nom non UTF-8 échappé (\\udcff) dans le JSON ; vu autre chose"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["grade_run"]["parts"]["sync"].pop("console"),
            "enregistrement.grade_run.parts.sync : champ « console » absent",
        ),
        (
            lambda d: d["grade_run"]["parts"]["sync"]["scenarios"]["main"].update(exit_code="-9"),
            "enregistrement.grade_run.parts.sync.scenarios.main.exit_code : entier attendu, trouvé str",
        ),
        (
            lambda d: d["grade_run"]["parts"]["sync"]["servers"]["server"].update(
                expected=["pas du base64!"]
            ),
            "enregistrement.grade_run.parts.sync.servers.server.expected[0] : base64 invalide",
        ),
        (
            lambda d: d.update(version=99),
            "enregistrement : format 'tp-telechargements/observations' version 99 inconnu",
        ),
    ],
    ids=["champ-absent", "mauvais-type", "base64-invalide", "version-inconnue"],
)
def test_a_malformed_recording_is_refused_with_where_and_why(change: Any, expected: str) -> None:
    document = json.loads(recording.dump_grade_run(_every_field_set()))
    change(document)
    with pytest.raises(recording.RecordingError) as raised:
        recording.load_recording(json.dumps(document))
    assert str(raised.value).startswith(expected), f"attendu l'erreur « {expected}… » ; vu « {raised.value} »"


def test_an_observation_that_json_cannot_hold_exactly_is_refused_when_written() -> None:
    run = _every_field_set()
    observed = run.parts["sync"].scenarios["main"].observed
    assert observed is not None
    observed["records"] = [(20, "un tuple")]
    with pytest.raises(recording.RecordingError) as raised:
        recording.dump_grade_run(run)
    expected = "parts.sync.scenarios.main.observed.records[0] : valeur de type tuple impossible à enregistrer"
    assert str(raised.value).startswith(expected), f"attendu l'erreur « {expected}… » ; vu « {raised.value} »"


def test_replaying_an_unreadable_file_is_a_usage_error_in_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "observations.json"
    broken.write_text("{pas du json", encoding="utf-8")
    monkeypatch.chdir(KIT_ROOT)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    code = pytest.main(replay_arguments(broken, tmp_path / "results.json"))
    error = capsys.readouterr().err
    assert code == pytest.ExitCode.USAGE_ERROR, (
        f"attendu le code {pytest.ExitCode.USAGE_ERROR!r} ; vu {code!r}"
    )
    expected = f"--rejouer : {broken} illisible : JSON invalide"
    assert expected in error, f"attendu « {expected} » sur la sortie d'erreur ; vu {error[-400:]!r}"
    assert not (tmp_path / "results.json").exists(), "attendu aucun results.json écrit ; vu un fichier"
