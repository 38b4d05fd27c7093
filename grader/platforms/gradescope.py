"""Gradescope: our results as Gradescope's results.json, and the grading run of run_autograder.

    python -m grader.platforms.gradescope run --submission /autograder/submission \\
        --results /autograder/results/results.json
    python -m grader.platforms.gradescope convert RESULTS_JSON SORTIE_JSON

Spec: https://gradescope-autograders.readthedocs.io/en/latest/specs/ (score, execution_time,
output, output_format, visibility, stdout_visibility, extra_data, tests[]).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.batch.outcome import write_json_atomically
from grader.engine.french_numbers import fr_number
from grader.platforms.grading import comments, failure_document, grade_folder, load

VISIBILITY = "visible"  # formative work: students see their feedback at once


# Batch bookkeeping that means nothing on Gradescope.
_BATCH_ONLY = frozenset({"etudiant", "dossier", "duree_correction", "cle_reprise"})


def _kept(extra: object) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if k not in _BATCH_ONLY} if isinstance(extra, dict) else {}


def to_gradescope(document: Mapping[str, Any], execution_time: float | None = None) -> dict[str, Any]:
    """Pure conversion; keeps the engine's own top-level keys when it already wrote them."""
    report = load(document)
    lost = [test for test in report.tests if not test.passed]
    lines = [
        f"**Note : {fr_number(report.score, trim=True)}/{fr_number(report.max_score, trim=True)}** "
        f"(statut : {report.statut})",
        "",
    ]
    lines += [f"- Remarque sur le rendu : {comment}" for comment in comments(document)]
    if lost:
        lines += ["", "Critères à revoir (détail dans chaque test ci-dessous) :"]
        lines += [
            f"- `{t.number}` {t.name} : {fr_number(t.score, trim=True)}/{fr_number(t.max_score, trim=True)}"
            for t in lost
        ]
    else:
        lines.append("Tous les critères sont validés. Bravo !")
    elapsed = report.execution_time if report.execution_time is not None else execution_time
    extra = document.get("extra_data")
    result: dict[str, Any] = {
        "score": report.score,
        "output": str(document.get("output") or "\n".join(lines)),
        "output_format": str(document.get("output_format") or "md"),
        "test_output_format": "simple_format",
        "visibility": str(document.get("visibility") or VISIBILITY),
        "stdout_visibility": "hidden",
        "extra_data": {**_kept(extra), "statut": report.statut},
        "tests": [
            {
                "number": test.number,
                "name": test.name,
                "score": test.score,
                "max_score": test.max_score,
                "status": "passed" if test.passed else "failed",
                "output": test.output,
                "output_format": "simple_format",
                "visibility": VISIBILITY,
            }
            for test in report.tests
        ],
    }
    if elapsed is not None:
        result["execution_time"] = round(elapsed, 2)
    return result


def run(submission: Path, results: Path) -> int:
    """Grades Gradescope's submission folder; always writes a valid results.json."""
    start = time.perf_counter()
    try:
        document = grade_folder(submission)
    except Exception as error:  # the platform must get a result, whatever happened
        traceback.print_exc()
        document = failure_document(f"{type(error).__name__} : {error}")
    converted = to_gradescope(document, time.perf_counter() - start)
    write_json_atomically(results, converted)
    mark = fr_number(converted["score"], trim=True)
    print(f"Note : {mark}/20 ({converted['extra_data']['statut']}) → {results}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.platforms.gradescope", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="corrige un rendu et écrit le results.json de Gradescope")
    run_parser.add_argument("--submission", type=Path, default=Path("/autograder/submission"))
    run_parser.add_argument("--results", type=Path, default=Path("/autograder/results/results.json"))
    convert = commands.add_parser("convert", help="convertit un results.json du correcteur")
    convert.add_argument("source", type=Path, help="results.json écrit par le correcteur")
    convert.add_argument("out", type=Path, help="fichier à écrire")
    build = commands.add_parser("build", help="construit dist/autograder.zip")
    build.add_argument("--out", type=Path, default=None, help="chemin du zip (défaut : dist/autograder.zip)")
    arguments = parser.parse_args(argv)
    if arguments.command == "run":
        return run(arguments.submission, arguments.results)
    if arguments.command == "convert":
        document = json.loads(arguments.source.read_text(encoding="utf-8"))
        write_json_atomically(arguments.out, to_gradescope(document))
        return 0
    from grader.platforms.gradescope_zip import build_zip

    path = build_zip(arguments.out)
    print(f"Autograder Gradescope : {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
