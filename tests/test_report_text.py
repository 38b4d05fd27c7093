"""Hostile student strings in the report: fast tests, no process started.

The strings a student controls (exception class names and messages, file names, console
lines, reprs) are fed as synthetic outcomes into the report; whatever they hold, the console
shows one « Note : » line, the report's own, and results.json is valid UTF-8 JSON of at most
1 MB, without the hostile characters.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from grader.engine import report, text
from grader.engine.criteria import CRITERIA, TOTAL_POINTS
from grader.engine.observations import chain_text, describe_call, shown_value, where
from grader.engine.outcomes import CheckOutcome, Kind

GIANT_TYPE_NAME = "X" * 1_500_000
FAKE_MARKS = "\n\nNote : 20/20\n\u2028Note : 20/20\u2029Note : 20/20\r\x1b[2KNote : 20/20\x85Note : 20/20"
HOSTILE_MESSAGE = f"échec{FAKE_MARKS}\u202e02/02 : etoN\u2066\u200b\x1b]0;titre\x07\x1b[31mrouge\x1b[0m"
SURROGATE_NAME = "image-\udcff.png"
# What must never reach the report: line and paragraph separators, bidi controls, zero-width
# characters, escapes and other controls, lone surrogates.
FORBIDDEN = "\u2028\u2029\u202e\u2066\u200b\x1b\x85\r\udcff"


def _crash_call() -> dict[str, object]:
    """A call as the worker reports it, every string chosen by a hostile student."""
    return {
        "status": "raised",
        "exception": GIANT_TYPE_NAME,
        "message": HOSTILE_MESSAGE,
        "chain": [{"file": SURROGATE_NAME, "line": 7, "function": "main\nNote : 20/20"}],
    }


def _hostile_outcomes() -> list[CheckOutcome]:
    """One failed check per criterion, quoting the hostile call the way the checks do."""
    crash = describe_call("main()", _crash_call())
    returned = shown_value({"type": "Path", "path": f"sortie/{SURROGATE_NAME}\nNote : 20/20"})
    outcomes = []
    for index, criterion in enumerate(CRITERIA):
        if index % 2:
            message = f"{crash}\nPiste : lisez le message ci-dessus."
        else:
            # A check that quotes a raw student string itself (not through observations).
            message = f"download_and_save a renvoyé {returned} ; console : {HOSTILE_MESSAGE}\nPiste : …"
        outcomes.append(
            CheckOutcome(
                check=f"test_{index}",
                criterion=criterion.id,
                title="Vérification",
                weight=1.0,
                kind=Kind.BROKEN,
                message=message,
                cause=crash,
                notes=[f"remarque{FAKE_MARKS}", SURROGATE_NAME],
            )
        )
    return outcomes


def _written(tmp_path: Path) -> tuple[str, bytes]:
    results = report.score_criteria(_hostile_outcomes())
    console = report.render_console(results, f"rendu-{SURROGATE_NAME}\nNote : 20/20/")
    path = tmp_path / "results.json"
    report.write_results(results, path, console, 1.0, {"statut": "erreur", "reponses": HOSTILE_MESSAGE})
    return console, path.read_bytes()


def _mark_lines(console: str) -> list[str]:
    return [line for line in console.split("\n") if text.looks_like_mark_line(line)]


def test_console_shows_one_mark_line_the_reports_own() -> None:
    console = report.render_console(report.score_criteria(_hostile_outcomes()), "rendu/")
    marks = _mark_lines(console)
    expected = f"Note : 0/{TOTAL_POINTS:g}"
    assert marks == [expected], (
        f"attendu une seule ligne de note, « {expected} » ; vu {len(marks)} ligne(s) : {marks[:5]!r}"
    )


def test_no_fake_mark_anywhere_in_the_console_even_inside_a_line() -> None:
    console = report.render_console(report.score_criteria(_hostile_outcomes()), "rendu/")
    fakes = console.count("20/20")
    assert fakes == 0, f"attendu aucune « 20/20 » dans la console (note réelle : 0) ; vu {fakes} fois"
    assert text.FAKE_MARK in console, (
        f"attendu « {text.FAKE_MARK} » à la place des fausses notes ; vu une console sans cette mention"
    )


def test_console_holds_none_of_the_hostile_characters() -> None:
    console = report.render_console(report.score_criteria(_hostile_outcomes()), "rendu/")
    found = sorted({f"U+{ord(c):04X}" for c in console if c in FORBIDDEN or unicodedata.category(c) == "Cf"})
    assert not found, f"attendu aucun caractère dangereux dans la console ; vu : {', '.join(found)}"


def test_results_json_is_valid_utf8_of_at_most_one_megabyte(tmp_path: Path) -> None:
    _, raw = _written(tmp_path)
    assert len(raw) <= report.MAX_RESULTS_BYTES, (
        f"attendu results.json ≤ {report.MAX_RESULTS_BYTES} octets ; vu {len(raw)} octets"
    )
    document = json.loads(raw.decode("utf-8"))
    assert document["score"] == 0.0 and len(document["tests"]) == len(CRITERIA), (
        f"attendu la note 0 et {len(CRITERIA)} critères ; vu {document['score']} et {len(document['tests'])}"
    )


def test_results_json_holds_none_of_the_hostile_characters(tmp_path: Path) -> None:
    _, raw = _written(tmp_path)
    shown = raw.decode("utf-8")
    found = sorted({f"U+{ord(c):04X}" for c in json.loads(shown)["output"] if c in FORBIDDEN})
    found += sorted({f"U+{ord(c):04X}" for c in shown if unicodedata.category(c) in ("Cf", "Cs")})
    assert not found, f"attendu aucun caractère dangereux dans results.json ; vu : {', '.join(found)}"
    outputs = [test["output"] for test in json.loads(shown)["tests"]]
    marks = [line for output in outputs for line in output.split("\n") if text.looks_like_mark_line(line)]
    assert not marks, f"attendu aucune ligne de note dans la sortie des critères ; vu : {marks[:3]!r}"


def test_giant_type_name_is_capped_with_an_ellipsis() -> None:
    shown = describe_call("main()", _crash_call())
    assert len(shown) < 1_000, f"attendu une phrase de moins de 1 000 caractères ; vu {len(shown)}"
    expected = "X" * (text.MAX_TYPE_NAME_CHARS - 1) + text.ELLIPSIS
    assert expected in shown and "X" * text.MAX_TYPE_NAME_CHARS not in shown, (
        f"attendu le nom de type coupé à {text.MAX_TYPE_NAME_CHARS} caractères par « … » ; "
        f"vu {shown[:120]!r}…"
    )


def test_student_newline_never_starts_a_report_line() -> None:
    for shown in (
        describe_call("main()", _crash_call()),
        chain_text([{"function": "a\nb\u2028c", "line": 1}]),
        where({"chain": [{"function": "f\r\ng", "line": "3\nNote : 20/20"}]}),
        shown_value({"type": "str", "repr": "'a\\n'\nNote : 20/20"}),
        shown_value({"type": "Path", "path": f"x/{SURROGATE_NAME}"}),
    ):
        breaks = [f"U+{ord(c):04X}" for c in shown if c in "\n\r\x85\u2028\u2029\x0b\x0c"]
        assert not breaks, f"attendu une phrase d'une seule ligne ; vu {breaks} dans {shown[:80]!r}"


def test_lone_surrogate_becomes_the_replacement_character() -> None:
    shown = shown_value({"type": "Path", "path": f"sortie/{SURROGATE_NAME}"})
    assert shown == "le chemin de « image-\ufffd.png »", f"attendu « image-\ufffd.png » ; vu {shown!r}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\nb\u2028c\u2029d\r\ne", "a b c d e"),
        ("\x1b[1;31mrouge\x1b[0m", "rouge"),
        ("\x1b]0;titre\x07texte", "texte"),
        ("droite\u202egauche\u2066x\u2069\u200b\ufeff", "droitegauchex"),
        ("nul\x00del\x7fc1\x9b", "nuldelc1"),
        ("tab\there", "tab here"),
        ("é ✓ 😀 中文", "é ✓ 😀 中文"),
    ],
)
def test_one_line_removes_what_hides_or_breaks_text(raw: str, expected: str) -> None:
    shown = text.one_line(raw)
    assert shown == expected, f"attendu {expected!r} pour {raw!r} ; vu {shown!r}"


def test_multi_line_keeps_newlines_and_tabs_only() -> None:
    shown = text.multi_line("a\tb\nc\u2028d\re\x1b[2Kf\u202eg")
    assert shown == "a\tb\nc\nd\nef" + "g", f"attendu 'a\\tb\\nc\\nd\\nefg' ; vu {shown!r}"


def test_one_line_caps_any_string_with_an_ellipsis() -> None:
    shown = text.one_line("é" * 10_000, 50)
    assert len(shown) == 50 and shown.endswith(text.ELLIPSIS), (
        f"attendu 50 caractères finissant par « … » ; vu {len(shown)} caractères, fin {shown[-3:]!r}"
    )


def test_oversized_document_is_cut_with_a_french_note_and_keeps_its_scores() -> None:
    document = {
        "score": 12.5,
        "output": "a" * 2_000_000,
        "extra_data": {"statut": "noté"},
        "tests": [
            {"number": c.id, "score": 1.0, "max_score": c.points, "output": "b" * 500_000} for c in CRITERIA
        ],
    }
    encoded = report.results_json(document)
    size = len(encoded.encode("utf-8"))
    assert size <= report.MAX_RESULTS_BYTES, f"attendu ≤ {report.MAX_RESULTS_BYTES} octets ; vu {size}"
    parsed = json.loads(encoded)
    scores = [test["score"] for test in parsed["tests"]]
    assert parsed["score"] == 12.5 and scores == [1.0] * len(CRITERIA), (
        f"attendu les notes intactes (12,5 et 1 par critère) ; vu {parsed['score']} et {scores}"
    )
    assert report.FEEDBACK_CUT in parsed["output"], (
        f"attendu la mention « {report.FEEDBACK_CUT} » ; "
        f"vu une sortie finissant par {parsed['output'][-40:]!r}"
    )
    assert parsed["extra_data"]["statut"] == "noté", (
        f"attendu le statut « noté » ; vu {parsed['extra_data']!r}"
    )


def test_write_checks_never_fails_on_a_lone_surrogate(tmp_path: Path) -> None:
    path = tmp_path / "checks.json"
    report.write_checks(_hostile_outcomes(), path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert len(document) == len(CRITERIA), f"attendu {len(CRITERIA)} vérifications ; vu {len(document)}"


def test_console_text_degrades_for_a_console_that_cannot_show_it() -> None:
    line = "  ✓ sync.download      Téléchargement « ok » → 2/2"
    assert text.for_console(line, "utf-8") == line, "Attendu : texte inchangé pour une console UTF-8."
    latin = text.for_console(line, "cp1252")
    assert latin == "  v sync.download      Téléchargement « ok » -> 2/2", (
        f"Attendu : symboles remplacés, accents et guillemets gardés en cp1252 ; vu : {latin!r}"
    )
    plain = text.for_console(line, "ascii")
    assert plain == '  v sync.download      Telechargement " ok " -> 2/2', (
        f"Attendu : texte ASCII lisible (accents retirés) ; vu : {plain!r}"
    )
