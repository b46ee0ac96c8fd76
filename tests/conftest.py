"""Fixtures shared by several test files (helper functions live in helpers.py)."""

import pytest
from helpers import run_result, write_study


@pytest.fixture
def study(tmp_path):
    """tests/data/tiny.toml, copied to tiny.toml in the test's folder."""
    return write_study(tmp_path / "tiny.toml", "tiny")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return run_result(tmp_path_factory, "small")


@pytest.fixture(scope="module")
def collapsed(tmp_path_factory):
    return run_result(tmp_path_factory, "collapsed")


@pytest.fixture(scope="module")
def nested(tmp_path_factory):
    """tests/data/small.toml with 10 runs per parameter draw (200 draws, epistemic.MIN_DRAWS): parameter intervals."""
    return run_result(tmp_path_factory, "small", runs_per_draw=10)
