"""Storage faults on real files and real filesystems: one clear line, nothing half-written.

A full disk is a real small tmpfs, read-only media a real read-only bind mount (both need root or
CAP_SYS_ADMIN; the tests say so and skip otherwise). Corruption is bytes flipped in a real store.db; a
rollback is a real crash (a child process that exits without closing) followed by a deleted WAL, or an
older copy of store.db put back.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cik_ecrf.cli import main
from cik_ecrf.store import faults
from cik_ecrf.store.api import Store
from cik_ecrf.store.files import DAMAGED_FILE, DB_FILE, HEAD_FILE, KEYRING_FILE

NURSE, PASSWORD = "nurse.lin", "Harbour2026x"


def run(directory: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    capsys.readouterr()
    code = main([*args, "--data-dir", str(directory), "--user", NURSE])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out.splitlines(), err.splitlines()


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)


def make_store(directory: Path, subjects: int = 3) -> list[str]:
    Store.init(directory, "BJ01", NURSE, PASSWORD, role="nurse")
    with Store.open(directory, NURSE, PASSWORD) as store:
        for _ in range(subjects):
            store.add_subject()
        return store.subject_numbers()


def numbers(directory: Path) -> list[str]:
    with Store.open(directory, NURSE, PASSWORD) as store:
        return store.subject_numbers()


@contextlib.contextmanager
def mounted(target: Path, *options: str) -> Iterator[Path]:
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *options, str(target)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount ({done.stderr.strip() or done.returncode}): needs root or CAP_SYS_ADMIN")
    try:
        yield target
    finally:
        subprocess.run(["umount", "--lazy", str(target)], check=False)


# ---------------------------------------------------------------------------------------- disk full


def fill(directory: Path) -> Path:
    """Write a filler file until the filesystem refuses (ENOSPC)."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


def test_disk_full_is_one_line_and_nothing_half_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if sys.platform != "linux":
        pytest.skip("a tmpfs is a Linux filesystem")
    with mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=3m", "tmpfs") as disk:
        store_dir = disk / "store"
        before = make_store(store_dir)
        opened = Store.open(store_dir, NURSE, PASSWORD)
        filler = fill(disk)
        with pytest.raises(faults.StoreFull, match="the disk is full, so this was not saved"):
            for _ in range(200):  # the WAL may still have room for a few small commits
                opened.add_subject()
        with pytest.raises(faults.StoreFull):
            opened.close()  # even the logout cannot be written; the engine is let go all the same
        opened.engine.dispose()
        code, out, err = run(store_dir, "subject", "add", capsys=capsys)
        assert (code, out) == (1, [])
        assert len(err) == 1 and err[0].startswith("error: ") and "disk is full" in err[0], err
        filler.unlink()
        after = numbers(store_dir)
        assert after[: len(before)] == before and len(set(after)) == len(after)
        code, out, _err = run(store_dir, "audit", "verify", capsys=capsys)
        assert code == 0 and out[0].startswith("audit trail intact"), out
        assert not (store_dir / DAMAGED_FILE).exists()


