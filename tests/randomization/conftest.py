"""Randomization tests: a live server over SQLite (and PostgreSQL when configured) with a generated
allocation list, and laptops enrolled with it (the harness of tests/server)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from devices import close_clients  # noqa: E402
from live_server import LiveServer, backends, database_url, open_server_db, site_with_users  # noqa: E402
from trial import Trial  # noqa: E402

USERS = (
    ("nurse1", "nurse"),
    ("inv1", "investigator"),
    ("inv2", "investigator"),
    ("dm1", "data_manager"),
    ("mon1", "monitor"),
    ("pharm1", "pharmacist"),
    ("stat1", "statistician"),
)


@pytest.fixture(autouse=True)
def _closed_clients() -> Iterator[None]:
    yield
    close_clients()


@pytest.fixture(params=backends())
def trial(request: pytest.FixtureRequest, tmp_path: Path, study) -> Iterator[Trial]:
    """Site BJ01 (nurse, two investigators, data manager, monitor, pharmacist, statistician), site SH02
    (an investigator), a generated allocation list, and the server live on loopback."""
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine, "BJ01", USERS)
        site_with_users(engine, "SH02", (("inv9", "investigator"),))
        with LiveServer(engine) as live:
            made = Trial(live, engine, url, tmp_path, study)
            made.generate()
            yield made
        engine.dispose()
