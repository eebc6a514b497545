"""Honest sync reports against a real server on loopback: the counts are what the server acknowledged,
also when the sync is cut off part way, and a sync that did everything (clearing a signature on the
way) exits 0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from live_server import PASSWORD, LiveServer, database_url, laptop, open_server_db, site_with_users
from proxy import Proxy
from sync_fixtures import VITALS, save, sync

from cik_ecrf.cli import main
from cik_ecrf.store.api import Store
from cik_ecrf.sync.client import SyncClient, describe

USERS = (("dr.li", "investigator"), ("nurse2", "nurse"))
BATCH = 4
PUSH = b"POST /api/v1/push"


def enter(store: Store, subjects: int) -> None:
    for _ in range(subjects):
        number = store.add_subject()
        for visit in ("D1", "D2"):
            save(store, number, visit, "vitals", VITALS)


def cut_after(proxy: Proxy, batches: int) -> None:
    """The reply to push number `batches + 1` is dropped (the server commits it; the laptop never hears)."""
    proxy.hook(PUSH, lambda: proxy.drop_reply(PUSH), nth=batches)


def test_an_interrupted_sync_counts_what_was_acknowledged(tmp_path: Path, study: Any) -> None:
    with database_url(tmp_path) as url:
        engine = open_server_db(url)
        site_with_users(engine, users=USERS)
        with LiveServer(engine) as server, Proxy(server.port) as proxy:
            a = laptop(tmp_path / "a", server.url, "nurse2", study)
            enter(a, subjects=3)
            waiting = a.sync_status().waiting
            assert waiting > 4 * BATCH
            a.set_sync_settings(server_url=proxy.url)
            cut_after(proxy, 3)
            outcome = SyncClient(a, push_batch=BATCH, pull_batch=BATCH).run()
            assert outcome.error is not None and proxy.dropped == 1
            # three batches acknowledged: their data changes (logins travel too, but are not what waits)
            assert outcome.to_push == waiting and 0 < outcome.pushed < waiting
            assert outcome.pushed + outcome.waiting == waiting
            line = describe(outcome)[0]
            assert line.startswith(f"pushed {outcome.pushed} of {waiting}, pulled 0, waiting {outcome.waiting}")
            assert line.endswith(f", then: {outcome.error}")
            proxy.disarm()
            again = SyncClient(a, push_batch=BATCH, pull_batch=BATCH).run()
            assert again.ok and again.pushed == outcome.waiting and again.to_push == again.pushed
            assert describe(again)[0].startswith(f"pushed {again.pushed}, pulled")  # nothing left: no "of"
            a.close()
        engine.dispose()


def test_the_cli_says_how_far_an_interrupted_sync_got(
    tmp_path: Path, study: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with database_url(tmp_path) as url:
        engine = open_server_db(url)
        site_with_users(engine, users=USERS)
        with LiveServer(engine) as server, Proxy(server.port) as proxy:
            a = laptop(tmp_path / "a", server.url, "nurse2", study)
            enter(a, subjects=3)
            waiting = a.sync_status().waiting
            a.set_sync_settings(server_url=proxy.url)
            a.close()
            cut_after(proxy, 2)
            monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
            capsys.readouterr()
            code = main(["sync", "--data-dir", str(tmp_path / "a"), "--user", "nurse2", "--batch", str(BATCH)])
            out, err = capsys.readouterr()
            assert code == 1
            first = out.splitlines()[0]
            assert first.startswith("pushed ") and f" of {waiting}, " in first and not first.startswith("pushed 0 ")
            assert ", then: " in out.splitlines()[0]
            assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err
        engine.dispose()


def test_a_sync_that_clears_a_signature_did_everything_and_exits_0(
    tmp_path: Path, study: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with database_url(tmp_path) as url:
        engine = open_server_db(url)
        site_with_users(engine, users=USERS)
        with LiveServer(engine) as server:
            a = laptop(tmp_path / "a", server.url, "dr.li", study)
            b = laptop(tmp_path / "b", server.url, "nurse2", study)
            number = b.add_subject()
            save(b, number, "D1", "vitals", VITALS)
            sync(b), sync(a)
            a.sign(number, "D1", "vitals", meaning="approve", username="dr.li", password=PASSWORD)  # offline
            save(b, number, "D1", "vitals", {"HR": 101}, reason="re-measured")
            sync(b)
            a.close()
            monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
            capsys.readouterr()
            code = main(["sync", "--data-dir", str(tmp_path / "a"), "--user", "dr.li"])
            out, err = capsys.readouterr()
            assert (code, err) == (0, ""), (out, err)
            assert ", waiting 0, conflicts 0" in out.splitlines()[0]
            with Store.open(tmp_path / "a", "dr.li", PASSWORD, study=study) as again:
                [signature] = again.signatures(number)
                assert not signature.active  # it was cleared by the pull, and that went to the server too
                assert again.sync_status().waiting == 0
            b.close()
        engine.dispose()


def test_a_full_disk_during_sync_is_an_outcome_not_a_crash(tmp_path: Path, study: Any) -> None:
    import contextlib
    import subprocess
    import sys

    if sys.platform != "linux":
        pytest.skip("a tmpfs is a Linux filesystem")
    disk = tmp_path / "small"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({done.stderr.strip()}): needs root or CAP_SYS_ADMIN")
    try:
        with database_url(tmp_path) as url:
            engine = open_server_db(url)
            site_with_users(engine, users=USERS)
            with LiveServer(engine) as server:
                a = laptop(disk / "a", server.url, "nurse2", study)
                b = laptop(tmp_path / "b", server.url, "dr.li", study)
                enter(b, subjects=6)
                sync(b)
                with open(disk / "filler", "wb", buffering=0) as handle:
                    for size in (1 << 16, 4096, 512, 1):
                        with contextlib.suppress(OSError):
                            while True:
                                handle.write(b"\0" * size)
                outcome = SyncClient(a).run()
                assert outcome.error is not None and "the disk is full" in outcome.error
                assert describe(outcome)[0].endswith(f", then: {outcome.error}")
                (disk / "filler").unlink()
                again = sync(a)
                assert again.ok and again.pulled > 0
                a.close(), b.close()
            engine.dispose()
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=False)
