"""A sync holds one page at a time: no answer from the server outlives its page. httpx leaves a read
response in a cycle with its stream, so each page's body waited for the collector's rare full pass,
and a fresh laptop's pull held every page it had pulled (60 MB for 10,000 forms)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import httpx
from live_server import LiveServer, laptop, open_server_db, site_with_users
from sync_fixtures import VITALS, save

from cik_ecrf.sync.client import SyncClient


def live_responses() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, httpx.Response))


def test_no_server_answer_outlives_its_page(tmp_path: Path, study: Any) -> None:
    engine = open_server_db(f"sqlite:///{tmp_path / 'server.db'}")
    site_with_users(engine)
    with LiveServer(engine) as server:
        a = laptop(tmp_path / "a", server.url, "nurse1", study)
        for visit in ("D1", "D2", "D3", "D4"):
            save(a, a.add_subject(), visit, "vitals", VITALS)
        assert SyncClient(a).run().ok
        fresh = laptop(tmp_path / "fresh", server.url, "nurse2", study)
        gc.collect()
        gc.disable()  # only what plain reference counting frees is freed while the sync runs
        try:
            before = live_responses()
            pages: list[int] = []
            client = SyncClient(fresh, pull_batch=5, push_batch=5)
            outcome = client.run(lambda p: pages.append(live_responses()) if p.phase == "pull" else None)
            assert outcome.ok and outcome.pulled >= 4 * 9
            assert len(pages) >= 8  # many small pages, each answered by its own response
            assert max(pages) <= before + 1  # at most the one being read
            assert live_responses() == before
        finally:
            gc.enable()
        a.close()
        fresh.close()
    engine.dispose()
