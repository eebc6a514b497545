"""Schema migrations at open: an empty encrypted file upgrades revision by revision to head, the
result matches the SQLAlchemy models, an existing store is not migrated twice and keeps its data,
a store from a newer version refuses to open, and a wrong key is a clear error, not a crash."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from stores import store_with_nurse

from cik_ecrf.store import database
from cik_ecrf.store.api import Store
from cik_ecrf.store.database import DB_FILE
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.store.errors import StoreError
from cik_ecrf.store.models import Base

ROOT = Path(__file__).resolve().parents[2]
ADMIN, ADMIN_PW = "admin1", "Admin2024pass"
NURSE, NURSE_FIRST_PW, NURSE_PW = "nurse1", "Welcome2024x", "Ward7night42"
DEMOGRAPHICS = {"SUBJINIT": "MGR", "BRTHDAT": "2001-06-15", "SEX": "M", "ETHNIC": "HU"}


def revisions_in_order() -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(database.MIGRATIONS))
    return [rev.revision for rev in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]


def schema(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.exec_driver_sql(
                "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
            )
        ]


def diffs(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def make_store(directory: Path, study: Any) -> str:
    """A store with an admin, a nurse (password changed) and one subject with demographics."""
    store_with_nurse(directory, study, "MG01", (ADMIN, ADMIN_PW), (NURSE, NURSE_FIRST_PW, NURSE_PW))
    with Store.open(directory, NURSE, NURSE_PW, study=study) as nurse:
        subject = nurse.add_subject()
        nurse.save(SaveRequest(subject, "screening", "demographics", DEMOGRAPHICS, draft=True))
        return subject


def data_key(directory: Path, study: Any) -> bytes:
    with Store.open(directory, NURSE, NURSE_PW, study=study) as store:
        return store._data_key()


def cli(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIK_ECRF_PASSWORD": NURSE_PW}  # carries CIK_ECRF_KDF_MEMORY_KIB too
    return subprocess.run(
        [sys.executable, "-m", "cik_ecrf", *args, "--data-dir", str(directory), "--user", NURSE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for text in expected:
        assert text in lines[0], lines[0]


def file_digest(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.name.startswith(DB_FILE)
    }


# ------------------------------------------------------------------- (a) from nothing to head


@pytest.fixture
def migrated(tmp_path: Path) -> Any:
    """An empty encrypted file taken from no schema through every revision in order."""
    path = tmp_path / DB_FILE
    engine = database.make_engine(path, os.urandom(32))
    steps = []
    assert database.current_revision(engine) is None
    for revision in revisions_in_order():
        database.migrate(engine, path, revision)
        steps.append(database.current_revision(engine))
    database.migrate(engine, path, "head")
    yield engine, path, steps
    engine.dispose()


def test_an_empty_encrypted_file_upgrades_revision_by_revision_to_head(migrated: Any) -> None:
    engine, path, steps = migrated
    revisions = revisions_in_order()
    assert revisions[0] == "0001"
    assert steps == revisions
    assert database.current_revision(engine) == database.head_revision() == revisions[-1]
    with engine.connect() as conn:
        tables = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars())
        assert set(Base.metadata.tables) | {"alembic_version"} <= tables
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
        # the durability settings every connection gets
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == database.BUSY_TIMEOUT_MS
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()
    assert not path.read_bytes().startswith(b"SQLite format 3")  # encrypted from the first page


def test_the_migrated_schema_matches_the_models(migrated: Any) -> None:
    """Tables, columns, types, nullability, keys and indexes: models.py and the migrations agree."""
    engine, _, _ = migrated
    assert diffs(engine) == []


def test_a_new_store_has_the_same_schema_as_a_migrated_file(migrated: Any, tmp_path: Path) -> None:
    engine, _, _ = migrated
    directory = tmp_path / "new"
    Store.init(directory, "BJ01", ADMIN, ADMIN_PW)
    store = Store.open(directory, ADMIN, ADMIN_PW)
    try:
        assert schema(store.engine) == schema(engine)
    finally:
        store.close()


# ------------------------------------------------------------------ (b) a newer store refuses


def test_a_store_from_a_newer_version_refuses_to_open(tmp_path: Path, study: Any) -> None:
    directory = tmp_path / "store"
    make_store(directory, study)
    key = data_key(directory, study)
    engine = database.make_engine(directory / DB_FILE, key)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
        events = conn.exec_driver_sql("SELECT count(*) FROM audit_event").scalar()
    before = schema(engine)
    engine.dispose()

    with pytest.raises(StoreError, match="newer version") as refused:
        Store.open(directory, NURSE, NURSE_PW, study=study)
    assert "9999" in str(refused.value) and "\n" not in str(refused.value)

    assert_one_line_error(cli(directory, "audit", "verify"), "newer version", "9999")
    assert_one_line_error(cli(directory, "show", "BJ01-MG01-0001"), "newer version")

    # refused means untouched: not downgraded, not migrated, no login written
    engine = database.make_engine(directory / DB_FILE, key)
    try:
        assert database.current_revision(engine) == "9999"
        assert schema(engine) == before
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM audit_event").scalar() == events
    finally:
        engine.dispose()
    keyring = json.loads((directory / "keyring.json").read_text())
    assert keyring["pending_events"] == [] and not keyring["failures"].get(NURSE)


# ---------------------------------------------------------------- (c) reopening migrates nothing


def test_reopening_a_store_runs_no_migration_and_keeps_its_data(
    tmp_path: Path, study: Any, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "store"
    with caplog.at_level(logging.INFO, logger="alembic"):
        subject = make_store(directory, study)
    upgrades = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Running upgrade")]
    assert len(upgrades) == len(revisions_in_order()), upgrades  # each revision once, at init

    store = Store.open(directory, NURSE, NURSE_PW, study=study)
    before = schema(store.engine)
    store.close()
    for _ in range(3):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="alembic"):
            store = Store.open(directory, NURSE, NURSE_PW, study=study)
        try:
            assert not [r for r in caplog.records if r.getMessage().startswith("Running upgrade")]
            assert database.current_revision(store.engine) == database.head_revision()
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all() == [
                    database.head_revision()
                ]
            assert schema(store.engine) == before
            assert store.subject_numbers() == [subject]
            _, forms = store.subject_values(subject)
            assert [(f["visit"], f["form"], f["status"]) for f in forms] == [("screening", "demographics", "draft")]
            assert forms[0]["values"]["SUBJINIT"] == DEMOGRAPHICS["SUBJINIT"]
            assert store.verify_audit().ok
        finally:
            store.close()


def test_migrate_at_head_is_a_no_op(migrated: Any, caplog: pytest.LogCaptureFixture) -> None:
    engine, path, _ = migrated
    before = schema(engine)
    with caplog.at_level(logging.INFO, logger="alembic"):
        database.migrate(engine, path)
    assert not [r for r in caplog.records if r.getMessage().startswith("Running upgrade")]
    assert schema(engine) == before


# -------------------------------------------------------------------------- (d) a wrong key


def test_a_wrong_key_is_a_store_error_and_changes_nothing(tmp_path: Path, study: Any) -> None:
    directory = tmp_path / "store"
    subject = make_store(directory, study)
    digest = file_digest(directory)
    for _ in range(2):
        with pytest.raises(StoreError, match="cannot be read with this key"):
            database.open_engine(directory / DB_FILE, os.urandom(32))
    assert file_digest(directory) == digest
    with Store.open(directory, NURSE, NURSE_PW, study=study) as store:  # the right key still opens it
        assert store.subject_numbers() == [subject]


def test_a_keyring_from_another_store_is_a_store_error(tmp_path: Path, study: Any) -> None:
    """keyring.json restored from the wrong backup: the password unwraps a key, but not this file's.
    The CLI says so in one line (SQLCipher's own error log must not reach stderr)."""
    here, there = tmp_path / "here", tmp_path / "there"
    make_store(here, study)
    make_store(there, study)
    shutil.copy(there / "keyring.json", here / "keyring.json")
    digest = file_digest(here)
    with pytest.raises(StoreError, match="cannot be read with this key"):
        Store.open(here, NURSE, NURSE_PW, study=study)
    assert_one_line_error(cli(here, "audit", "verify"), "cannot be read with this key")
    assert file_digest(here) == digest


def test_files_that_are_not_stores_are_store_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store here"):
        database.open_engine(tmp_path / "missing.db", os.urandom(32))
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(8192))
    with pytest.raises(StoreError, match="cannot be read with this key"):
        database.open_engine(junk, os.urandom(32))
    plain = tmp_path / "plain.db"
    with sqlite3.connect(plain) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(StoreError, match="cannot be read with this key"):
        database.open_engine(plain, os.urandom(32))
