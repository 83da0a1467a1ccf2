"""Shared fixtures.

Real recordings are read from ``$PARASPINAL_TEST_DATA`` (CI sets it to ``../shared/data``).
When the variable is unset, tests that need them are skipped with a message saying so;
when it is set but the folder is missing, they fail, because that is a broken set-up.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


def _data_root() -> Path | None:
    value = os.environ.get("PARASPINAL_TEST_DATA")
    return Path(value) if value else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of real recordings (``$PARASPINAL_TEST_DATA``)."""
    root = _data_root()
    if root is None:
        pytest.skip("PARASPINAL_TEST_DATA is not set: the real-recording tests need it (CI sets ../shared/data)")
    if not root.is_dir():
        pytest.fail(f"PARASPINAL_TEST_DATA={root} is not a folder")
    return root


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)
