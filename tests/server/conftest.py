"""Server tests: a live server over a fresh database per test (SQLite; PostgreSQL too when configured)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from devices import close_clients
from live_server import LiveServer, backends, database_url, open_server_db, site_with_users


@pytest.fixture(autouse=True)
def _closed_clients() -> Iterator[None]:
    """Every HTTP client a test made through devices.py is closed when the test ends."""
    yield
    close_clients()


@pytest.fixture(params=backends())
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine, "BJ01", (("nurse1", "nurse"), ("nurse2", "nurse"), ("mon1", "monitor")))
        site_with_users(engine, "SH02", (("nurse9", "nurse"),))
        with LiveServer(engine) as live:
            live.database_url = url  # type: ignore[attr-defined]
            yield live
        engine.dispose()
