"""Upgrading a server database to restored runs (s0016): the seals accepted before are kept as run 0,
and a second run may then reuse their device numbers; going back keeps run 0 only."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from live_server import backends, database_url
from sqlalchemy import text

from cik_ecrf.server.database import _config, make_engine, migrate

SEAL = (
    "INSERT INTO change_seal (device_id, first_seq, last_seq, username, key_id, previous, head, signature, received_at) "
    "VALUES ('dev', :first, :last, 'nurse1', 'k1', 'p', :head, 's', 't')"
)


def _to(engine: object, revision: str, down: bool = False) -> None:
    with engine.begin() as conn:  # type: ignore[attr-defined]
        config = _config()
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


@pytest.mark.parametrize("backend", backends())
def test_seals_before_the_upgrade_are_run_zero_and_a_run_may_reuse_their_numbers(tmp_path: Path, backend: str) -> None:
    with database_url(tmp_path, backend) as url:
        engine = make_engine(url)
        try:
            _to(engine, "s0015")
            with engine.begin() as conn:
                conn.execute(text(SEAL), {"first": 1, "last": 3, "head": "h3"})
                conn.execute(text(SEAL), {"first": 4, "last": 4, "head": "h4"})
            migrate(engine)
            with engine.begin() as conn:
                rows = conn.execute(text("SELECT run, first_seq, last_seq, head FROM change_seal ORDER BY first_seq"))
                assert [tuple(r) for r in rows] == [(0, 1, 3, "h3"), (0, 4, 4, "h4")]
                conn.execute(  # the restored run's seal over device number 4 again, beside the first
                    text(
                        "INSERT INTO change_seal (device_id, run, first_seq, last_seq, username, key_id, previous, "
                        "head, signature, received_at) VALUES ('dev', 1, 4, 4, 'nurse1', 'k1', 'h3', 'h4b', 's', 't')"
                    )
                )
            _to(engine, "s0015", down=True)
            with engine.connect() as conn:
                heads = [r[0] for r in conn.execute(text("SELECT head FROM change_seal ORDER BY first_seq"))]
            assert heads == ["h3", "h4"]
        finally:
            engine.dispose()
