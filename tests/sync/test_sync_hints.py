"""A sync asks only for what changed: the server's answer to `GET /device` names a digest of the site's
users, its newest study version and whether anything waits after the laptop's pull cursor, and a laptop
that holds them fetches none of them. A central change to a user, and another laptop's change, still
reach the laptop at its next sync; a cursor the server cannot vouch for is never answered "nothing"."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import PASSWORD, LiveServer, backends, database_url, laptop, open_server_db, site_with_users
from proxy import Proxy
from sqlalchemy.orm import Session
from sync_fixtures import VITALS, save, sync, values

from cik_ecrf.server import admin, authorship
from cik_ecrf.store.api import Store
from cik_ecrf.store.errors import AuthError
from cik_ecrf.sync.device_protocol import PULL_NEWS

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
        sync(store)  # sends what the first one recorded (the users it was given, audited): then pulls too
        second = counts(proxy)
        assert second[b"/push"] == first[b"/push"] + 1 and second[b"/pull"] == first[b"/pull"] + 1
        sync(store)
        sync(store)
        after = counts(proxy)
        # nothing to send, nothing after the cursor: a sync is one request
        assert (after[b"/push"], after[b"/pull"]) == (second[b"/push"], second[b"/pull"])
        assert after[b"/device"] == second[b"/device"] + 2
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


def test_another_laptops_change_is_pulled_and_another_sites_is_not_waited_for(
    engine: Any, tmp_path: Path, study: Any
) -> None:
    admin.add_site(engine, "SH02", "Site SH02")
    admin.add_user(engine, "nurse.sh", "nurse", "SH02", PASSWORD)
    with LiveServer(engine) as server, Proxy(server.port) as proxy:
        a = laptop(tmp_path / "a", proxy.url, "nurse1", study)
        b = laptop(tmp_path / "b", server.url, "nurse2", study)
        other_site = laptop(tmp_path / "sh", server.url, "nurse.sh", study)
        sync(a)
        pulls = counts(proxy)[b"/pull"]

        subject = b.add_subject()
        save(b, subject, "D1", "vitals", VITALS)
        sync(b)
        outcome = sync(a)  # the server said "some": the pull runs and brings b's form
        assert counts(proxy)[b"/pull"] > pulls and outcome.pulled > 0
        assert values(a, subject)[("D1", "vitals")]["HR"] == 80

        pulls = counts(proxy)[b"/pull"]
        there = other_site.add_subject()
        save(other_site, there, "D1", "vitals", VITALS)
        sync(other_site)  # the server's log moves on, but nothing of it is this site's
        assert sync(a).pulled == 0
        assert counts(proxy)[b"/pull"] == pulls

        save(a, subject, "D7", "vitals", VITALS)
        sync(a)  # a laptop that pushed pulls too (a push can make changes of the server's to pull)
        assert counts(proxy)[b"/pull"] == pulls + 1
        for store in (a, b, other_site):
            store.close()


def test_the_device_answer_vouches_only_for_a_cursor_the_server_knows(engine: Any, tmp_path: Path, study: Any) -> None:
    with LiveServer(engine) as server:
        store = laptop(tmp_path / "a", server.url, "nurse1", study)
        subject = store.add_subject()
        save(store, subject, "D1", "vitals", VITALS)
        sync(store)
        settings = store.sync_settings()
        token, epoch, cursor, cursor_id = (
            settings["token"],
            settings["epoch"],
            settings["cursor"],
            settings["cursor_id"],
        )
        store.close()
        assert cursor is not None and int(cursor) > 0

        def news(**params: Any) -> str | None:
            answer = httpx.get(
                f"{server.url}/api/v1/device", params=params, headers={"Authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 200, answer.text
            return answer.headers.get(PULL_NEWS)

        assert news() is None  # a laptop that sends no cursor is told nothing about it
        assert news(cursor=cursor, epoch=epoch, cursor_id=cursor_id) == "none"
        assert news(cursor=0) == "some"  # from the start, the laptop's own form waits
        assert news(cursor=cursor, epoch="another-server", cursor_id=cursor_id) == "some"
        assert news(cursor=cursor, epoch=epoch, cursor_id=str(uuid.uuid4())) == "some"  # restored server
        assert news(cursor=int(cursor) + 1000, epoch=epoch) == "some"  # past what the server has committed
        refused = httpx.get(
            f"{server.url}/api/v1/device", params={"cursor": -1}, headers={"Authorization": f"Bearer {token}"}
        )
        assert refused.status_code == 422 and "cursor" in refused.text