def test_keyring_write_on_a_full_disk_leaves_the_old_file_whole(tmp_path: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("a tmpfs is a Linux filesystem")
    with mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=3m", "tmpfs") as disk:
        store_dir = disk / "store"
        make_store(store_dir, subjects=0)
        keyring = (store_dir / KEYRING_FILE).read_bytes()
        store = Store.open(store_dir, NURSE, PASSWORD)
        fill(disk)
        with pytest.raises(faults.StoreFull):
            store.change_password(PASSWORD, "Lantern4477q")  # a new wrapped key for the keyring
        store.engine.dispose()
        assert (store_dir / KEYRING_FILE).read_bytes() == keyring
        assert not [p for p in store_dir.iterdir() if p.name.endswith(".tmp")]
        (disk / "filler").unlink()
        assert numbers(store_dir) == []  # the old password still opens it


# ---------------------------------------------------------------------------------------- read-only


def test_a_read_only_store_can_be_read_and_refuses_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if sys.platform != "linux":
        pytest.skip("bind mounts are Linux")
    source = tmp_path / "rw"
    before = make_store(source / "store")
    keyring = (source / "store" / KEYRING_FILE).read_bytes()
    view = tmp_path / "ro"
    with mounted(view, "--bind", str(source)):
        done = subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot remount read-only: {done.stderr.strip()}")
        store_dir = view / "store"
        code, out, err = run(store_dir, "subject", "list", capsys=capsys)
        assert (code, out) == (0, before)
        assert err == [f"warning: {store_dir}: opened read-only; changes are refused"]
        code, out, err = run(store_dir, "subject", "add", capsys=capsys)
        assert code == 1 and out == [] and len(err) == 2
        assert "read-only folder or medium: it can be read but not changed" in err[1]
        code, out, err = run(store_dir, "audit", "verify", capsys=capsys)
        assert code == 0 and out[0].startswith("audit trail intact")
        # a wrong password is refused as usual (it cannot be counted on a medium nothing can be written to)
        os.environ["CIK_ECRF_PASSWORD"] = "Wrong2026pass"
        code, _out, err = run(store_dir, "subject", "list", capsys=capsys)
        assert code == 1 and err == ["error: unknown user or wrong password"]
        assert sorted(p.name for p in store_dir.iterdir()) == sorted(p.name for p in (source / "store").iterdir())
    assert (source / "store" / KEYRING_FILE).read_bytes() == keyring  # no login rewrote it


# ---------------------------------------------------------------------------------------- damage


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pristine") / "store"
    make_store(directory, subjects=40)
    return directory


FLIPS = [0, 20, 100, 1000, 4146, 8192 + 4000, 16, 4096 * 3 + 7, 4096 * 5, -100, -5000, "middle"]


@pytest.mark.parametrize("offset", FLIPS)
def test_a_flipped_byte_refuses_changes_in_one_line(
    pristine: Path, tmp_path: Path, offset: int | str, capsys: pytest.CaptureFixture[str]
) -> None:
    store_dir = tmp_path / "store"
    shutil.copytree(pristine, store_dir)
    data = bytearray((store_dir / DB_FILE).read_bytes())
    at = len(data) // 2 if offset == "middle" else int(offset)
    data[at] ^= 0x40
    (store_dir / DB_FILE).write_bytes(bytes(data))
    for _ in range(2):  # and again, once the damage is on record
        code, out, err = run(store_dir, "subject", "add", capsys=capsys)
        assert code == 1 and out == []
        errors = [line for line in err if line.startswith("error: ")]
        assert len(errors) == 1 and all(line.startswith(("error: ", "warning: ")) for line in err), err
        assert "recover it from the server" in errors[0] and "or from a backup copy" in errors[0]
    code, out, err = run(store_dir, "subject", "list", capsys=capsys)
    assert "Traceback" not in "\n".join(err)
    if code == 0:  # what can still be read is readable, and it never grew
        assert set(out) <= set(numbers_of(pristine))


def numbers_of(directory: Path) -> list[str]:
    return numbers(directory)


def test_a_truncated_store_refuses_in_one_line(
    pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_dir = tmp_path / "store"
    shutil.copytree(pristine, store_dir)
    with open(store_dir / DB_FILE, "r+b") as handle:
        handle.truncate((store_dir / DB_FILE).stat().st_size // 2)
    code, out, err = run(store_dir, "subject", "add", capsys=capsys)
    assert code == 1 and out == [] and len(err) == 1
    assert "damaged" in err[0] and "recover it from the server" in err[0]


def test_damage_found_while_working_is_marked_and_refuses_later_writes(
    pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_dir = tmp_path / "store"
    shutil.copytree(pristine, store_dir)
    store = Store.open(store_dir, NURSE, PASSWORD)
    data = bytearray((store_dir / DB_FILE).read_bytes())
    for page in range(2, len(data) // 4096):  # every page but the first: the open engine meets it on its next read
        data[page * 4096 + 100] ^= 0x01
    with open(store_dir / DB_FILE, "r+b") as handle:
        handle.write(bytes(data))
    with pytest.raises(faults.StoreDamaged, match="recover it from the server"):
        store.subject_numbers()
    store.engine.dispose()
    assert (store_dir / DAMAGED_FILE).exists()


# ---------------------------------------------------------------------------------------- rollback

CRASH = """
import os, sys
from pathlib import Path
from cik_ecrf.store.api import Store
store = Store.open(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
for _ in range(3):
    store.add_subject()
os._exit(0)  # a crash: no checkpoint, the commits are in store.db-wal only
"""


def test_a_deleted_wal_after_a_crash_is_found_audited_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_dir = tmp_path / "store"
    before = make_store(store_dir)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run([sys.executable, "-c", CRASH, str(store_dir), NURSE, PASSWORD], check=True, env=env)
    assert (store_dir / f"{DB_FILE}-wal").stat().st_size > 0
    (store_dir / f"{DB_FILE}-wal").unlink()
    (store_dir / f"{DB_FILE}-shm").unlink(missing_ok=True)
    code, out, err = run(store_dir, "subject", "list", capsys=capsys)
    assert (code, out) == (0, before)  # the three crashed-in subjects are gone, and that is said
    assert len(err) == 1 and err[0].startswith("warning: committed work has vanished"), err
    code, out, err = run(store_dir, "audit", "verify", capsys=capsys)
    assert code == 1 and out == []
    assert err[-1].startswith("audit trail INCOMPLETE") and "committed work has vanished" in err[0]
    with Store.open(store_dir, NURSE, PASSWORD) as store:
        found = [e for e in store.audit_events() if e.action == "store_rolled_back"]
    assert len(found) == 1 and found[0].username == NURSE  # audited once, by the login that found it


def test_an_older_copy_put_back_is_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store_dir = tmp_path / "store"
    make_store(store_dir)
    backup = tmp_path / "backup.db"
    shutil.copy2(store_dir / DB_FILE, backup)
    with Store.open(store_dir, NURSE, PASSWORD) as store:
        store.add_subject()
    shutil.copy2(backup, store_dir / DB_FILE)
    code, _out, err = run(store_dir, "subject", "add", capsys=capsys)
    assert code == 0 and len(err) == 1 and "committed work has vanished" in err[0]
    code, _out, err = run(store_dir, "subject", "list", capsys=capsys)
    assert code == 0 and err == []  # reported once; the record follows the store again
    code, _out, err = run(store_dir, "audit", "verify", capsys=capsys)
    assert code == 1 and "INCOMPLETE" in err[-1]


def test_normal_work_and_clean_closes_never_raise_the_alarm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store_dir = tmp_path / "store"
    make_store(store_dir)
    for _ in range(3):
        code, _out, err = run(store_dir, "subject", "add", capsys=capsys)
        assert (code, err) == (0, [])
    code, out, err = run(store_dir, "audit", "verify", capsys=capsys)
    assert code == 0 and err == [] and out[0].startswith("audit trail intact")


# ---------------------------------------------------------------------------------------- permissions


@pytest.mark.skipif(os.name != "posix", reason="owner-only modes are POSIX")
def test_store_files_are_owner_only(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    make_store(store_dir)
    store = Store.open(store_dir, NURSE, PASSWORD)  # open: the -wal and -shm exist now
    try:
        store.add_subject()
        names = {p.name for p in store_dir.iterdir()}
        assert {DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm", KEYRING_FILE, HEAD_FILE} <= names
        for path in store_dir.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    finally:
        store.close()


def test_large_stores_are_scanned_weekly_and_audit_verify_always_scans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cik_ecrf.store import integrity

    monkeypatch.setattr(integrity, "SCAN_EVERY_LOGIN_BYTES", 0)  # every store counts as large here
    store_dir = tmp_path / "store"
    make_store(store_dir, subjects=40)

    def scanned() -> str:
        with Store.open(store_dir, NURSE, PASSWORD) as store, store.unit_of_work() as session:
            return (
                session.connection()
                .exec_driver_sql("SELECT value FROM meta WHERE key = ?", (integrity.SCANNED_KEY,))
                .scalar_one()
            )

    first = scanned()
    assert scanned() == first  # within the week: not scanned again
    store = Store.open(store_dir, NURSE, PASSWORD)
    with store.engine.connect() as conn:  # every page in store.db itself, none waiting in the WAL
        conn.connection.dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray((store_dir / DB_FILE).read_bytes())
    data[len(data) - 4096 + 200] ^= 0x10  # the last page
    with open(store_dir / DB_FILE, "r+b") as handle:
        handle.write(bytes(data))
    found = integrity.scan(store.engine, store_dir)  # what `audit verify` runs first
    store.engine.dispose()
    assert found and (store_dir / DAMAGED_FILE).exists()
    code, out, err = run(store_dir, "audit", "verify", capsys=capsys)
    assert code == 1 and out == [] and len(err) == 1
    assert "damaged" in err[0].lower() and "recover it from the server" in err[0], err
    code, _out, err = run(store_dir, "subject", "add", capsys=capsys)  # and from now on it refuses changes
    assert code == 1 and "damaged" in err[-1] and "recover it from the server" in err[-1]


def test_a_head_record_left_by_an_earlier_store_is_not_an_alarm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_dir = tmp_path / "store"
    make_store(store_dir, subjects=5)
    left = (store_dir / HEAD_FILE).read_bytes()
    shutil.rmtree(store_dir)
    store_dir.mkdir()
    (store_dir / HEAD_FILE).write_bytes(left)  # the old store was deleted by hand, its record stayed
    make_store(store_dir, subjects=1)
    code, _out, err = run(store_dir, "subject", "list", capsys=capsys)
    assert (code, err) == (0, [])
    assert (store_dir / HEAD_FILE).read_bytes() != left


def test_init_on_a_full_disk_says_so_and_leaves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if sys.platform != "linux":
        pytest.skip("a tmpfs is a Linux filesystem")
    with mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=1m", "tmpfs") as disk:
        fill(disk)
        capsys.readouterr()
        code = main(["init", "--site", "BJ01", "--admin", NURSE, "--data-dir", str(disk / "store")])
        err = capsys.readouterr().err.splitlines()
        assert code == 1 and len(err) == 1 and "the disk is full" in err[0], err
        assert list((disk / "store").iterdir()) == []


def test_a_damaged_store_can_still_be_read(pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store_dir = tmp_path / "store"
    shutil.copytree(pristine, store_dir)
    data = bytearray((store_dir / DB_FILE).read_bytes())
    data[len(data) - 4096 + 200] ^= 0x10  # the last page: a subject list does not need it
    (store_dir / DB_FILE).write_bytes(bytes(data))
    keyring = (store_dir / KEYRING_FILE).read_bytes()
    for _ in range(2):
        code, out, err = run(store_dir, "subject", "list", capsys=capsys)
        assert code == 0 and len(out) == 40
        assert err[0].startswith("warning: store.db ") and "damaged" in err[0]
        assert err[-1] == f"warning: {store_dir}: opened read-only; changes are refused"
    assert (store_dir / KEYRING_FILE).read_bytes() == keyring  # nothing piles up where it cannot be audited


def test_a_full_scan_that_finds_the_store_sound_lifts_an_old_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_dir = tmp_path / "store"
    make_store(store_dir)
    faults.mark_damaged(store_dir / DB_FILE, "disk I/O error")  # a fault met once, since gone
    code, _out, err = run(store_dir, "subject", "add", capsys=capsys)
    assert code == 1 and "damaged" in err[-1]
    code, out, err = run(store_dir, "audit", "verify", capsys=capsys)
    assert code == 0 and out[0].startswith("audit trail intact")
    assert err == ["note: store.db passes a full scan now; the earlier damage mark is removed"]
    code, _out, err = run(store_dir, "subject", "add", capsys=capsys)
    assert (code, err) == (0, [])


@pytest.mark.parametrize("content", [b"", b'{"format": 1, "users": {', b"\x00" * 64, b"[]"])
def test_a_damaged_keyring_is_one_line(tmp_path: Path, content: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    store_dir = tmp_path / "store"
    make_store(store_dir, subjects=0)
    (store_dir / KEYRING_FILE).write_bytes(content)
    code, out, err = run(store_dir, "subject", "list", capsys=capsys)
    assert code == 1 and out == [] and len(err) == 1
    assert err[0].startswith(f"error: {store_dir / KEYRING_FILE}: "), err


def test_an_unreadable_head_record_is_reported_once_and_rewritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_dir = tmp_path / "store"
    make_store(store_dir)
    (store_dir / HEAD_FILE).write_bytes(b"\x00garbage")
    code, _out, err = run(store_dir, "subject", "list", capsys=capsys)
    assert code == 0 and len(err) == 1 and err[0].startswith("warning: ") and "could not be checked" in err[0]
    code, _out, err = run(store_dir, "subject", "list", capsys=capsys)
    assert (code, err) == (0, [])
