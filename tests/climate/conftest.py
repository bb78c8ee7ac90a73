"""Fixtures: the ClimateBench release layout, written by tests/climate/release_files.py."""
from __future__ import annotations

import pytest

from tests.climate.release_files import linear_pattern, write_release


@pytest.fixture
def release(tmp_path):
    """Outputs that are noise: the layout and schema, not a climate."""
    return write_release(tmp_path)


@pytest.fixture
def linear_release(tmp_path):
    """Outputs that linear pattern scaling reproduces exactly (member means), for truth checks."""
    return write_release(tmp_path / "release", pattern=linear_pattern())
