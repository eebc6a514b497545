"""A successful sign-in and a concurrent attempt lock the throttle rows in one order (PostgreSQL).

Locking the user's row first (as a plain delete did) while a concurrent attempt held the address's
row was a deadlock: PostgreSQL aborted one of the two, the laptop was told "busy", and the attempt it
had counted was never taken back. CI saw it once in fifty concurrent randomizations.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from live_server import PG_URL, database_url, open_server_db
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cik_ecrf.server import ratelimit
from cik_ecrf.server.database import now
from cik_ecrf.server.models import LoginThrottle

pytestmark = pytest.mark.skipif(not PG_URL, reason="row locks are PostgreSQL's; SQLite serializes writers")


def _waiting_on_a_lock(session: Session, blocker: int) -> bool:
    """True once another backend waits on a lock that `blocker` holds."""
    found = session.execute(
        text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"), {"pid": blocker}
    )
    return bool(found.scalar_one())


def test_a_success_waits_for_the_address_row_before_it_takes_the_user_row(tmp_path: Path) -> None:
    with database_url(tmp_path, "postgresql") as url:
        engine = open_server_db(url)
        try:
            with Session(engine) as session, session.begin():
                for key in (ratelimit.user_key("inv1"), ratelimit.address_key("10.0.0.7")):
                    session.add(
                        LoginThrottle(key=key, failures=1, lockouts=0, last_failure_at=now(), locked_until=None)
                    )
            attempt = Session(engine)  # a concurrent attempt that `begin` has got as far as the address row
            attempt.begin()
            attempt.execute(
                select(LoginThrottle).where(LoginThrottle.key == ratelimit.address_key("10.0.0.7")).with_for_update()
            )
            pid = attempt.execute(text("SELECT pg_backend_pid()")).scalar_one()
            failed: list[BaseException] = []

            def success() -> None:
                try:
                    with Session(engine) as session, session.begin():
                        ratelimit.succeeded(session, "inv1", "10.0.0.7")
                except BaseException as exc:  # reported to the test below
                    failed.append(exc)

            worker = threading.Thread(target=success)
            worker.start()
            with Session(engine) as watcher:
                deadline = time.monotonic() + 30
                while not _waiting_on_a_lock(watcher, pid):
                    assert time.monotonic() < deadline, "the success never waited for the address row"
                    watcher.rollback()
            # the success waits holding nothing: the attempt can still take the user's row
            attempt.execute(
                text("SELECT key FROM login_throttle WHERE key = :key FOR UPDATE NOWAIT"),
                {"key": ratelimit.user_key("inv1")},
            )
            attempt.commit()
            attempt.close()
            worker.join(timeout=30)
            assert not worker.is_alive() and not failed, failed
            with Session(engine) as session:
                rows = {row.key: row.failures for row in session.scalars(select(LoginThrottle))}
            assert rows == {
                ratelimit.address_key("10.0.0.7"): 0
            }  # the name starts afresh; the address gets its try back
        finally:
            engine.dispose()
