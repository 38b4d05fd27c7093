"""GitHub Classroom: our results in the format of classroom-resources/autograding-grading-reporter.

The reporter reads, for each runner id listed in its ``runners`` input, the environment
variable ``<ID>_RESULTS``: base64 of a JSON object {version, status, max_score, tests[]}
where each test has name, status ("pass"/"fail"/"error"), score and message. It adds up
the tests' scores, so half points (0,5 and 1,5 in our scale) survive, unlike the stock
command grader that only gives all or nothing.

    python -m grader.platforms.classroom [DOSSIER]            # grades skeleton/ by default
    python -m grader.platforms.classroom --from-results results.json

The base64 text goes to ``$GITHUB_OUTPUT`` as ``result=…`` (step output ``result``), or to
standard output with ``--print``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.engine.statuses import GradeStatus
from grader.platforms.grading import failure_document, grade_folder, load, summary_lines

RUNNER_ID = "correction"  # the workflow's step id: the reporter reads CORRECTION_RESULTS


def to_classroom(document: Mapping[str, Any]) -> dict[str, Any]:
    """Pure conversion to the reporter's runner result."""
    report = load(document)
    tests = [
        {
            "name": f"{test.number} — {test.name}",
            "status": "pass" if test.passed else "fail",
            "score": test.score,
            "message": test.output,
            "line_no": 0,
            "execution_time": "",
            "test_code": f"pytest grader (critère {test.number})",
        }
        for test in report.tests
    ]
    not_run = report.statut in (GradeStatus.ERROR, GradeStatus.TIMED_OUT) and report.score == 0
    status = "error" if not_run else "pass" if report.score >= report.max_score else "fail"
    return {"version": 1, "status": status, "max_score": report.max_score, "tests": tests}


def encode(result: Mapping[str, Any]) -> str:
    return base64.b64encode(json.dumps(result, ensure_ascii=False).encode("utf-8")).decode("ascii")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.platforms.classroom", description=__doc__.split("\n")[0]
    )
    parser.add_argument("folder", nargs="?", type=Path, default=Path("skeleton"), help="dossier corrigé")
    parser.add_argument(
        "--from-results", type=Path, default=None, help="convertir ce results.json sans corriger"
    )
    parser.add_argument("--print", action="store_true", help="écrire le base64 sur la sortie standard")
    arguments = parser.parse_args(argv)
    if arguments.from_results is not None:
        document = json.loads(arguments.from_results.read_text(encoding="utf-8"))
    else:
        try:
            document = grade_folder(arguments.folder)
        except Exception as error:  # the reporter must get a result, whatever happened
            document = failure_document(f"{type(error).__name__} : {error}")
    encoded = encode(to_classroom(document))
    for line in summary_lines(load(document), document):
        print(line, file=sys.stderr if arguments.print else sys.stdout)
    github_output = os.environ.get("GITHUB_OUTPUT")
    if arguments.print or not github_output:
        print(encoded)
    if github_output:
        with open(github_output, "a", encoding="utf-8") as stream:
            stream.write(f"result={encoded}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
