"""Device binding, restored laptops and offline signatures: over the live-server harness of tests/server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for folder in (HERE.parent / "server", HERE.parent / "sync"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from devices import close_clients  # noqa: E402
from live_server import backends, database_url, open_server_db, site_with_users  # noqa: E402


@pytest.fixture(autouse=True)
def _closed_clients() -> Iterator[None]:
    yield
    close_clients()


@pytest.fixture(params=backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh server database (SQLite; PostgreSQL too when configured) with sites BJ01 and SH02."""
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(
            engine,
            "BJ01",
            (("nurse1", "nurse"), ("nurse2", "nurse"), ("inv1", "investigator"), ("mon1", "monitor")),
        )
        site_with_users(engine, "SH02", (("nurse9", "nurse"),))
        engine.dispose()
        yield url
