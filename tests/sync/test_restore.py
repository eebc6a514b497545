"""The server restored from a backup: laptops whose cursor the server no longer knows pull
everything again and push everything again. Changes the restore lost come back from the laptops,
unpushed local changes are kept, and every laptop ends with the server's data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from live_server import LiveServer, laptop, site_with_users
from sync_fixtures import VITALS, local_state, save, server_state, sync, values

from cik_ecrf.server.database import open_database


def test_a_restored_server_gets_back_what_it_lost(tmp_path: Path, study) -> None:
    db = tmp_path / "server.db"
    engine = open_database(f"sqlite:///{db}")
    site_with_users(engine)
    with LiveServer(engine) as server:
        a = laptop(tmp_path / "a", server.url, "nurse1", study)
        b = laptop(tmp_path / "b", server.url, "nurse2", study)
        number = a.add_subject()
        save(a, number, "D1", "vitals", VITALS)
        sync(a), sync(b)
        with sqlite3.connect(db) as live, sqlite3.connect(tmp_path / "backup.db") as backup:
            live.backup(backup)
        save(a, number, "D1", "vitals", {"HR": 95}, reason="re-measured")
        sync(a), sync(b)
        assert values(b, number)[("D1", "vitals")]["HR"] == 95
    engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(tmp_path / "backup.db") as backup, sqlite3.connect(db) as restored:
        backup.backup(restored)
    engine = open_database(f"sqlite:///{db}")
    with LiveServer(engine) as server:
        assert [v for i, f, v, _ in server_state(engine)["fields"] if f == "HR"] == ["80"]  # the restore lost HR = 95
        for store in (a, b):
            store.set_sync_settings(server_url=server.url)
        save(a, number, "D1", "vitals", {"RESP": 25}, reason="re-counted")  # not pushed yet
        outcome = sync(a)
        # the server held a's next change (its earlier ones were lost) and a sent again from where the server is
        assert outcome.ok and outcome.pushed >= 2  # data changes: HR = 95 again, and RESP = 25
        again = sync(b)
        assert again.ok
        assert values(a, number)[("D1", "vitals")]["HR"] == 95 and values(a, number)[("D1", "vitals")]["RESP"] == 25
        assert local_state(a) == local_state(b)
        assert {(f, v) for _, f, v, _ in server_state(engine)["fields"]} >= {("HR", "95"), ("RESP", "25")}
        assert a.verify_audit().ok and b.verify_audit().ok
        a.close(), b.close()
    engine.dispose()
