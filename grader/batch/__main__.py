"""python -m grader.batch: see :mod:`grader.batch.cli`."""

import sys

from grader.batch.cli import main

sys.exit(main())
