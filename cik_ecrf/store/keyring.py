"""`keyring.json`: what must be readable before the store is open.

It holds each user's wrapped data key, the failed-login counters that drive lockout, and the failed
logins not yet copied into the audit trail (a failed login cannot write to a store it could not
open). Written atomically (temp file, fsync, rename) under an exclusive lock, and only when something
changed: a login that changes nothing writes nothing, so a store on read-only media can still be opened.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import faults
from .errors import StoreError
from .files import KEYRING_FILE as KEYRING

try:
    import fcntl
except ImportError:  # Windows: msvcrt locking below
    fcntl = None  # type: ignore[assignment]

FORMAT = 1


class Keyring:
    def __init__(self, directory: Path) -> None:
        self.path = directory / KEYRING
        self.lock_path = directory / ".keyring.lock"

    def exists(self) -> bool:
        return self.path.is_file()

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        except ValueError:
            raise StoreError(
                f"{self.path}: damaged (not JSON); restore keyring.json from a backup, or {faults.RECOVER}"
            ) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            version = data.get("format") if isinstance(data, dict) else None
            raise StoreError(f"{self.path}: keyring format {version} is not supported by this version")
        return data

    def write(self, data: dict[str, Any]) -> None:
        """Temp file (0600), fsync, rename: a full disk or read-only medium leaves the old file whole."""
        data = {"format": FORMAT, **{k: v for k, v in data.items() if k != "format"}}
        try:
            self._write(data)
        except OSError as exc:
            raise faults.from_os_error(self.path, exc) from None

    def _write(self, data: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".keyring-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path.parent)

    @contextlib.contextmanager
    def locked(self) -> Iterator[dict[str, Any]]:
        """Read-modify-write under an exclusive lock; the dict yielded is written back if it changed."""
        with self._lock_file() as lock:
            if lock is not None:
                _lock(lock)
            try:
                data = self.read() if self.exists() else {"format": FORMAT}
                before = copy.deepcopy(data)
                yield data
                if data != before or not self.exists():
                    self.write(data)
            finally:
                if lock is not None:
                    _unlock(lock)

    @contextlib.contextmanager
    def _lock_file(self) -> Iterator[Any]:
        """The lock file, opened for writing; read-only where it cannot be (a lock works either way), or
        none at all on read-only media without one (nobody can write there anyway)."""
        handle = None
        for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
            try:
                handle = os.fdopen(os.open(self.lock_path, flags, 0o600), "rb")
                break
            except OSError:
                continue
        try:
            yield handle
        finally:
            if handle is not None:
                handle.close()


def _lock(handle: Any) -> None:
    if fcntl is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    else:  # pragma: no cover - Windows
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)


def _unlock(handle: Any) -> None:
    if fcntl is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    else:  # pragma: no cover - Windows
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
