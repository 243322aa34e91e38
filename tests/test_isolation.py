"""Tests that share a process do not share what was warned: a warning logged once per process
(``warn_once``) is logged again for the next test that causes it."""

from __future__ import annotations

from pathlib import Path

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

INNER = '''
import logging

import pytest

from formsengine.plugins import warn_once


@pytest.mark.parametrize("turn", [1, 2, 3])
def test_the_same_warning_in_each_test(turn, caplog):
    with caplog.at_level(logging.WARNING):
        warn_once("warning: the definition file of an isolation check is missing")
    assert "isolation check is missing" in caplog.text
'''


def _root_conftest_without_its_plugins() -> str:
    """The root conftest without its ``pytest_plugins`` line (pytester is loaded already);
    fails plainly if that line is no longer there to strip."""
    text = ROOT_CONFTEST.read_text()
    kept = [line for line in text.splitlines() if not line.startswith("pytest_plugins")]
    assert len(kept) == len(text.splitlines()) - 1, "the root conftest's pytest_plugins line"
    return "\n".join(kept) + "\n"


def test_a_warning_logged_in_one_test_is_logged_again_in_the_next(pytester):
    # the repository's own conftest, as every test of the suite runs under it
    pytester.makeconftest(_root_conftest_without_its_plugins())
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=3)


def test_without_forgetting_the_second_test_would_see_nothing(pytester):
    # the same tests with no conftest: the check above is one that could fail
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=2)
