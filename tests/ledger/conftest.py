"""Fixtures of the ledger tests."""

from __future__ import annotations

import pytest

from sample_log import Log, make_log


@pytest.fixture(scope="session")
def log() -> Log:
    """A signed log of 50 entries."""
    return make_log(50)
