"""Grading a whole class on one machine: ``python -m grader.batch DOSSIER``.

One module per job: :mod:`~grader.batch.discovery` finds each student's two files,
:mod:`~grader.batch.staging` copies them to a private folder, :mod:`~grader.batch.runner`
grades one copy in a grader subprocess, :mod:`~grader.batch.cache` skips unchanged
submissions, :mod:`~grader.batch.gradebook` and :mod:`~grader.batch.report_html` write the
outputs, :mod:`~grader.batch.run` ties them together and :mod:`~grader.batch.cli` is the
command line. Student code is never imported here: only the grader subprocess runs it.
"""
