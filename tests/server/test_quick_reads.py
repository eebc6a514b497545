"""`database.quick_reads`: the token check and `GET /device` read without a transaction on PostgreSQL.
The connection goes back to the pool as it came: the next user of that connection (a push) is in a
transaction again, and what it rolls back is gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_server import backends, database_url
from sqlalchemy import delete, insert, select

from cik_ecrf.server.database import open_database, quick_reads
from cik_ecrf.server.models import ServerMeta


@pytest.mark.parametrize("backend", backends())
def test_a_transaction_after_quick_reads_still_rolls_back(tmp_path: Path, backend: str) -> None:
    with database_url(tmp_path, backend) as url:
        engine = open_database(url, pool_size=1, max_overflow=0)  # one connection: the same one each time
        try:
            with quick_reads(engine) as conn:
                epoch = conn.scalar(select(ServerMeta.value).where(ServerMeta.key == "epoch"))
            assert epoch
            with engine.connect() as conn:
                if backend == "postgresql":
                    assert conn.connection.driver_connection.autocommit is False
                conn.begin()
                conn.execute(insert(ServerMeta).values(key="quick-reads-probe", value="x"))
                conn.rollback()
            with engine.connect() as conn:
                probe = conn.scalar(select(ServerMeta.value).where(ServerMeta.key == "quick-reads-probe"))
                conn.execute(delete(ServerMeta).where(ServerMeta.key == "quick-reads-probe"))
                conn.commit()
            assert probe is None
        finally:
            engine.dispose()
