"""Opening the encrypted SQLite file: SQLCipher key, durability pragmas, migrations at open.

Every write transaction starts with BEGIN IMMEDIATE, so two processes on one laptop queue for the
write lock instead of interleaving; that is what keeps the audit chain a chain.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DatabaseError
from sqlalchemy.pool import QueuePool

from .errors import StoreError
from .files import DB_FILE  # noqa: F401 - re-exported: callers import it from here

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


def make_engine(path: Path, data_key: bytes) -> Engine:
    url = URL.create("sqlite+pysqlcipher", password=f"x'{data_key.hex()}'", database=str(path))
    # A queue pool, not the dialect's default SingletonThreadPool: the client uses the store from the UI
    # thread, the store worker and the sync thread, and SingletonThreadPool closes connections other
    # threads still hold once it has more threads than its size (seen as "closed database" and crashes).
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=4,
        max_overflow=8,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA cipher_log_level = NONE",  # a wrong key is reported by us, in one line
            f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL",
            "PRAGMA foreign_keys = ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_engine(path: Path, data_key: bytes, create: bool = False) -> Engine:
    """Open (or create) the store file and bring its schema to head; refuse a newer store."""
    if not create and not path.is_file():
        raise StoreError(f"{path}: no store here; create one with `cik-ecrf init`")
    engine = make_engine(path, data_key)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM sqlite_master")).scalar()
    except DatabaseError as exc:
        engine.dispose()
        raise StoreError(
            f"{path}: cannot be read with this key (not a CIK-eCRF store, or damaged): {exc.orig}"
        ) from None
    migrate(engine, path)
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
    config = _alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, target)
