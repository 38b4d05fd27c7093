"""The grading engine: supervisor, worker harness, criteria, outcomes and report."""
