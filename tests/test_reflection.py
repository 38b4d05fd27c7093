"""grader/reflection.py: the reflection answer is found, counted, reported and capped, never graded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.engine.paths import KIT_ROOT
from grader.engine.reflection import (
    ANSWERS_FILE,
    MARKER,
    MAX_ANSWER_CHARS,
    Reflection,
    Status,
    answer_for_results,
    count_words,
    extract_answer,
    read_answer,
    render_block,
)
from tests.pristine import pristine_skeleton

QUESTION = "# Question\n\nPourquoi ?\n\n"


def _folder(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / ANSWERS_FILE
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return tmp_path


def test_untouched_skeleton_has_the_marker_and_no_answer() -> None:
    reflection = read_answer(pristine_skeleton().folder)
    assert reflection.status is Status.EMPTY and reflection.words == 0, (
        f"attendu : squelette intact avec le repère et sans réponse ; vu {reflection}"
    )


def test_solution_holds_a_model_answer_with_the_demo_figures() -> None:
    reflection = read_answer(KIT_ROOT / "solution")
    assert reflection.status is Status.WRITTEN and reflection.words >= 150, (
        f"attendu : une réponse modèle d'au moins 150 mots dans solution/ ; vu {reflection.status}, "
        f"{reflection.words} mots"
    )
    assert "sync " in reflection.answer and "async " in reflection.answer and " s " in reflection.answer, (
        "attendu : les durées mesurées par la démonstration dans la réponse modèle ; "
        f"vu {reflection.answer[:300]!r}"
    )


def test_skeleton_and_solution_ask_the_same_question() -> None:
    skeleton = (pristine_skeleton().folder / ANSWERS_FILE).read_text(encoding="utf-8")
    solution = (KIT_ROOT / "solution" / ANSWERS_FILE).read_text(encoding="utf-8")
    asked = [text.partition(MARKER)[0] for text in (skeleton, solution)]
    assert asked[0] == asked[1], (
        "attendu : le même texte au-dessus du repère dans skeleton/ et solution/ ; "
        f"vu {len(asked[0])} et {len(asked[1])} caractères différents"
    )


def test_written_answer_is_read_below_the_marker_only(tmp_path: Path) -> None:
    folder = _folder(tmp_path, f"{QUESTION}{MARKER}\n\nL'asynchrone recouvre les attentes réseau.\n")
    reflection = read_answer(folder)
    expected = Reflection(Status.WRITTEN, "L'asynchrone recouvre les attentes réseau.", 5)
    assert reflection == expected, f"attendu {expected} ; vu {reflection}"


def test_comments_and_blank_lines_alone_are_no_answer(tmp_path: Path) -> None:
    folder = _folder(tmp_path, f"{QUESTION}{MARKER}\n\n<!-- écrivez ici -->\n  \n")
    reflection = read_answer(folder)
    assert reflection.status is Status.EMPTY, f"attendu : réponse vide ; vu {reflection}"
    assert "pas encore de réponse" in render_block(reflection), (
        f"attendu « pas encore de réponse » ; vu {render_block(reflection)!r}"
    )


@pytest.mark.parametrize(
    ("content", "status"),
    [
        pytest.param(None, Status.MISSING, id="fichier absent"),
        pytest.param(f"{QUESTION}Ma réponse sans repère.", Status.NO_MARKER, id="repère supprimé"),
        pytest.param(b"\xff\xfe" + MARKER.encode("utf-16-le"), Status.UNREADABLE, id="pas en UTF-8"),
    ],
)
def test_missing_or_damaged_file_is_reported_without_raising(
    tmp_path: Path, content: str | bytes | None, status: Status
) -> None:
    folder = tmp_path if content is None else _folder(tmp_path, content)
    reflection = read_answer(folder)
    assert reflection.status is status and reflection.answer == "", (
        f"attendu le statut {status.value} sans réponse ; vu {reflection}"
    )
    block = render_block(reflection)
    assert block.startswith("Question de réflexion (non notée) : ") and ANSWERS_FILE in block, (
        f"attendu un bloc qui nomme {ANSWERS_FILE} ; vu {block!r}"
    )


def test_windows_line_endings_and_bom_are_accepted(tmp_path: Path) -> None:
    folder = _folder(tmp_path, f"\ufeff{QUESTION}{MARKER}\r\n\r\nUne réponse.\r\n".encode())
    reflection = read_answer(folder)
    assert (reflection.status, reflection.answer) == (Status.WRITTEN, "Une réponse."), (
        f"attendu « Une réponse. » lue malgré CRLF et BOM ; vu {reflection}"
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", 0),
        ("  \n\t ", 0),
        ("Un deux trois", 3),
        ("l'asynchrone, l’attente et les entrées-sorties", 5),
        ("sync 4,09 s ; async 0,25 s (×16,3)", 7),
        ("texte <!-- commentaire ignoré --> visible", 2),
        ("— * _ ; :", 0),
    ],
)
def test_count_words(text: str, words: int) -> None:
    assert count_words(text) == words, f"attendu {words} mot(s) dans {text!r} ; vu {count_words(text)}"


def test_report_block_gives_the_word_count_and_points_to_the_demo() -> None:
    block = render_block(Reflection(Status.WRITTEN, "x " * 142, 142))
    expected = (
        "Question de réflexion (non notée) : réponse écrite, 142 mots ; appuyez-la sur vos propres "
        "chiffres de « poetry run -- nox -s demo -- skeleton »."
    )
    assert block == expected, f"attendu {expected!r} ; vu {block!r}"
    single = render_block(Reflection(Status.WRITTEN, "Oui.", 1))
    assert "1 mot ;" in single, f"attendu « 1 mot ; » au singulier ; vu {single!r}"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            "Mesures (nox -s demo, 20 images, latence de 200 ms) : sync 4,09 s ; async 0,25 s (×16,3)",
            "réponse écrite, 3 mots, avec vos mesures.",
        ),
        ("La version synchrone prend 4,1 s et l'autre 0,3 s.", "réponse écrite, 3 mots, avec vos mesures."),
        (
            "La version synchrone prend 4,1 s, bien plus.",
            "réponse écrite, 3 mots ; une seule durée y figure : ajoutez l'autre (sync ou async), donnée "
            "par « poetry run -- nox -s demo -- skeleton ».",
        ),
        (
            "Mesures (nox -s demo, 20 images, latence de 200 ms) : sync 4,09 s ; async pas encore mesuré",
            "réponse écrite, 3 mots ; la ligne de mesures collée dit encore « pas encore mesuré » : "
            "finissez les deux parties, relancez « poetry run -- nox -s demo -- skeleton » et collez la "
            "nouvelle ligne.",
        ),
    ],
    ids=["ligne-collee", "deux-durees", "une-duree", "pas-encore-mesure"],
)
def test_report_block_asks_only_for_the_figures_still_missing(answer: str, expected: str) -> None:
    block = render_block(Reflection(Status.WRITTEN, answer, 3))
    assert block == f"Question de réflexion (non notée) : {expected}", (
        f"attendu « … : {expected} » ; vu {block!r}"
    )


def test_answer_for_results_strips_control_characters_and_keeps_lines() -> None:
    reflection = Reflection(Status.WRITTEN, "Ligne 1\x00\x1b[31m\nLigne\t2\x7f é \u202e✓", 4)
    cleaned = answer_for_results(reflection)
    assert cleaned == "Ligne 1\nLigne\t2 é ✓", (
        f"attendu les caractères de contrôle, la séquence d'échappement et U+202E retirés ; vu {cleaned!r}"
    )
    json.dumps({"answer": cleaned}, ensure_ascii=False).encode("utf-8")


def test_answer_for_results_is_capped(tmp_path: Path) -> None:
    folder = _folder(tmp_path, f"{MARKER}\n" + "mot " * 5000)
    capped = answer_for_results(read_answer(folder))
    assert len(capped) <= MAX_ANSWER_CHARS and capped.endswith("[…]"), (
        f"attendu au plus {MAX_ANSWER_CHARS} caractères terminés par « […] » ; "
        f"vu {len(capped)} caractères, fin {capped[-10:]!r}"
    )
    short = Reflection(Status.WRITTEN, "court", 1)
    assert answer_for_results(short) == "court", (
        f"attendu « court » inchangé ; vu {answer_for_results(short)!r}"
    )


def test_extract_answer_takes_everything_after_the_first_marker() -> None:
    status, answer = extract_answer(f"{MARKER}\nA\n{MARKER}\nB")
    assert (status, answer) == (Status.WRITTEN, "A\n\nB"), (
        f"attendu « A » puis « B » (le second repère, un commentaire, est retiré) ; vu {status}, {answer!r}"
    )
