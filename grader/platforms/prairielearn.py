"""PrairieLearn: our results in the external grader's results.json.

    python -m grader.platforms.prairielearn RESULTS_JSON [SORTIE]
    python -m grader.platforms.prairielearn --grade /grade/student [SORTIE]

SORTIE defaults to /grade/results/results.json. PrairieLearn wants ``score`` in [0, 1],
``gradable``, ``message``, ``output`` and ``tests[]`` (name, description, points,
max_points, message, output).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.batch.outcome import write_json_atomically
from grader.platforms.grading import failure_document, grade_folder, load, summary_lines

DEFAULT_OUT = Path("/grade/results/results.json")


def to_prairielearn(document: Mapping[str, Any], gradable: bool = True) -> dict[str, Any]:
    """Pure conversion; ``gradable=False`` tells PrairieLearn not to count the attempt."""
    report = load(document)
    lines = summary_lines(report, document)
    fraction = report.score / report.max_score if report.max_score else 0.0
    return {
        "gradable": gradable,
        "score": min(1.0, max(0.0, round(fraction, 4))),
        "message": lines[0],
        "output": "\n".join(lines),
        "tests": [
            {
                "name": test.number,
                "description": test.name,
                "points": test.score,
                "max_points": test.max_score,
                "message": "Critère validé." if test.passed else test.output.split("\n", 1)[0],
                "output": test.output,
            }
            for test in report.tests
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.platforms.prairielearn", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "source", type=Path, help="results.json du correcteur (ou, avec --grade, le dossier du rendu)"
    )
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT, help=f"défaut : {DEFAULT_OUT}")
    parser.add_argument("--grade", action="store_true", help="corriger d'abord le dossier SOURCE")
    arguments = parser.parse_args(argv)
    gradable = True
    try:
        if arguments.grade:
            document = grade_folder(arguments.source)
        else:
            document = json.loads(arguments.source.read_text(encoding="utf-8"))
            load(document)  # refuses a file that is not a grader's results
    except Exception as error:  # PrairieLearn must get a result, whatever happened
        document, gradable = failure_document(f"{type(error).__name__} : {error}"), False
    converted = to_prairielearn(document, gradable)
    write_json_atomically(arguments.out, converted)
    print(f"{converted['message']} → {arguments.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
