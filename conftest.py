"""Settings for every test of the repository (the core's in tests/ and each plugin's)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _warnings_seen_afresh():
    """Each test sees the once-per-process warnings its own set-up causes, whatever tests
    the same process ran before it (``formsengine.plugins.warn_once``)."""
    from formsengine.testing import forget_warnings

    forget_warnings()
    yield
