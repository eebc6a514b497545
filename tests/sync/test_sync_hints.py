"""A sync asks only for what changed: the server's answer to `GET /device` names a digest of the site's
users and its newest study version, and a laptop that holds them fetches neither. A central change to
a user still reaches the laptop at its next sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from live_server import PASSWORD, LiveServer, backends, database_url, laptop, open_server_db, site_with_users
from proxy import Proxy
from sqlalchemy.orm import Session
from sync_fixtures import sync

from cik_ecrf.server import admin, authorship
from cik_ecrf.store.api import Store
from cik_ecrf.store.errors import AuthError

USERS = (("nurse1", "nurse"), ("nurse2", "nurse"), ("dr.li", "investigator"))
NEW_PASSWORD = "Lantern-5-harbour"


@pytest.fixture(params=backends())
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine, users=USERS)
        yield engine
        engine.dispose()


def counts(proxy: Proxy) -> dict[bytes, int]:
    with proxy.lock:
        return dict(proxy.seen)


def test_a_sync_with_nothing_new_fetches_neither_users_nor_study_versions(
    engine: Any, tmp_path: Path, study: Any
) -> None:
    with LiveServer(engine) as server, Proxy(server.port) as proxy:
        store = laptop(tmp_path / "a", proxy.url, "nurse1", study)
        sync(store)  # the first: the users come
        first = counts(proxy)
        assert first.get(b"/users") == 1
        # the server has published no version beyond the shipped one, which the laptop holds: nothing to
        # fetch (a published version is fetched at the next sync: tests/amendments)
        assert first.get(b"/study/versions", 0) == 0
        sync(store)
        sync(store)
        after = counts(proxy)
        assert after[b"/pull"] == first[b"/pull"] + 2 and after[b"/device"] == first[b"/device"] + 2
        assert after.get(b"/users") == first[b"/users"]
        assert after.get(b"/study/versions", 0) == 0

        admin.set_password(engine, "nurse2", NEW_PASSWORD)  # the site's users change centrally
        sync(store)
        assert counts(proxy)[b"/users"] == first[b"/users"] + 1
        store.close()
    with Store.open(tmp_path / "a", "nurse2", NEW_PASSWORD, study):
        pass
    with pytest.raises(AuthError):
        Store.open(tmp_path / "a", "nurse2", PASSWORD, study)  # the old password opens nothing here


def test_the_users_digest_changes_with_everything_the_laptops_are_sent(engine: Any) -> None:
    def digest() -> str:
        with Session(engine) as session:
            return authorship.users_etag(session, "BJ01")

    seen = [digest()]
    assert digest() == seen[0]  # the same users: the same digest
    for change in (
        lambda: admin.set_password(engine, "nurse2", NEW_PASSWORD),  # new keys, locked under it
        lambda: admin.set_active(engine, "dr.li", False),
        lambda: admin.add_user(engine, "nurse3", "nurse", "BJ01", PASSWORD),
    ):
        change()
        seen.append(digest())
    assert len(set(seen)) == len(seen), seen
    admin.set_active(engine, "nurse3", False)
    admin.set_active(engine, "nurse3", True)
    assert digest() == seen[-1]  # back to what the laptops were sent: nothing new to fetch
