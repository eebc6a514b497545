"""A push batch larger than the server's body limit is answered 413: the laptop sends smaller batches
and everything arrives, instead of failing the same way at every sync."""

from __future__ import annotations

from pathlib import Path

from live_server import LiveServer, laptop, open_server_db, site_with_users
from sync_fixtures import VITALS, server_changes

from cik_ecrf.server.settings import ServerSettings
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.sync.client import SyncClient

VISITS = ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D14", "D28"]


def test_a_batch_over_the_body_limit_is_sent_again_in_smaller_batches(tmp_path: Path, study) -> None:
    engine = open_server_db(f"sqlite:///{tmp_path / 'server.db'}")
    site_with_users(engine)
    with LiveServer(engine, settings=ServerSettings(max_body_mb=1)) as server:
        a = laptop(tmp_path / "a", server.url, "nurse1", study)
        for _ in range(24):
            number = a.add_subject()
            for visit in VISITS:
                a.save(SaveRequest(number, visit, "vitals", VITALS))
        outbox = a.sync_outbox(5000)
        assert len(outbox) > 2000  # well over 1 MB in one batch
        client = SyncClient(a)
        outcome = client.run()
        assert outcome.error is None and outcome.ok and outcome.waiting == 0
        assert client.push_batch < 5000
        assert {e["id"] for e in outbox} <= set(server_changes(engine))
        a.close()
    engine.dispose()
