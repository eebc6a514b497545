"""The head record: the audit trail's length and last hash, kept in a small file beside store.db.

The trail's own head lives inside the database, so a database that lost its last commits (store.db-wal
deleted after a crash, an older copy put back) agrees with itself and `audit verify` alone cannot tell.
This file is rewritten after every commit that moved the head; at the next login the database must
still hold that event at that position, or committed work has vanished. It is written without fsync:
after a power cut it may lag behind the database (no alarm), never run ahead of it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlcipher3

from .files import HEAD_FILE

FORMAT = 1


@dataclass(frozen=True)
class Head:
    events: int
    hash: str
    store: str = ""  # the store id: a record left by another store in this folder is not this one's


def read(directory: Path) -> Head | None:
    """The recorded head; None when there is none yet; ValueError when the file is unreadable."""
    path = directory / HEAD_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a head record of this version")
    try:
        return Head(int(data["events"]), str(data["hash"]), str(data.get("store", "")))
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{path}: incomplete") from None


#: the record is always this long (JSON padded with spaces): each write replaces it whole, in place
RECORD_BYTES = 256


def write(directory: Path, head: Head) -> None:
    """Overwrite the record in place: one open, one write of a fixed length, no rename (~0.1 ms).

    It runs after every commit; a rename per commit made ext4 flush the new file's data each time and
    cost more than the commit's own work. A write this small lands whole in practice; a torn one reads
    as unreadable, which is reported and never taken for lost work. 0600 like the store it describes.
    """
    record = {"format": FORMAT, "events": head.events, "hash": head.hash, "store": head.store}
    text = json.dumps(record).encode("ascii")
    fd = os.open(directory / HEAD_FILE, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    try:
        os.write(fd, text.ljust(RECORD_BYTES))  # a fresh descriptor writes at offset 0
    finally:
        os.close(fd)


def of_database(cursor: Any) -> Head | None:
    """The head the database itself records (meta), read with any DB-API connection or cursor."""
    rows = dict(
        cursor.execute("SELECT key, value FROM meta WHERE key IN ('audit_count', 'audit_head', 'store_id')").fetchall()
    )
    if "audit_head" not in rows:
        return None
    return Head(int(rows.get("audit_count", 0)), rows["audit_head"], rows.get("store_id", ""))


_written: dict[Path, Head] = {}
_lock = threading.Lock()


class HeadConnection(sqlcipher3.Connection):
    """A SQLCipher connection that records the trail's head beside the file after each commit.

    The head is read inside the transaction (so it is the one being committed) and written once the
    commit succeeded. A head record that cannot be written (a full disk) is left as it was: it then
    lags behind, which is never mistaken for lost work.
    """

    directory: Path | None = None

    def commit(self) -> None:
        head = None
        if self.directory is not None and self.in_transaction:
            try:
                head = of_database(self)
            except sqlcipher3.Error:
                head = None
        super().commit()
        if head is None or self.directory is None:
            return
        with _lock:
            if _written.get(self.directory) == head:
                return
            with contextlib.suppress(OSError):
                write(self.directory, head)
                _written[self.directory] = head


def forget(directory: Path) -> None:
    """Drop the cached head of a store (it was moved, recovered or checked anew)."""
    with _lock:
        _written.pop(directory, None)


def compare(cursor: Any, recorded: Head) -> str | None:
    """Why the database does not reach the recorded head, or None when it does."""
    current = of_database(cursor)
    if current is not None and recorded.store and current.store and recorded.store != current.store:
        return None  # left by an earlier store in this folder: the next commit replaces it
    events = current.events if current else 0
    if events < recorded.events:
        return (
            f"committed work has vanished: the audit trail has {events} events, but {recorded.events} were "
            "committed (store.db-wal deleted, or an older copy of store.db put back)"
        )
    row = cursor.execute(
        "SELECT hash FROM audit_event ORDER BY seq LIMIT 1 OFFSET ?", (recorded.events - 1,)
    ).fetchone()
    if recorded.events and (row is None or row[0] != recorded.hash):
        return (
            f"store.db is not the store that was last committed here: its event {recorded.events} differs "
            "from the one recorded (an older or different copy put back)"
        )
    return None
