"""This laptop's own values marked with the server's version from the push answer (issue 19).

A pull writes every change it brings back, this laptop's own included: for a value this laptop
entered, that write changes nothing but the field's server version (and its author and time, to the
event's own). The push answer already says that version (`ChangeResult.server_seq`), so it is written
here, in the push's own transaction, exactly as the pull would write it; the pull then finds the value
already held as the server has it and leaves it alone (`own_held.py`).

Only a field that still holds the change's value is marked. Whatever local change put that value
there, the mark is true: the server held exactly this value at this version (an applied change is the
server's value; a merged one was the same value). Marking before the pull changes no outcome of the
sync either: the pull leaves out a change only when the field holds exactly what writing it would
write; when a change of another laptop to the field comes first in the server's order, the pull writes
both, in that order, as it always did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection


def record(conn: Connection, answered: Sequence[tuple[int, dict[str, Any]]]) -> int:
    """`answered`: (server seq, outbox event) of this laptop's `value_set` changes the server applied or
    merged, in device order. Each field still holding that value gets the server seq, the event's time
    and its author's id, as a pull of that change writes them (a later change of the same field in
    `answered` is written after, and wins). Returns how many changes were offered for marking."""
    if not answered:
        return 0
    users = dict(conn.exec_driver_sql('SELECT username, id FROM "user"').all())
    rows = [
        (seq, e["at_utc"], users[e["username"]], e["instance_id"], e["field_id"], e["new_json"])
        for seq, e in answered
        if e["action"] == "value_set" and e["new_json"] is not None and e["username"] in users
    ]
    if rows:
        conn.exec_driver_sql(
            "UPDATE field_value SET server_version = ?, updated_at = ?, updated_by = ? "
            "WHERE instance_id = ? AND field_id = ? AND value_json = ?",
            rows,
        )
    return len(rows)
