"""Upgrading a server database: signatures accepted before the server tracked what they cover become
covers (cleared ones marked cleared), so forms signed before the upgrade can still be corrected."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from sqlalchemy import text

from cik_ecrf.server.database import _config, make_engine, migrate


def _change(seq: int, action: str, payload_key: str, payload: dict) -> dict:
    body = json.dumps({"id": f"c{seq}", "action": action, payload_key: json.dumps(payload)})
    return {
        "seq": seq,
        "id": f"c{seq}",
        "digest": "d",
        "site_code": "BJ01",
        "device_id": "dev",
        "device_seq": seq,
        "action": action,
        "disposition": "applied",
        "body": body,
        "received_at": "t",
    }


def test_signatures_logged_before_the_upgrade_become_covers(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, "s0004")  # the schema before the server tracked signatures
        insert = text(
            "INSERT INTO change (seq, id, digest, site_code, device_id, device_seq, action, disposition, body, received_at) "
            "VALUES (:seq, :id, :digest, :site_code, :device_id, :device_seq, :action, :disposition, :body, :received_at)"
        )
        conn.execute(insert, _change(1, "signature", "new_json", {"signature": "sig-a", "instances": ["i1", "i2"]}))
        conn.execute(insert, _change(2, "signature", "new_json", {"signature": "sig-b", "instances": ["i3"]}))
        conn.execute(insert, _change(3, "signature_cleared", "old_json", {"signature": "sig-b"}))
    migrate(engine)
    with engine.connect() as conn:
        rows = sorted(
            tuple(r)
            for r in conn.execute(
                text("SELECT signature_id, instance_id, signed_seq, cleared_seq FROM signature_cover")
            )
        )
    assert rows == [("sig-a", "i1", 1, None), ("sig-a", "i2", 1, None), ("sig-b", "i3", 2, 3)]
    engine.dispose()
