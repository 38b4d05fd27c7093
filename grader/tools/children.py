"""Environment for a child Python process of the kit (server, bench) that imports grader."""

from __future__ import annotations

import os

from grader.engine.paths import KIT_ROOT


def child_environment() -> dict[str, str]:
    """Environment for a child Python process that must import grader and reach 127.0.0.1."""
    env = dict(os.environ)
    # The child runs from a temporary folder: make "grader" importable from there.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(KIT_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"  # French log messages, whatever the console
    env["PYTHONUNBUFFERED"] = "1"  # live output, in the right order
    # A proxy configured in the environment must not intercept requests to our local server.
    no_proxy = ",".join(filter(None, ["127.0.0.1", "localhost", env.get("NO_PROXY")]))
    env["NO_PROXY"] = env["no_proxy"] = no_proxy
    return env
