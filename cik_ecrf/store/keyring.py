"""`keyring.json`: what must be readable before the store is open.

It holds each user's wrapped data key, the failed-login counters that drive lockout, and the failed
logins not yet copied into the audit trail (a failed login cannot write to a store it could not
open). Written atomically (temp file, fsync, rename) under an exclusive lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"{self.path}: keyring format {data.get('format')} is not supported by this version")
        return data

    def write(self, data: dict[str, Any]) -> None:
        data = {"format": FORMAT, **{k: v for k, v in data.items() if k != "format"}}
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
        """Read-modify-write under an exclusive lock; the dict yielded is written back on success."""
        with open(self.lock_path, "a+b") as lock:
            _lock(lock)
            try:
                data = self.read() if self.exists() else {"format": FORMAT}
                yield data
                self.write(data)
            finally:
                _unlock(lock)


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
