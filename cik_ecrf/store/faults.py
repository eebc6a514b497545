"""Storage faults as users meet them: a full disk, read-only media, a damaged or rolled-back store.

Each becomes one `StoreError` line saying where, what, and what to do; the CLI prints it and the client
shows it in a dialog. SQLite's transactions and the keyring's write-then-rename keep every fault from
leaving anything half-written: the action that met the fault is simply not saved.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from .errors import StoreError
from .files import DAMAGED_FILE, DB_FILE

RECOVER = "recover it from the server (move this folder aside and run `cik-ecrf enrol` again) or from a backup copy"


class StoreFull(StoreError):
    """The disk holding the store is full: the action was not saved."""


class StoreReadOnly(StoreError):
    """The store is on a read-only folder or medium: it can be read, not changed."""


class StoreDamaged(StoreError):
    """The store file is corrupt or truncated: it refuses changes until recovered."""


def full(where: Path) -> StoreFull:
    return StoreFull(
        f"{where}: the disk is full, so this was not saved (nothing was half-written); free some space and try again"
    )


def read_only(where: Path) -> StoreReadOnly:
    return StoreReadOnly(
        f"{where}: the store is on a read-only folder or medium: it can be read but not changed; copy it to writable storage to work on it"
    )


def damaged(where: Path, detail: str) -> StoreDamaged:
    return StoreDamaged(f"{where}: the store is damaged ({detail}) and refuses changes; {RECOVER}")


def from_os_error(where: Path, exc: OSError) -> StoreError:
    """A file-level failure (the keyring, the head record) in the same words as the database's."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return full(where)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return read_only(where)
    return StoreError(f"{where}: cannot write: {exc.strerror or exc}")


def from_sqlite(where: Path, exc: BaseException, mark: bool = True) -> StoreError | None:
    """The user's line for a SQLite error, or None for an error that is not a storage fault (a bug).

    `mark=False` while a file is first tried with a key: an unreadable file then may be the wrong file.
    """
    name = getattr(exc, "sqlite_errorname", "") or ""
    message = str(exc)
    if name.startswith("SQLITE_FULL") or "database or disk is full" in message:
        return full(where)
    if name.startswith("SQLITE_READONLY") or "readonly database" in message:
        return read_only(where)
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in message or "not a database" in message:
        if mark:
            mark_damaged(where, message)
        return damaged(where, message)
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in message:
        return StoreError(
            f"{where}: the disk reported an error ({message}); nothing was saved; check the disk, then {RECOVER}"
        )
    if name.startswith("SQLITE_CANTOPEN") or "unable to open database file" in message:
        return StoreError(
            f"{where}: cannot open the store file (missing, or the folder cannot be written); check the folder"
        )
    if name.startswith("SQLITE_BUSY") or "database is locked" in message:
        return StoreError(f"{where}: another program is holding the store; close it and try again")
    return None


def mark_damaged(where: Path, detail: str) -> None:
    """A marker beside the store: every later open is read-only until the store is recovered.

    Kept outside the database, which cannot be trusted to record its own damage.
    """
    marker = where.parent / DAMAGED_FILE
    with contextlib.suppress(OSError):  # read-only or full: the open-time check finds the damage again
        if not marker.exists():
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(detail[:500] + "\n")


def clear_damage_mark(directory: Path) -> bool:
    """After a full scan found every page sound (`audit verify`): True if a mark was removed."""
    try:
        (directory / DAMAGED_FILE).unlink()
    except OSError:
        return False
    return True


def damage_noted(directory: Path) -> str | None:
    marker = directory / DAMAGED_FILE
    try:
        return marker.read_text(encoding="utf-8", errors="replace").strip() or "damage found earlier"
    except OSError:
        return None


def is_read_only(directory: Path) -> bool:
    """True on a read-only mount, or where this user cannot write the store's folder or file."""
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return True
    except (AttributeError, OSError):  # Windows has no statvfs
        pass
    database = directory / DB_FILE
    return not os.access(directory, os.W_OK) or (database.exists() and not os.access(database, os.W_OK))
