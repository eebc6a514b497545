"""Users are managed centrally and reach every laptop of their site: any of them signs in offline on a
laptop that never saw their password; a password set or a user deactivated centrally reaches the
laptops at their next sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from live_server import PASSWORD, LiveServer, database_url, laptop, open_server_db, site_with_users
from sync_fixtures import sync

from cik_ecrf.cli import main
from cik_ecrf.server import admin
from cik_ecrf.store.api import Store
from cik_ecrf.store.errors import AuthError, StoreError

NEW_PASSWORD = "Lantern-5-harbour"
USERS = (("nurse1", "nurse"), ("nurse2", "nurse"), ("dr.li", "investigator"))


def test_a_central_user_signs_in_offline_on_a_laptop_that_never_saw_the_password(tmp_path: Path, study: Any) -> None:
    with database_url(tmp_path) as url:
        engine = open_server_db(url)
        site_with_users(engine, users=USERS)
        with LiveServer(engine) as live:
            store = laptop(tmp_path / "a", live.url, "nurse1", study)
            sync(store)
            store.close()
        engine.dispose()
    # the server is gone (the ward has no network); nurse2 and dr.li never used this laptop
    with Store.open(tmp_path / "a", "nurse2", PASSWORD, study) as nurse:
        assert nurse.actor.role == "nurse" and not nurse.must_change_password
        number = nurse.add_subject()
    with Store.open(tmp_path / "a", "dr.li", PASSWORD, study) as investigator:
        assert investigator.actor.role == "investigator" and number in investigator.subject_numbers()
    with pytest.raises(AuthError):
        Store.open(tmp_path / "a", "nurse2", "Not-her-password-1", study)


def test_a_password_set_or_a_user_deactivated_centrally_reaches_the_laptop_at_its_next_sync(
    tmp_path: Path, study: Any
) -> None:
    with database_url(tmp_path) as url:
        engine = open_server_db(url)
        site_with_users(engine, users=USERS)
        with LiveServer(engine) as live:
            store = laptop(tmp_path / "a", live.url, "nurse1", study)
            sync(store)
            admin.set_password(engine, "nurse2", NEW_PASSWORD)
            admin.set_active(engine, "dr.li", False)
            sync(store)
            store.close()
        engine.dispose()
    with Store.open(tmp_path / "a", "nurse2", NEW_PASSWORD, study) as nurse:
        with pytest.raises(StoreError, match="set on the central server"):
            nurse.change_password(NEW_PASSWORD, "Another-9-password")  # would split her password between laptops
    with pytest.raises(AuthError):
        Store.open(tmp_path / "a", "nurse2", PASSWORD, study)  # the old one no longer opens this laptop
    with pytest.raises(AuthError):
        Store.open(tmp_path / "a", "dr.li", PASSWORD, study)
    with Store.open(tmp_path / "a", "nurse1", PASSWORD, study) as enrolled_by:
        assert enrolled_by.actor.username == "nurse1"  # the enrolling user's own key still opens it


def test_passwd_and_deactivate_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with database_url(tmp_path) as url:
        engine = open_server_db(url)
        site_with_users(engine, users=USERS)
        monkeypatch.setenv("CIK_ECRF_NEW_PASSWORD", NEW_PASSWORD)
        assert main(["server", "user", "passwd", "nurse2", "--database-url", url]) == 0
        assert main(["server", "user", "deactivate", "dr.li", "--database-url", url]) == 0
        assert main(["server", "user", "passwd", "nobody", "--database-url", url]) == 1
        monkeypatch.setenv("CIK_ECRF_NEW_PASSWORD", "short")
        assert main(["server", "user", "passwd", "nurse2", "--database-url", url]) == 1
        err = capsys.readouterr().err
        assert "error: no user nobody" in err and "password too weak" in err
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from cik_ecrf.server.auth import user_record
        from cik_ecrf.server.models import User

        with Session(engine) as session:
            records = {u.username: user_record(session, u) for u in session.scalars(select(User))}
        assert records["dr.li"].active is False and records["dr.li"].keys is None
        assert records["nurse2"].keys is not None and records["nurse1"].keys is not None
        # the new password made nurse2 a new key pair; the old one is kept only to verify what she signed
        assert len(records["nurse2"].key_history) == 2 and len(records["nurse1"].key_history) == 1
        engine.dispose()
