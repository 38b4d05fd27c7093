"""Fast tier: the contract between supervisor and worker, and the part's state machine driven
through a scripted channel (no process is started)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path

from grader.engine import plans, stackdump
from grader.engine.attempt import Attempt, AttemptResult, PartClock
from grader.engine.channel import Quiet, Received, ReportChannel
from grader.engine.runs import PartRun
from grader.engine.worker.protocol import (
    STACK_FILE,
    STACK_SECTION,
    Done,
    Hello,
    Loaded,
    LoadEnding,
    ScenarioEnding,
    ScenarioKind,
    ScenarioReport,
    ScenarioSpec,
    WorkerPlan,
    decode_event,
    encode_event,
)

OK = {"status": "ok"}
SPECS = [ScenarioSpec(name, ScenarioKind.MAIN, 2.5) for name in ("un", "deux", "trois")]


class ScriptedChannel:
    """Gives the events of a script, one per call; each arrives one second after the previous."""

    def __init__(self, script: Iterable[Received]) -> None:
        self.script = list(script)
        self.waits: list[float] = []
        self._last_arrival: float | None = None
        self.clock = 100.0

    @property
    def last_arrival(self) -> float | None:
        return self._last_arrival

    def next(self, timeout: float) -> Received:
        self.waits.append(timeout)
        if not self.script:
            return Quiet.ENDED
        received = self.script.pop(0)
        self.clock += 1.0
        if not isinstance(received, Quiet):
            self._last_arrival = self.clock
        return received


class FakeWorker:
    def __init__(self) -> None:
        self.kills = 0

    def kill(self) -> None:
        self.kills += 1

    def exit_code(self, wait: float) -> int | None:
        return -9


class FakeTime:
    def __init__(self, now: float = 0.0) -> None:
        self.value = now

    def __call__(self) -> float:
        return self.value


def _follow(
    script: Iterable[Received], tmp_path: Path, *, first: bool = True, clock: PartClock | None = None
) -> tuple[PartRun, AttemptResult, FakeWorker, ScriptedChannel]:
    run = PartRun("sync", plans.PartPlan("sync", tuple(SPECS), {}), tmp_path)
    worker = FakeWorker()
    channel = ScriptedChannel(script)
    clock = clock or PartClock(now=FakeTime())
    result = Attempt(run, list(SPECS), clock, worker, first).follow(channel)
    return run, result, worker, channel


def _hello() -> Hello:
    return Hello(pid=1, uid=None, dropped=False, limits=(), seccomp=False)


def _endings(run: PartRun) -> dict[str, str]:
    return {name: str(scenario.ending) for name, scenario in run.scenarios.items()}


def test_a_worker_that_reports_every_scenario_leaves_each_reported(tmp_path: Path) -> None:
    reports: list[Received] = [ScenarioReport(spec.name, {"n": index}) for index, spec in enumerate(SPECS)]
    run, result, worker, _ = _follow([_hello(), Loaded(OK), *reports], tmp_path)
    expected = {spec.name: "reported" for spec in SPECS}
    assert _endings(run) == expected and not result.remaining and worker.kills == 0, (
        f"attendu {expected}, rien à rejouer et aucun arrêt ; vu {_endings(run)}, "
        f"{result.remaining} et {worker.kills} arrêt(s)"
    )
    seen = [run.scenarios[spec.name].seconds_seen for spec in SPECS]
    assert seen == [1.0, 1.0, 1.0], f"attendu 1 s observée entre deux rapports ; vu {seen}"
    assert run.load_ending is LoadEnding.LOADED and run.load == OK, (
        f"attendu un module chargé ; vu {run.load_ending} et {run.load}"
    )


def test_silence_during_a_scenario_kills_the_worker_and_leaves_the_rest_to_replay(tmp_path: Path) -> None:
    clock = PartClock(limit=15.0, after_hang=6.0, now=FakeTime())
    script: list[Received] = [_hello(), Loaded(OK), ScenarioReport("un"), Quiet.SILENCE]
    run, result, worker, _ = _follow(script, tmp_path, clock=clock)
    assert run.scenarios["deux"].ending is ScenarioEnding.HUNG and worker.kills == 1, (
        f"attendu « deux » bloqué et l'ouvrier arrêté une fois ; vu {_endings(run)}, {worker.kills} arrêt(s)"
    )
    replay = [spec.name for spec in result.remaining]
    assert replay == ["trois"] and result.hung, f"attendu de rejouer ['trois'] après un blocage ; vu {replay}"
    assert clock.deadline == 6.0, f"attendu l'échéance de la partie ramenée à 6 s ; vu {clock.deadline}"


def test_a_worker_that_dies_mid_scenario_crashes_only_that_scenario(tmp_path: Path) -> None:
    run, result, _, _ = _follow([_hello(), Loaded(OK), Quiet.ENDED], tmp_path)
    crashed = run.scenarios["un"]
    assert crashed.ending is ScenarioEnding.CRASHED and crashed.exit_code == -9, (
        f"attendu « un » arrêté brutalement (code -9) ; vu {crashed.ending} ({crashed.exit_code})"
    )
    replay = [spec.name for spec in result.remaining]
    assert replay == ["deux", "trois"] and not result.hung, (
        f"attendu ['deux', 'trois'] à rejouer ; vu {replay}"
    )


def test_a_report_out_of_turn_counts_as_a_crash(tmp_path: Path) -> None:
    run, _, worker, _ = _follow([_hello(), Loaded(OK), ScenarioReport("trois")], tmp_path)
    assert run.scenarios["un"].ending is ScenarioEnding.CRASHED and worker.kills == 1, (
        f"attendu « un » compté comme arrêté brutalement ; vu {_endings(run)}"
    )
    assert run.scenarios["un"].observed is None, (
        "un rapport hors tour ne doit pas être attribué à un autre scénario"
    )


def test_a_module_that_hangs_at_import_leaves_every_scenario_not_loaded(tmp_path: Path) -> None:
    run, result, worker, channel = _follow([_hello(), Quiet.SILENCE], tmp_path)
    assert run.load_ending is LoadEnding.HUNG and worker.kills == 1, (
        f"attendu un import bloqué et l'ouvrier arrêté ; vu {run.load_ending}, {worker.kills} arrêt(s)"
    )
    expected = {spec.name: "not_loaded" for spec in SPECS}
    assert _endings(run) == expected and not result.remaining, f"attendu {expected} ; vu {_endings(run)}"
    assert channel.waits[1] == plans.LOAD_BUDGET, (
        f"attendu {plans.LOAD_BUDGET} s pour l'import ; vu {channel.waits}"
    )


def test_a_module_that_fails_to_import_plays_nothing(tmp_path: Path) -> None:
    failed = {"status": "raised", "exception": "NameError"}
    run, _, _, _ = _follow([_hello(), Loaded(failed), ScenarioReport("un")], tmp_path)
    assert run.load == failed and set(_endings(run).values()) == {"not_loaded"}, (
        f"attendu l'échec d'import enregistré et aucun scénario joué ; vu {run.load} et {_endings(run)}"
    )


def test_a_worker_that_never_says_hello_is_a_crash_then_out_of_time_on_restart(tmp_path: Path) -> None:
    first, _, _, _ = _follow([Quiet.SILENCE], tmp_path)
    restart, _, _, _ = _follow([Quiet.SILENCE], tmp_path, first=False)
    assert set(_endings(first).values()) == {"crashed"} and set(_endings(restart).values()) == {"skipped"}, (
        f"attendu « crashed » au premier ouvrier, « skipped » après un redémarrage ; "
        f"vu {_endings(first)} et {_endings(restart)}"
    )


def test_nothing_waits_once_the_parts_time_is_spent(tmp_path: Path) -> None:
    now = FakeTime()
    clock = PartClock(limit=15.0, now=now)

    class LateChannel(ScriptedChannel):
        def next(self, timeout: float) -> Received:
            received = super().next(timeout)
            if isinstance(received, ScenarioReport):
                now.value = 20.0  # the first report arrives after the part's deadline
            return received

    run = PartRun("sync", plans.PartPlan("sync", tuple(SPECS), {}), tmp_path)
    channel = LateChannel([_hello(), Loaded(OK), ScenarioReport("un")])
    Attempt(run, list(SPECS), clock, FakeWorker(), first=True).follow(channel)
    assert _endings(run) == {"un": "reported", "deux": "skipped", "trois": "skipped"}, (
        f"attendu « deux » et « trois » sautés, l'échéance passée ; vu {_endings(run)}"
    )
    assert len(channel.waits) == 3, f"attendu aucune attente après l'échéance ; vu {channel.waits}"


def test_every_event_survives_its_encoding() -> None:
    events: list[Done | Hello | Loaded | ScenarioReport] = [
        _hello(),
        Loaded({"status": "ok"}, ("x",), ("note",)),
        ScenarioReport("un", {"a": [1]}),
        Done(),
    ]
    decoded = [decode_event(json.loads(encode_event(event))) for event in events]
    assert decoded == events, f"attendu {events} après aller-retour ; vu {decoded}"


def test_malformed_events_are_not_events() -> None:
    samples: list[object] = [
        [],
        {"event": "hello"},
        {"event": "loaded", "call": "ok"},
        {"event": "loaded", "call": {"status": "exit", "chain": [1, "a"]}},  # read by -v and the report
        {"event": "loaded", "call": {"status": "ok", "value": [1]}},
        {"event": "loaded", "call": {"status": ["ok"]}},
        {"event": "inconnu"},
        {"event": "scenario"},
    ]
    decoded = [decode_event(sample) for sample in samples]
    assert decoded == [None] * len(samples), f"attendu aucun événement reconnu ; vu {decoded}"


def test_the_report_channel_skips_garbage_and_reports_the_end() -> None:
    lines = b"pas du json\n" + b'{"event": "inconnu"}\n' + encode_event(Done()).encode() + b"[1, 2]\n"
    channel = ReportChannel(io.BytesIO(lines))
    received = [channel.next(5.0), channel.next(5.0), channel.next(5.0)]
    assert received == [Done(), Quiet.ENDED, Quiet.ENDED], f"attendu [Done(), ENDED, ENDED] ; vu {received}"


def test_the_report_channel_skips_lines_that_break_their_decoding() -> None:
    """Lines a student's code can write on the channel (tests/attacks/faussaire_lignes_qui_plantent)."""
    breaking = [
        '{"event": "hello", "pid": 1e9999}',  # OverflowError in int()
        '{"event": "hello", "pid": NaN, "uid": -Infinity}',
        "[" * 100_000 + "]" * 100_000,  # RecursionError in json.loads
        '{"event": "loaded", "call": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}",
    ]
    lines = "".join(line + "\n" for line in breaking).encode() + encode_event(Done()).encode()
    channel = ReportChannel(io.BytesIO(lines))
    received = [channel.next(5.0) for _ in range(2)]
    assert received[0] == Done(), f"attendu le « done » qui suit les lignes piégées ; vu {received[0]}"
    assert received[1] is Quiet.ENDED, f"attendu la fin du canal (lecteur vivant) ; vu {received[1]}"


def test_a_stack_file_written_by_the_student_cannot_break_its_reading(tmp_path: Path) -> None:
    """tests/attacks/piles_numero_de_ligne_geant: piles.txt lies in the student's folder."""
    own = tmp_path / "sync_downloader.py"
    dump = (
        f"\n{STACK_SECTION}main\n"
        f'File "{own}", line {"9" * 5000} in main\n'
        f'File "{own}", line ١٢ in main\n'
        f'File "{own}", line 12 in main\n'
    )
    (tmp_path / STACK_FILE).write_text(dump, encoding="utf-8")
    frames = stackdump.student_frames(tmp_path, "main")
    expected = [{"file": "sync_downloader.py", "line": 12, "function": "main"}]
    assert frames == expected, f"attendu le seul cadre plausible {expected} ; vu {frames}"


def test_every_plan_survives_its_encoding() -> None:
    for part in ("sync", "async"):
        plan = WorkerPlan(
            part, "/m.py", "/s", plans.LOAD_BUDGET, plans.build(part).specs, drop_uid=7, seccomp=True
        )
        decoded = WorkerPlan.decode(plan.encode())
        assert decoded == plan, f"attendu le plan {part} inchangé après aller-retour ; vu {decoded}"
