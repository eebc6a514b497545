"""A change that breaks the protocol's limits (written by an older version, before the save path
refused it) is refused by the server on its own and keeps its place in its device's sequence: the
laptop's later changes go through instead of waiting behind it forever."""

from __future__ import annotations

from pathlib import Path

from live_server import LiveServer, laptop, open_server_db, site_with_users
from sync_fixtures import VITALS, save, server_state

from cik_ecrf.store import audit
from cik_ecrf.sync.client import SyncClient


def test_an_unsendable_change_is_refused_alone_and_what_follows_is_applied(tmp_path: Path, study) -> None:
    engine = open_server_db(f"sqlite:///{tmp_path / 'server.db'}")
    site_with_users(engine)
    with LiveServer(engine) as server:
        a = laptop(tmp_path / "a", server.url, "nurse1", study)
        with a.unit_of_work() as session:  # as an older version could write it: a 20,000-character reason
            chain = audit.Chain(session)
            row = chain.append(a.actor, "password_change")
            row["reason"] = "x" * 20_000
            row["hash"] = chain.previous = audit.event_hash(row)
            chain.close()
        number = a.add_subject()
        save(a, number, "D1", "vitals", VITALS)
        outcome = SyncClient(a).run()
        assert outcome.error is None and outcome.waiting == 0
        assert len(outcome.rejected) == 1 and "reason" in outcome.rejected[0]
        assert {f for _, f, _, _ in server_state(engine)["fields"]} >= {"HR", "TEMP"}
        again = SyncClient(a).run()
        assert again.error is None and again.ok and again.waiting == 0
        assert a.verify_audit().ok
        a.close()
    engine.dispose()
