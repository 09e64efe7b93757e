"""Fixtures of the end-to-end tests (their helpers are in :mod:`tests.support.processes`)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An EMPTY SQLite file or this session's emptied PostgreSQL database (``remit up`` must migrate it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'remit.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url
