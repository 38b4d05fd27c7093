"""Shared by the grader (``pytest grader``) and the kit's tests (``pytest``): pytest settings only.

``pyproject.toml`` sets ``asyncio_default_fixture_loop_scope`` for pytest-asyncio (without it,
pytest-asyncio warns on every run of the kit's tests). The grader runs with
``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`` (faster start-up), so pytest-asyncio is not loaded there
and pytest would warn « Unknown config option » under ``-v``. Declaring the option here, only
when pytest-asyncio is absent, silences that warning without loading the plugin.
"""

from __future__ import annotations

import pytest

PYTEST_ASYNCIO_OPTIONS = ("asyncio_default_fixture_loop_scope",)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if pluginmanager.has_plugin("asyncio"):  # pytest-asyncio declares its own options
        return
    for name in PYTEST_ASYNCIO_OPTIONS:
        parser.addini(name, help="option de pytest-asyncio (plugin non chargé ici : sans effet)")
