"""Storage faults reach the desktop client as refusals (the one-line text its dialogs show), through the
real store worker thread: never a bug report, never a dead worker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cik_ecrf.store.api import Store
from cik_ecrf.store.files import DB_FILE

pytest.importorskip("pytestqt")

NURSE, PASSWORD = "nurse.lin", "Harbour2026x"


def test_a_damaged_store_is_a_refusal_in_the_client(tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    from cik_ecrf.ui.worker import StoreWorker

    store_dir = tmp_path / "store"
    Store.init(store_dir, "BJ01", NURSE, PASSWORD, role="nurse")
    with Store.open(store_dir, NURSE, PASSWORD) as store:
        for _ in range(30):
            store.add_subject()
    data = bytearray((store_dir / DB_FILE).read_bytes())
    data[len(data) // 2] ^= 0x20
    (store_dir / DB_FILE).write_bytes(bytes(data))
    worker = StoreWorker()
    bugs: list[str] = []
    worker.sig_bug.connect(bugs.append)
    refused: list[str] = []
    opened: list[Store] = []
    try:
        worker.submit(lambda: Store.open(store_dir, NURSE, PASSWORD), opened.append, refused.append)
        qtbot.waitUntil(lambda: bool(opened or refused))
        if opened:  # logged in read-only: the change is what is refused
            worker.submit(opened[0].add_subject, on_refused=refused.append)
            qtbot.waitUntil(lambda: bool(refused))
        assert len(refused) == 1 and "\n" not in refused[0]
        assert "damaged" in refused[0] and "recover it from the server" in refused[0]
        assert bugs == []
        worker.submit(lambda: 1 + 1, opened.append)  # the worker lives on
        qtbot.waitUntil(lambda: 2 in opened)
    finally:
        for store in opened:
            if isinstance(store, Store):
                store.engine.dispose()
        worker.shutdown()


@pytest.mark.skipif(sys.platform != "linux", reason="bind mounts are Linux")
def test_a_read_only_store_opens_in_the_client_and_refuses_a_change(tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    from cik_ecrf.ui.worker import StoreWorker

    source = tmp_path / "rw"
    Store.init(source / "store", "BJ01", NURSE, PASSWORD, role="nurse")
    view = tmp_path / "ro"
    view.mkdir()
    done = subprocess.run(["mount", "--bind", str(source), str(view)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount ({done.stderr.strip()}): needs root or CAP_SYS_ADMIN")
    worker = StoreWorker()
    opened: list[Store] = []
    refused: list[str] = []
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
        worker.submit(lambda: Store.open(view / "store", NURSE, PASSWORD), opened.append, refused.append)
        qtbot.waitUntil(lambda: bool(opened or refused))
        assert refused == [] and len(opened) == 1
        worker.submit(opened[0].add_subject, on_refused=refused.append)
        qtbot.waitUntil(lambda: bool(refused))
        assert "read-only folder or medium: it can be read but not changed" in refused[0]
    finally:
        for store in opened:
            store.engine.dispose()
        worker.shutdown()
        subprocess.run(["umount", "--lazy", str(view)], check=False)
