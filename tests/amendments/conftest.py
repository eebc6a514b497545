"""Amendment tests use the live-server harness of tests/server and the sync helpers of tests/sync."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from amend import Site  # noqa: E402
from live_server import LiveServer, backends, database_url, open_server_db, site_with_users  # noqa: E402


@pytest.fixture(params=backends())
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(
            engine, users=(("nurse1", "nurse"), ("nurse2", "nurse"), ("nurse3", "nurse"), ("monitor1", "monitor"))
        )
        with LiveServer(engine) as live:
            made = Site(tmp_path, url, live)
            yield made
            for store in made.laptops:
                store.close()
        engine.dispose()
