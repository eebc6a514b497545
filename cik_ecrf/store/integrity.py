"""Checks a login makes before the store is used: damage, a rolled-back file, an edited lockout state.

They run once the password has unwrapped the key, on a plain connection of their own (the engine is
not open yet), and return `Finding`s that the login writes to the audit trail and the CLI reports.
The lockout state is mirrored inside the encrypted database at each successful login: keyring.json
can be edited by anyone who can write the folder, the database cannot be without the key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlcipher3

from . import faults, head
from .files import DB_FILE

MIRROR_KEY = "lockout_mirror"


@dataclass(frozen=True)
class Finding:
    action: str  # the audit action: store_rolled_back, store_damaged, lockout_state_edited
    reason: str


@contextlib.contextmanager
def connect(directory: Path, key: bytes, writable: bool) -> Iterator[sqlcipher3.Connection]:
    path = directory / DB_FILE
    if writable:
        conn = sqlcipher3.connect(str(path), timeout=10, isolation_level=None)
    else:
        conn = read_only_connection(path)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        yield conn
    finally:
        conn.close()


def read_only_uri(path: Path) -> str:
    """A URI that opens the file without writing anything beside it.

    A WAL database normally needs its -shm file; on read-only media where there is none (the store
    was closed cleanly) `immutable=1` reads the file as it is, which is then complete.
    """
    wal = path.with_name(path.name + "-wal")
    shm = path.with_name(path.name + "-shm")
    if shm.exists() or (wal.exists() and wal.stat().st_size > 0):
        return f"{path.as_uri()}?mode=ro"
    return f"{path.as_uri()}?immutable=1"


def read_only_connection(path: Path) -> sqlcipher3.Connection:
    return sqlcipher3.connect(read_only_uri(path), uri=True, timeout=10, isolation_level=None)


#: a scan of every page's HMAC costs ~16 ms per MB here (2.4 s for a whole study's 147 MB): at every login
#: for small stores, otherwise when the last one is older than SCAN_EVERY; damage met in between is
#: caught where it is met (the engine marks the store) and `audit verify` always scans
SCAN_EVERY_LOGIN_BYTES = 8 * 1024 * 1024
SCAN_EVERY = dt.timedelta(days=7)
SCANNED_KEY = "integrity_scanned"


def problems(conn: Any, structure: bool = False) -> list[str]:
    """Every page's HMAC (SQLCipher: any changed, torn or missing byte of a page), and with `structure`
    the b-trees as well (`audit verify`; it doubles the time); an empty list when the file is sound."""
    found = [row[0] for row in conn.execute("PRAGMA cipher_integrity_check")]
    if not found and structure:
        found = [row[0] for row in conn.execute("PRAGMA quick_check(3)") if row[0] != "ok"]
    return found


def scan_due(conn: sqlcipher3.Connection, directory: Path, now: dt.datetime) -> bool:
    if (directory / DB_FILE).stat().st_size <= SCAN_EVERY_LOGIN_BYTES:
        return True
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (SCANNED_KEY,)).fetchone()
    try:
        return row is None or now - dt.datetime.fromisoformat(row[0]) > SCAN_EVERY
    except ValueError:
        return True


def _truncated(conn: sqlcipher3.Connection, directory: Path) -> str | None:
    """The file is shorter than the pages its header counts (cheap: two header reads)."""
    wal = directory / f"{DB_FILE}-wal"
    if wal.exists() and wal.stat().st_size > 0:
        return None  # pages may live in the WAL until the next checkpoint
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    actual = (directory / DB_FILE).stat().st_size
    return f"the file is {actual} bytes, its header counts {pages * size}" if actual < pages * size else None


def damage(conn: sqlcipher3.Connection, directory: Path, full: bool = True) -> Finding | None:
    """A full scan when `full`, else the cheap truncation check; a marker from an earlier fault counts too."""
    noted = faults.damage_noted(directory)
    try:
        found = problems(conn) if full else [p for p in [_truncated(conn, directory)] if p]
    except sqlcipher3.DatabaseError as exc:
        found = [str(exc)]
    if found:
        detail = "; ".join(found)[:300]
        faults.mark_damaged(directory / DB_FILE, detail)
        return Finding("store_damaged", f"store.db is damaged: {detail}")
    if noted:
        return Finding("store_damaged", f"store.db was found damaged earlier: {noted[:300]}")
    return None


def scan(engine: Any, directory: Path) -> list[str]:
    """A full scan through an open store's engine (`audit verify`); damage found is marked as at login."""
    with engine.connect() as conn:
        try:
            found = problems(conn.connection.dbapi_connection, structure=True)
        except sqlcipher3.DatabaseError as exc:
            found = [str(exc)]
    if found:
        faults.mark_damaged(directory / DB_FILE, "; ".join(found)[:300])
    return found


def record_scan(conn: sqlcipher3.Connection, now: dt.datetime) -> None:
    _put(conn, SCANNED_KEY, now.isoformat())


def rollback(conn: sqlcipher3.Connection, directory: Path) -> Finding | None:
    try:
        recorded = head.read(directory)
    except ValueError as exc:
        return Finding("store_head_unreadable", f"{exc}; the store could not be checked for lost work this time")
    if recorded is None:
        return None
    problem = head.compare(conn, recorded)
    return Finding("store_rolled_back", problem) if problem else None


def record_head(conn: sqlcipher3.Connection, directory: Path) -> None:
    """After a finding is dealt with (audited), the record follows the database again."""
    current = head.of_database(conn)
    head.forget(directory)
    if current is not None:
        with contextlib.suppress(OSError):
            head.write(directory, current)


def read_mirror(conn: sqlcipher3.Connection) -> dict[str, Any] | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (MIRROR_KEY,)).fetchone()
    if row is None:
        return None
    try:
        data = json.loads(row[0])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def write_mirror(conn: sqlcipher3.Connection, state: dict[str, Any]) -> None:
    _put(conn, MIRROR_KEY, json.dumps(state, sort_keys=True))


def _put(conn: sqlcipher3.Connection, key: str, value: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlcipher3.Error):
            conn.execute("ROLLBACK")
        raise


_reported: dict[Path, list[str]] = {}
_lock = threading.Lock()


def report(directory: Path, findings: list[Finding]) -> None:
    with _lock:
        _reported[directory] = [f.reason for f in findings]


def reported(directory: Path) -> list[str]:
    """What the last login to this store found (once: the list is handed over and cleared)."""
    with _lock:
        return _reported.pop(directory, [])
