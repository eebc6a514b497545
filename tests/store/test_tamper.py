"""Tampering with the audit trail, and reading the file without the key.

Someone holding the data key edits, deletes, reorders or truncates audit rows through a raw
SQLCipher connection; `Store.verify_audit()` and `cik-ecrf audit verify` must name the first broken
link. Without the key the file is noise: plain sqlite3 refuses it and no entered text is in the bytes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlcipher3
from stores import store_with_nurse

from cik_ecrf.store import audit
from cik_ecrf.store.api import Store
from cik_ecrf.store.database import DB_FILE
from cik_ecrf.store.entry import SaveRequest

ROOT = Path(__file__).resolve().parents[2]
ADMIN, ADMIN_PW = "admin1", "Admin2024pass"
NURSE, NURSE_FIRST_PW, NURSE_PW = "nurse1", "Welcome2024x", "Ward7night42"
INITIALS = "QZX"
# Only texts of 8+ bytes are looked for in ciphertext: a 3-byte marker such as the initials turns up
# by chance in ~0.6 % of 100 KiB of random bytes, which made this test flaky.
SECRET_TEXTS = ["Headache QZX", "Protocol v2.1 WQJ", "Migraine KPW"]
COLUMNS = ["seq", *audit.HASHED[:-1], "prev_hash", "hash"]  # HASHED ends with prev_hash


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, study: Any) -> Path:
    """A closed store with users, a subject, three forms and a reasoned change."""
    directory = tmp_path_factory.mktemp("tamper") / "store"
    store_with_nurse(directory, study, "TP01", (ADMIN, ADMIN_PW), (NURSE, NURSE_FIRST_PW, NURSE_PW))
    with Store.open(directory, NURSE, NURSE_PW, study=study) as nurse:
        enter_data(nurse)
    return directory


def enter_data(store: Store) -> str:
    subject = store.add_subject()
    store.save(
        SaveRequest(
            subject,
            "screening",
            "consent",
            {"ICFVER": "Protocol v2.1 WQJ", "ICFDAT": "2024-03-01", "SUBJSIGN": "Y", "GRDSIGN": "N", "LTFUCONS": "Y"},
        )
    )
    store.save(
        SaveRequest(
            subject,
            "screening",
            "demographics",
            {"SUBJINIT": INITIALS, "BRTHDAT": "2000-02-02", "SEX": "F", "ETHNIC": "HA", "CHILDPOT": "N"},
        )
    )
    ae = {
        "AETERM": "Headache QZX",
        "AECAT": "OTHER",
        "AESTDAT": "2024-05-01",
        "AEONGO": "Y",
        "AETOXGR": 1,
        "AESER": "N",
        "AEREL": "UNLIKELY",
        "AEOUT": "RECOVERING",
    }
    first = store.save(SaveRequest(subject, "subject", "adverse_events", ae)).instance_id
    store.save(
        SaveRequest(
            subject,
            "subject",
            "adverse_events",
            {"AETOXGR": 2},
            instance=first,
            reason="grade re-assessed by the investigator",
        )
    )
    store.save(SaveRequest(subject, "subject", "adverse_events", {**ae, "AETERM": "Migraine KPW"}))
    return subject


@pytest.fixture
def store_dir(template: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "store"
    shutil.copytree(template, directory)
    return directory


@pytest.fixture
def store(store_dir: Path, study: Any) -> Iterator[Store]:
    opened = Store.open(store_dir, NURSE, NURSE_PW, study=study)
    yield opened
    opened.engine.dispose()  # no close(): a logout event would be chained after the tampering


@contextlib.contextmanager
def raw(store: Store) -> Iterator[sqlcipher3.Connection]:
    """What an attacker with the data key has: a plain SQLCipher connection, no store code.
    Commits what was done on leaving the block."""
    conn = sqlcipher3.connect(str(store.directory / DB_FILE))
    try:
        conn.execute(f"PRAGMA key = \"x'{store._data_key().hex()}'\"")
        conn.row_factory = sqlcipher3.Row
        with conn:
            yield conn
    finally:
        conn.close()


def rows(conn: sqlcipher3.Connection) -> list[sqlcipher3.Row]:
    return conn.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_event ORDER BY seq").fetchall()


def middle(conn: sqlcipher3.Connection) -> int:
    """The seq of a value_set event in the middle of the trail (with events before and after it)."""
    seqs = [r["seq"] for r in rows(conn)]
    value_sets = [r["seq"] for r in rows(conn) if r["action"] == "value_set" and seqs[2] < r["seq"] < seqs[-3]]
    return value_sets[len(value_sets) // 2]


def rehash(row: dict[str, Any]) -> str:
    return audit.event_hash(SimpleNamespace(**{name: row[name] for name in audit.HASHED}))  # type: ignore[arg-type]


def cli_verify(directory: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIK_ECRF_PASSWORD": NURSE_PW}  # carries CIK_ECRF_KDF_MEMORY_KIB too
    return subprocess.run(
        [sys.executable, "-m", "cik_ecrf", "audit", "verify", "--data-dir", str(directory), "--user", NURSE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def assert_cli_broken(directory: Path, *expected: str) -> None:
    result = cli_verify(directory)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("audit trail BROKEN: "), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]


# ---------------------------------------------------------------------------------------- intact


def test_an_untouched_trail_verifies(store: Store, store_dir: Path) -> None:
    check = store.verify_audit()
    assert check.ok and check.problem is None
    with raw(store) as conn:
        assert check.events == len(rows(conn)) > 20
    result = cli_verify(store_dir)
    assert result.returncode == 0, result.stderr
    assert "audit trail intact" in result.stdout


# --------------------------------------------------------------------------- (a) an edited column


INTEGER_COLUMNS = {"device_seq", "utc_offset_min", "base_version"}


def _changed(column: str, value: Any) -> Any:
    if value is None:
        return 1 if column in INTEGER_COLUMNS else "x"
    if isinstance(value, int):
        return value + 1
    return value + "x"


@pytest.mark.parametrize("column", [c for c in COLUMNS if c != "seq"])
def test_editing_any_column_of_a_middle_row_is_caught(store: Store, column: str) -> None:
    with raw(store) as conn:
        seq = middle(conn)
        before = conn.execute(f"SELECT {column} FROM audit_event WHERE seq = ?", (seq,)).fetchone()[0]
        conn.execute(f"UPDATE audit_event SET {column} = ? WHERE seq = ?", (_changed(column, before), seq))
    check = store.verify_audit()
    assert not check.ok
    assert check.seq == seq
    assert f"event #{seq} " in check.problem
    # a changed prev_hash no longer points at the row before; anything else breaks the row's own hash
    assert ("does not follow" if column == "prev_hash" else "was altered after it was written") in check.problem


def test_an_edited_value_is_named_by_the_cli(store: Store, store_dir: Path) -> None:
    with raw(store) as conn:
        seq = middle(conn)
        conn.execute("UPDATE audit_event SET new_json = '\"forged\"' WHERE seq = ?", (seq,))
    check = store.verify_audit()
    assert not check.ok and check.seq == seq and "altered" in check.problem
    assert "(value_set, " in check.problem
    store.engine.dispose()
    assert_cli_broken(store_dir, f"event #{seq} (value_set", "altered")


# --------------------------------------------------------------------------- (b) a deleted row


def test_deleting_a_middle_row_is_caught(store: Store, store_dir: Path) -> None:
    with raw(store) as conn:
        seq = middle(conn)
        following = conn.execute("SELECT min(seq) FROM audit_event WHERE seq > ?", (seq,)).fetchone()[0]
        conn.execute("DELETE FROM audit_event WHERE seq = ?", (seq,))
    check = store.verify_audit()
    assert not check.ok
    assert check.seq == following
    assert f"event #{following} " in check.problem and "does not follow" in check.problem
    store.engine.dispose()
    assert_cli_broken(store_dir, f"event #{following} ", "does not follow")


def test_deleting_the_first_row_is_caught(store: Store) -> None:
    with raw(store) as conn:
        first, second = (r["seq"] for r in rows(conn)[:2])
        conn.execute("DELETE FROM audit_event WHERE seq = ?", (first,))
    check = store.verify_audit()
    assert not check.ok and check.seq == second and "does not follow" in check.problem


# --------------------------------------------------------------------------- (c) reordered rows


def _swap_contents(conn: sqlcipher3.Connection, a: int, b: int) -> None:
    """Exchange everything but seq between two rows (ids are unique, so park one first)."""
    row_a, row_b = (
        dict(conn.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_event WHERE seq = ?", (s,)).fetchone())
        for s in (a, b)
    )
    names = [c for c in COLUMNS if c != "seq"]
    assignments = ", ".join(f"{c} = :{c}" for c in names)
    conn.execute("UPDATE audit_event SET id = 'parked' WHERE seq = ?", (a,))
    conn.execute(f"UPDATE audit_event SET {assignments} WHERE seq = :seq", {**row_a, "seq": b})
    conn.execute(f"UPDATE audit_event SET {assignments} WHERE seq = :seq", {**row_b, "seq": a})


@pytest.mark.parametrize("distance", [1, 4])
def test_swapping_two_rows_is_caught(store: Store, store_dir: Path, distance: int) -> None:
    with raw(store) as conn:
        seq = middle(conn)
        seqs = [r["seq"] for r in rows(conn)]
        other = seqs[seqs.index(seq) + distance]
        _swap_contents(conn, seq, other)
        # both rows are intact in themselves: only their order is wrong
        for r in rows(conn):
            assert rehash(dict(r)) == r["hash"]
    check = store.verify_audit()
    assert not check.ok
    assert check.seq == seq
    assert f"event #{seq} " in check.problem and "does not follow" in check.problem
    if distance == 1:
        store.engine.dispose()
        assert_cli_broken(store_dir, f"event #{seq} ", "does not follow")


def test_renumbering_rows_is_caught(store: Store) -> None:
    """Reordering through the sequence numbers themselves (seq is not hashed, order is)."""
    with raw(store) as conn:
        seq = middle(conn)
        after = conn.execute("SELECT min(seq) FROM audit_event WHERE seq > ?", (seq,)).fetchone()[0]
        conn.execute("UPDATE audit_event SET seq = -1 WHERE seq = ?", (seq,))
        conn.execute("UPDATE audit_event SET seq = ? WHERE seq = ?", (seq, after))
        conn.execute("UPDATE audit_event SET seq = ? WHERE seq = -1", (after,))
    check = store.verify_audit()
    assert not check.ok and check.seq == seq and "does not follow" in check.problem


# --------------------------------------------------------------------------- (d) a truncated tail


@pytest.mark.parametrize("removed", [1, 3])
def test_deleting_the_last_rows_is_caught(store: Store, store_dir: Path, removed: int) -> None:
    with raw(store) as conn:
        total = len(rows(conn))
        last = [r["seq"] for r in rows(conn)[-removed:]]
        conn.executemany("DELETE FROM audit_event WHERE seq = ?", [(s,) for s in last])
    check = store.verify_audit()
    assert not check.ok
    assert "removed from the end" in check.problem
    assert f"ends after {total - removed} events but {total} were written" in check.problem
    store.engine.dispose()
    # the CLI's own login is chained to the recorded head, so the first broken link is that event
    assert_cli_broken(store_dir, "does not follow")


def test_deleting_the_last_rows_and_the_recorded_count_is_still_caught(store: Store) -> None:
    with raw(store) as conn:
        last = rows(conn)[-1]["seq"]
        conn.execute("DELETE FROM audit_event WHERE seq = ?", (last,))
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) - 1 WHERE key = ?", (audit.COUNT_KEY,))
    check = store.verify_audit()
    assert not check.ok and "removed from the end" in check.problem


# ---------------------------------------------------------------- (e) a tampered row, re-hashed


def test_rehashing_a_tampered_row_is_caught_by_the_next_link(store: Store, store_dir: Path) -> None:
    with raw(store) as conn:
        seq = middle(conn)
        row = dict(conn.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_event WHERE seq = ?", (seq,)).fetchone())
        row["new_json"] = '"forged"'
        conn.execute("UPDATE audit_event SET new_json = ?, hash = ? WHERE seq = ?", (row["new_json"], rehash(row), seq))
        following = conn.execute("SELECT min(seq) FROM audit_event WHERE seq > ?", (seq,)).fetchone()[0]
    check = store.verify_audit()
    assert not check.ok
    assert check.seq == following, check.problem  # the tampered row itself now looks whole
    assert f"event #{following} " in check.problem and "does not follow" in check.problem
    store.engine.dispose()
    assert_cli_broken(store_dir, f"event #{following} ", "does not follow")


def test_rehashing_the_whole_rest_of_the_chain_is_caught_by_the_recorded_head(store: Store) -> None:
    with raw(store) as conn:
        seq = middle(conn)
        previous = None
        for r in rows(conn):
            row = dict(r)
            if row["seq"] < seq:
                continue
            if row["seq"] == seq:
                row["reason"] = "forged reason"
            else:
                row["prev_hash"] = previous
            row["hash"] = rehash(row)
            conn.execute(
                "UPDATE audit_event SET reason = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (row["reason"], row["prev_hash"], row["hash"], row["seq"]),
            )
            previous = row["hash"]
    check = store.verify_audit()
    assert not check.ok and "removed from the end" in check.problem  # the chain is whole, the head is not its end


def test_rehashing_the_tampered_last_row_is_caught_by_the_recorded_head(store: Store) -> None:
    with raw(store) as conn:
        row = dict(rows(conn)[-1])
        row["username"] = "someone-else"
        conn.execute(
            "UPDATE audit_event SET username = ?, hash = ? WHERE seq = ?", (row["username"], rehash(row), row["seq"])
        )
    check = store.verify_audit()
    assert not check.ok and check.problem


# ------------------------------------------------------------------------------ without the key


def _bytes(directory: Path) -> dict[str, bytes]:
    return {
        name: (directory / name).read_bytes()
        for name in (DB_FILE, DB_FILE + "-wal", "keyring.json")
        if (directory / name).exists()
    }


def test_the_file_is_noise_without_the_key(tmp_path: Path, study: Any) -> None:
    directory = tmp_path / "store"
    store_with_nurse(directory, study, "TP01", (ADMIN, ADMIN_PW), (NURSE, NURSE_FIRST_PW, NURSE_PW))
    store = Store.open(directory, NURSE, NURSE_PW, study=study)
    subject = enter_data(store)
    key = store._data_key()

    def check_noise(when: str) -> None:
        files = _bytes(directory)
        assert files[DB_FILE], when
        for name, content in files.items():
            for text in [*SECRET_TEXTS, subject]:
                assert text.encode("utf-8") not in content, f"{when}: {text!r} readable in {name}"
            assert key.hex().encode() not in content and key not in content, f"{when}: the data key is in {name}"
        for name in (DB_FILE, DB_FILE + "-wal"):
            if name in files:
                assert b"SQLite format 3" not in files[name][:100], f"{when}: {name} has a plain SQLite header"
        with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
            conn = sqlite3.connect(directory / DB_FILE)
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                conn.close()

    # while the store is open (the WAL holds the latest pages) and after it is closed
    assert (directory / (DB_FILE + "-wal")).exists()
    check_noise("open")
    store.close()
    check_noise("closed")

    # and the same text is there for whoever has the key
    with Store.open(directory, NURSE, NURSE_PW, study=study) as again:
        _, forms = again.subject_values(subject)
        assert any(f["values"].get("SUBJINIT") == INITIALS for f in forms)


def test_a_raw_connection_with_the_wrong_key_reads_nothing(store: Store) -> None:
    conn = sqlcipher3.connect(str(store.directory / DB_FILE))
    conn.execute(f"PRAGMA key = \"x'{os.urandom(32).hex()}'\"")
    with pytest.raises(sqlcipher3.DatabaseError, match="file is not a database"):
        conn.execute("SELECT count(*) FROM audit_event").fetchone()
    conn.close()
