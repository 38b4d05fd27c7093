"""Compatibility fix for aioresponses 0.7.9 under aiohttp >= 3.14.

aiohttp 3.14 made ``stream_writer`` a required argument of ``ClientResponse``; aioresponses
0.7.9 does not pass it, so every mocked request fails with
``ClientResponse.__init__() missing 1 required keyword-only argument: 'stream_writer'``
(upstream: pnuckowski/aioresponses#289). ``MockedAiohttp`` probes aioresponses once and
only then supplies a stand-in writer: once upstream is fixed, the probe passes and the fix
switches itself off.
"""

from __future__ import annotations

import functools
from typing import Any
from unittest import mock

from aiohttp import ClientResponse
from aioresponses import aioresponses
from aioresponses.core import RequestMatch
from yarl import URL


class _SentRequestWriter:
    """Stands for the writer of a request that was already sent (all ClientResponse reads)."""

    output_size = 0


class _CompatClientResponse(ClientResponse):
    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _SentRequestWriter())
        super().__init__(method, url, **kwargs)


@functools.cache
def fix_needed() -> bool:
    """True when this aioresponses cannot build a response under this aiohttp."""
    try:
        RequestMatch("http://probe.invalid/")._build_response(URL("http://probe.invalid/"))
    except TypeError as error:
        return "stream_writer" in str(error)
    return False


_original_build_response = RequestMatch._build_response


def _build_response_with_writer(self: RequestMatch, *args: Any, **kwargs: Any) -> ClientResponse:
    if kwargs.get("response_class") is None:
        kwargs["response_class"] = _CompatClientResponse
    return _original_build_response(self, *args, **kwargs)


class MockedAiohttp(aioresponses):
    """aioresponses, with the fix above while it is needed."""

    def start(self) -> None:
        if fix_needed():
            self._compat_patch = mock.patch.object(
                RequestMatch, "_build_response", _build_response_with_writer
            )
            self._compat_patch.start()
        super().start()

    def stop(self) -> None:
        super().stop()
        if fix_needed():
            self._compat_patch.stop()
