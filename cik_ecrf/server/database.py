"""The server database: an SQLite file by default, PostgreSQL in production; migrations at start.

Write transactions are ordered by the one `seq_counter` row: PostgreSQL locks it (FOR UPDATE) until
commit, SQLite starts every transaction with BEGIN IMMEDIATE. Either way a change's `seq` is its commit
order, so a pull after cursor N can never miss a change that commits later with a smaller number.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from .models import SeqCounter, ServerMeta

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class ServerError(Exception):
    """An administrator's mistake or an unusable database: one line, exit 1."""


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def default_url() -> str:
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('cik-ecrf', appauthor=False)) / 'server.db'}"


def make_engine(url: str, readonly: bool = False, **options: Any) -> Engine:
    """`readonly` (SQLite): plain BEGIN, so pulls read a WAL snapshot without queueing behind pushes."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ServerError(
            f"--database-url {url!r}: not a database URL (sqlite:///FILE or postgresql+psycopg://...)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30}, **options)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in (
                "PRAGMA busy_timeout = 30000",
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = NORMAL",
                "PRAGMA foreign_keys = ON",
            ):
                cursor.execute(pragma)
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True, **options)
    raise ServerError(f"--database-url {url!r}: only SQLite and PostgreSQL are supported")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to head and give a new database its identity (epoch) and sequence."""
    try:
        with engine.begin() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            head = ScriptDirectory.from_config(_config()).get_current_head()
            if current != head:
                config = _config()
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
    except OperationalError as exc:
        raise ServerError(f"cannot open the server database: {exc.orig}") from None
    with Session(engine) as session, session.begin():
        if session.get(ServerMeta, "epoch") is None:
            session.add(ServerMeta(key="epoch", value=str(uuid.uuid4())))
            session.add(SeqCounter(id=1, next_seq=1))


@contextlib.contextmanager
def quick_reads(engine: Engine) -> Iterator[Connection]:
    """A connection for a few reads that need no snapshot in common, asked at every request (the token
    check, `GET /device`). On PostgreSQL they run without a transaction: its BEGIN and COMMIT are a round
    trip each, as long as a read on a key. SQLite's reader begins a snapshot as ever (a local call)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")  # reset when the connection goes back to the pool
            yield conn
        else:
            with conn.begin():
                yield conn


def epoch(session: Session | Connection) -> str:
    return session.scalar(select(ServerMeta.value).where(ServerMeta.key == "epoch")) or ""


def open_database(url: str, **options: Any) -> Engine:
    engine = make_engine(url, **options)
    migrate(engine)
    return engine
