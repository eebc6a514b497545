"""The names of a store's files, in a module light enough for the client to import before its window shows."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DB_FILE = "store.db"
KEYRING_FILE = "keyring.json"
#: the audit trail's length and head hash, rewritten after each commit: a rolled-back store.db is caught against it
HEAD_FILE = "store.head"
#: written beside a store found damaged; every later open is read-only until it is recovered
DAMAGED_FILE = "store.damaged"
#: every file of a store, for permissions and for tidying a store that could not be created
STORE_FILES = (DB_FILE, DB_FILE + "-wal", DB_FILE + "-shm", KEYRING_FILE, HEAD_FILE, DAMAGED_FILE, ".keyring.lock")


def make_private(directory: Path) -> None:
    """Owner-only access (0600) to the store's files, where the system has such permissions.

    SQLite creates -wal and -shm with the main file's mode, so the database file is fixed first.
    """
    if os.name != "posix":
        return
    for name in STORE_FILES:
        with contextlib.suppress(OSError):  # missing, or a read-only medium: nothing to tighten
            path = directory / name
            if path.exists() and path.stat().st_mode & 0o077:
                path.chmod(0o600)
