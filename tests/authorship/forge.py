"""What someone who knows only a nurse's password can do to a laptop's files: open the store (its key
comes with any user's login) and rewrite anything in it or in keyring.json. Each helper is one forgery."""

from __future__ import annotations

import json
from typing import Any

from cik_ecrf.core import keys
from cik_ecrf.store import audit, authorship
from cik_ecrf.store.api import Store
from cik_ecrf.store.keyring import Keyring


def sql(store: Store, statement: str, *params: Any) -> list[Any]:
    with store.unit_of_work() as session:
        result = session.connection().exec_driver_sql(statement, params)
        return list(result) if result.returns_rows else []


def act_as(store: Store, username: str) -> None:
    """The store believes the session is `username`'s (the signer stays the nurse's: she has no other key)."""
    [(user_id, role)] = sql(store, 'SELECT id, role FROM "user" WHERE username = ?', username)
    store.actor = audit.Actor(user_id, username, role)


def forge_key(store: Store, username: str) -> keys.UserKeys:
    """A key made by the nurse, written into the user table as `username`'s current key, and used to sign."""
    made = keys.generate(username)
    public = made.public
    sql(store, "UPDATE user_key SET current = 0 WHERE username = ?", username)
    sql(
        store,
        "INSERT INTO user_key (key_id, username, sign_public, box_public, current) VALUES (?, ?, ?, ?, 1)",
        public.key_id,
        username,
        public.sign,
        public.box,
    )
    store.signer = authorship.Signer.of(made)
    return made


def recompute_chain(store: Store, resign: keys.UserKeys | None = None) -> None:
    """Rebuild the local hash chain (and the device chain's seals, re-signing those `resign` can sign) so
    that the trail looks whole after rows were edited: what a forger with the store key does next."""
    with store.unit_of_work() as session:
        conn = session.connection()
        previous = audit.GENESIS
        rows = conn.exec_driver_sql(f"SELECT seq, {', '.join(audit.HASHED)} FROM audit_event ORDER BY seq").all()
        for row in rows:
            event = dict(zip(audit.HASHED, row[1:], strict=True))
            event["prev_hash"] = previous
            previous = audit.event_hash(event)
            conn.exec_driver_sql(
                "UPDATE audit_event SET prev_hash = ?, hash = ? WHERE seq = ?", (event["prev_hash"], previous, row[0])
            )
        conn.exec_driver_sql("UPDATE meta SET value = ? WHERE key = ?", (previous, audit.HEAD_KEY))
        device = conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'device_id'").scalar()
        fields = ", ".join(keys.CHAINED)
        own = {
            r[2]: dict(zip(keys.CHAINED, r, strict=True))
            for r in conn.exec_driver_sql(
                f"SELECT {fields} FROM audit_event WHERE device_id = ? ORDER BY device_seq", (device,)
            )
        }
        head = keys.GENESIS
        for first, last, username, _kid in conn.exec_driver_sql(
            "SELECT first_seq, last_seq, username, key_id FROM audit_seal ORDER BY first_seq"
        ).all():
            after = keys.chain(head, [own[s] for s in range(first, last + 1)])
            signature = None
            if resign is not None and username == resign.username:
                signature = resign.sign(keys.seal_message(device, first, last, head, after))
            conn.exec_driver_sql(
                "UPDATE audit_seal SET previous = ?, head = ?, signature = COALESCE(?, signature) WHERE first_seq = ?",
                (head, after, signature, first),
            )
            head = after
        conn.exec_driver_sql("UPDATE meta SET value = ? WHERE key = ?", (head, authorship.DEVICE_HEAD))


def keyring_entry_for(store: Store, username: str, password: str) -> keys.UserKeys:
    """Replace `username`'s keyring.json entry with keys the nurse made, under a password she chose, and
    the store key sealed to them: 'setting another user's password' on the laptop."""
    made = keys.generate(username)
    with Keyring(store.directory).locked() as data:
        from cik_ecrf.store.access import _entry

        data["users"][username] = _entry(data["store_id"], username, made, made.lock(password), store._data_key(), True)
    return made


def payload(event: Any) -> dict[str, Any]:
    return json.loads(event.new_json)
