"""``python -m grader.tools.grade_command ARGS``: the grade as ``nox -s grade`` runs it.

It is ``python -m pytest grader ARGS`` (the grader's plugin, the same options), with one
difference a student sees: a Ctrl-C that comes while pytest is still importing ends with the
same French line as a Ctrl-C during the grade, instead of Python's traceback. Only the
standard library and two small engine modules are imported before that guard is in place.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from grader.engine.paths import KIT_ROOT
from grader.engine.statuses import INTERRUPTED
from grader.engine.text import for_console

INTERRUPTED_EXIT = 2  # pytest's own ExitCode.INTERRUPTED, whatever the moment of the Ctrl-C


def _pytest_main(arguments: list[str]) -> int:
    import pytest  # here, under the guard: this import is most of the start-up

    return int(pytest.main(arguments))


def main(argv: Sequence[str], run: Callable[[list[str]], int] = _pytest_main) -> int:
    try:
        return run([str(KIT_ROOT / "grader"), *argv])
    except KeyboardInterrupt:
        sys.stderr.write(for_console(INTERRUPTED + "\n", sys.stderr.encoding))
        return INTERRUPTED_EXIT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
