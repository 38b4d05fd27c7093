"""Adapters to grading platforms: Gradescope, GitHub Classroom, PrairieLearn.

Each one is a pure converter from our results.json (Gradescope-shaped, see
:mod:`grader.batch.results`) to the platform's format, plus a small command line that
grades a folder first when asked (:mod:`grader.platforms.grading`).
"""
