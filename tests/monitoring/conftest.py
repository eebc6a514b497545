"""Monitoring tests: laptops of one site through a live server (SQLite; PostgreSQL too when configured)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "server"))
sys.path.insert(0, str(HERE.parent / "sync"))

from devices import close_clients  # noqa: E402
from live_server import LiveServer, backends, database_url, open_server_db, site_with_users  # noqa: E402

USERS = (
    ("nurse1", "nurse"),
    ("nurse2", "nurse"),
    ("inv1", "investigator"),
    ("mon1", "monitor"),
    ("mon2", "monitor"),
    ("dm1", "data_manager"),
)


@pytest.fixture(autouse=True)
def _closed_clients() -> Iterator[None]:
    yield
    close_clients()


@pytest.fixture(params=backends())
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine, "BJ01", USERS)
        with LiveServer(engine) as live:
            live.database_url = url  # type: ignore[attr-defined]
            yield live
        engine.dispose()
