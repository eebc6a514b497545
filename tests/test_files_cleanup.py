"""Files that must not be left behind: the demo's throw-away store, and PDFs handed to Windows' spooler.

The demo runs in a real child process with its own temporary directory; the print-spool tidying is the
same code Windows runs, on real files with real modification times.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from cik_ecrf import demo
from cik_ecrf.ui import printing

ROOT = Path(__file__).resolve().parents[1]
DEMO = """
from cik_ecrf.demo import throwaway_store
from cik_ecrf.definitions.loader import load_study
from cik_ecrf.store.api import Store
from cik_ecrf.demo import NURSE, NURSE_PASSWORD
path = throwaway_store(load_study())
with Store.open(path, NURSE, NURSE_PASSWORD) as store:
    assert len(store.subject_numbers()) == 4
print(path, flush=True)
"""


def test_the_demo_store_is_removed_when_the_process_exits(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path), "TEMP": str(tmp_path), "TMP": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", DEMO], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=True
    )
    store = Path(done.stdout.strip())
    assert store.parent.parent == tmp_path and store.parent.name.startswith(demo.DEMO_PREFIX)
    assert not store.parent.exists()
    assert list(tmp_path.iterdir()) == []


def test_demo_folders_of_dead_processes_are_removed_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    alive = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        folders = {}
        for name, pid in (("dead", dead_pid), ("alive", alive.pid), ("mine", os.getpid())):
            folder = tmp_path / f"{demo.DEMO_PREFIX}{name}"
            (folder / "store").mkdir(parents=True)
            (folder / "store" / "store.db").write_bytes(b"x")
            (folder / demo.OWNER_FILE).write_text(str(pid), encoding="ascii")
            folders[name] = folder
        old = tmp_path / f"{demo.DEMO_PREFIX}unowned"  # from a version that wrote no owner: by age
        old.mkdir()
        os.utime(old, (time.time() - 2 * demo.STALE_AFTER,) * 2)
        young = tmp_path / f"{demo.DEMO_PREFIX}unowned-young"
        young.mkdir()
        removed = demo.remove_stale_demos()
        assert sorted(removed) == sorted([folders["dead"], old])
        assert folders["alive"].exists() and folders["mine"].exists() and young.exists()
    finally:
        alive.communicate(b"")


def test_printing_hands_over_files_that_stay_until_old_enough(tmp_path: Path) -> None:
    folder = printing.spool_folder(tmp_path)
    assert folder.stat().st_mode & 0o777 == 0o700 or os.name != "posix"
    first = printing.hand_over(b"%PDF-1.7 first", folder)
    second = printing.hand_over(b"%PDF-1.7 second", folder)
    assert first != second and first.read_bytes() == b"%PDF-1.7 first"
    if os.name == "posix":
        assert first.stat().st_mode & 0o777 == 0o600
    now = time.time()
    assert printing.tidy(folder, now=now) == []  # just handed over: the spooler may not have it yet
    os.utime(first, (now - printing.KEEP_SECONDS - 1,) * 2)
    (folder / "notes.txt").write_text("not ours")
    assert printing.tidy(folder, now=now) == [first]
    assert not first.exists() and second.exists() and (folder / "notes.txt").exists()
    assert printing.tidy(folder, now=now + printing.KEEP_SECONDS) == [second]
