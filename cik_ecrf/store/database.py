"""Opening the encrypted SQLite file: SQLCipher key, durability pragmas, migrations at open.

Every write transaction starts with BEGIN IMMEDIATE, so two processes on one laptop queue for the
write lock instead of interleaving; that is what keeps the audit chain a chain. Storage faults (a full
disk, read-only media, a damaged file) surface as one `StoreError` line (`faults`), and each commit
leaves the trail's head in a record beside the file (`head`). A store on read-only media, or one found
damaged, opens read-only: it can be read, every change is refused with the reason.
"""

from __future__ import annotations

import functools
import weakref
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DatabaseError
from sqlalchemy.pool import QueuePool

from . import faults
from .errors import StoreError
from .files import (
    DB_FILE,  # noqa: F401 - re-exported: callers import it from here
    make_private,
)
from .head import HeadConnection
from .integrity import read_only_uri

#: why an engine refuses changes (read-only media, damage); engines without an entry are writable
_refusals: weakref.WeakKeyDictionary[Engine, StoreError | None] = weakref.WeakKeyDictionary()
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 10_000


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


@functools.cache
def known_revisions() -> frozenset[str]:
    return frozenset(rev.revision for rev in ScriptDirectory.from_config(_alembic_config()).walk_revisions())


def make_engine(
    path: Path, data_key: bytes, refusal: StoreError | None = None, media_read_only: bool = False
) -> Engine:
    """The engine; with a `refusal` it is read-only (query_only) and every write is refused with that line."""
    if media_read_only:  # nothing may be created beside the file: no -shm, no journal, no head record
        uri, _, options = read_only_uri(path).partition("?")
        key, _, value = options.partition("=")
        url = URL.create(
            "sqlite+pysqlcipher", password=f"x'{data_key.hex()}'", database=uri, query={"uri": "true", key: value}
        )
    else:
        url = URL.create("sqlite+pysqlcipher", password=f"x'{data_key.hex()}'", database=str(path))
    # A queue pool, not the dialect's default SingletonThreadPool: the client uses the store from the UI
    # thread, the store worker and the sync thread, and SingletonThreadPool closes connections other
    # threads still hold once it has more threads than its size (seen as "closed database" and crashes).
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=4,
        max_overflow=8,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000, "factory": HeadConnection},
    )
    _refusals[engine] = refusal
    writable = refusal is None

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        if writable:
            dbapi_connection.directory = path.parent  # the head record follows each commit
        cursor = dbapi_connection.cursor()
        pragmas = [
            "PRAGMA cipher_log_level = NONE",  # a wrong key is reported by us, in one line
            f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
            "PRAGMA foreign_keys = ON",
        ]
        if writable:
            pragmas += ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"]
        elif not media_read_only:
            pragmas += ["PRAGMA query_only = ON"]  # a damaged store: reads only, SQLite refuses the rest
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writable else "BEGIN")

    return engine


def _user_errors(engine: Engine, path: Path) -> None:
    """From here on a storage fault is one line for the user; anything else stays a bug with its traceback."""

    @event.listens_for(engine, "handle_error")
    def _fault(context: Any) -> None:
        original = context.original_exception
        mapped = faults.from_sqlite(path, original)
        refusal = _refusals.get(engine)
        if refusal is not None and isinstance(mapped, faults.StoreReadOnly):
            mapped = refusal  # a damaged store says it is damaged, not merely read-only
        if mapped is not None:
            raise mapped from None


def read_only(engine: Engine) -> bool:
    """Whether this store refuses changes (read-only media, or found damaged): then not even a login is written."""
    return _refusals.get(engine) is not None


def open_engine(path: Path, data_key: bytes, create: bool = False) -> Engine:
    """Open (or create) the store file and bring its schema to head; refuse a newer store.

    Read-only media and a store marked damaged open read-only, with the reason every change is refused for.
    """
    if not create and not path.is_file():
        raise StoreError(f"{path}: no store here; create one with `cik-ecrf init`")
    media = not create and faults.is_read_only(path.parent)
    noted = None if create else faults.damage_noted(path.parent)
    refusal = faults.read_only(path) if media else (faults.damaged(path, noted) if noted else None)
    engine = make_engine(path, data_key, refusal, media)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM sqlite_master")).scalar()
    except DatabaseError as exc:
        engine.dispose()
        fault = faults.from_sqlite(path, exc.orig, mark=False)
        if fault is not None and not isinstance(fault, faults.StoreDamaged):
            raise fault from None  # a full disk, read-only or missing folder: not a question of the key
        raise StoreError(
            f"{path}: cannot be read with this key (not a CIK-eCRF store, or damaged: {exc.orig}); {faults.RECOVER}"
        ) from None
    _user_errors(engine, path)
    try:
        migrate(engine, path)
    except StoreError:
        engine.dispose()
        raise
    if not media:
        make_private(path.parent)
    return engine


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        has_table = conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'")).first()
        if not has_table:
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine, path: Path, target: str = "head") -> None:
    revision = current_revision(engine)
    if revision is not None and revision not in known_revisions():
        engine.dispose()
        raise StoreError(
            f"{path}: this store was written by a newer version of CIK-eCRF (schema {revision}); "
            "install that version or newer to open it"
        )
    if revision == head_revision() and target == "head":
        return  # the usual case: nothing to run, and alembic's machinery need not start
    if read_only(engine):
        engine.dispose()
        raise StoreError(f"{path}: this store needs an upgrade to this version, which cannot be written here")
    config = _alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, target)
