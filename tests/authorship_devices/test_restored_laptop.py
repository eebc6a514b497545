"""A laptop restored from an older copy of its store finds out, gets its lost changes back, numbers its
changes and subjects after what the server holds, and loses nothing entered after the restore."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from live_server import PASSWORD, LiveServer, laptop, open_server_db
from sqlalchemy import text
from sync_fixtures import VITALS, save, server_state, sync, values

from cik_ecrf.cli import main
from cik_ecrf.server import authorship
from cik_ecrf.store.api import Store
from cik_ecrf.store.files import DB_FILE
from cik_ecrf.sync.client import SyncClient


def copy_store(directory: Path, to: Path, whole_folder: bool = False) -> None:
    """A backup of a closed store: store.db alone, or the whole folder."""
    if whole_folder:
        shutil.copytree(directory, to)
        return
    to.mkdir()
    for name in (DB_FILE, DB_FILE + "-wal"):
        if (directory / name).exists():
            shutil.copy2(directory / name, to / name)


def put_back(backup: Path, directory: Path, whole_folder: bool = False) -> None:
    if whole_folder:
        shutil.rmtree(directory)
        shutil.copytree(backup, directory)
        return
    for name in (DB_FILE, DB_FILE + "-wal", DB_FILE + "-shm"):
        (directory / name).unlink(missing_ok=True)
        if (backup / name).exists():
            shutil.copy2(backup / name, directory / name)


def open_laptop(directory: Path, study: Any) -> Store:
    return Store.open(directory, "nurse1", PASSWORD, study=study)


def server_numbers(engine: Any) -> list[str]:
    return sorted(number for _, number in server_state(engine)["subjects"])


def two_eras(here: Path, backup: Path, url: str, study: Any, whole_folder: bool) -> tuple[str, str]:
    """A subject synced before the backup; after it, a second subject and a correction, synced."""
    a = laptop(here, url, "nurse1", study)
    first = a.add_subject()
    save(a, first, "D1", "vitals", VITALS)
    sync(a)
    a.close()
    copy_store(here, backup, whole_folder)
    a = open_laptop(here, study)
    second = a.add_subject()  # after the backup: on the server, lost by the restore
    save(a, second, "D1", "vitals", {**VITALS, "HR": 77})
    save(a, first, "D1", "vitals", {"HR": 90}, reason="re-measured")
    sync(a)
    a.close()
    return first, second


def test_a_laptop_whose_store_db_was_put_back_loses_nothing_and_reuses_no_number(
    db_url: str, tmp_path: Path, study: Any
) -> None:
    engine = open_server_db(db_url)
    here = tmp_path / "a"
    with LiveServer(engine) as live:
        first, second = two_eras(here, tmp_path / "backup", live.url, study, whole_folder=False)
        put_back(tmp_path / "backup", here)

        a = open_laptop(here, study)  # the login finds the restore, before anything is entered
        third = a.add_subject()
        assert third not in (first, second)
        save(a, third, "D1", "vitals", {**VITALS, "HR": 66})
        save(a, first, "D1", "vitals", {"RESP": 24}, reason="re-counted")
        outcome = sync(a)
        assert outcome.ok, outcome  # pushed, nothing refused, nothing waiting
        assert any("restored from an older copy" in w for w in outcome.warnings)
        # everything reached the server, and the lost changes came back
        assert server_numbers(engine) == sorted([first, second, third])
        assert sorted(a.subject_numbers()) == sorted([first, second, third])
        assert values(a, second)[("D1", "vitals")]["HR"] == 77
        assert values(a, first)[("D1", "vitals")]["HR"] == 90 and values(a, first)[("D1", "vitals")]["RESP"] == 24
        assert {(f, v) for _, f, v, _ in server_state(engine)["fields"]} >= {("HR", "66"), ("RESP", "24")}
        fourth = a.add_subject()
        assert fourth not in (first, second, third)
        again = sync(a)
        assert again.ok and not any("restored" in w for w in again.warnings)  # said once
        assert server_numbers(engine) == sorted([first, second, third, fourth])
        assert a.verify_audit().ok
        a.close()
    engine.dispose()


def test_a_whole_folder_put_back_is_found_out_by_the_server_at_the_next_sync(
    db_url: str, tmp_path: Path, study: Any
) -> None:
    """Nothing beside the store remembers (the marks went back with it): the server's record does."""
    engine = open_server_db(db_url)
    here = tmp_path / "a"
    with LiveServer(engine) as live:
        first, second = two_eras(here, tmp_path / "backup", live.url, study, True)
        put_back(tmp_path / "backup", here, True)
        a = open_laptop(here, study)
        outcome = sync(a)
        assert outcome.ok and any("restored from an older copy" in w for w in outcome.warnings)
        assert sorted(a.subject_numbers()) == sorted([first, second])  # its own lost changes came back
        assert values(a, second)[("D1", "vitals")]["HR"] == 77
        third = a.add_subject()
        assert third not in (first, second)
        save(a, third, "D1", "vitals", {**VITALS, "HR": 66})
        assert sync(a).ok
        assert server_numbers(engine) == sorted([first, second, third])
        a.close()
    engine.dispose()


def test_data_written_after_a_whole_folder_restore_reaches_the_server_as_a_restored_run(
    db_url: str, tmp_path: Path, study: Any
) -> None:
    """Data entered before the first sync after a whole folder was put back reuses device numbers the
    server already holds (nothing on the laptop remembers). The server takes it as this laptop's
    restored run, its seals kept beside the first ones; the device is re-anchored, not flagged; the
    lost changes come back; and the next changes go on as usual."""
    engine = open_server_db(db_url)
    here = tmp_path / "a"
    with LiveServer(engine) as live:
        first, second = two_eras(here, tmp_path / "backup", live.url, study, True)
        put_back(tmp_path / "backup", here, True)
        a = open_laptop(here, study)
        save(a, first, "D2", "vitals", {**VITALS, "RESP": 26})
        outcome = SyncClient(a).run()
        assert outcome.ok and outcome.waiting == 0, outcome
        assert any("restored from an older copy" in w for w in outcome.warnings)
        assert not any("rewritten" in w for w in outcome.warnings), outcome.warnings
        server_fields = {(f, v) for _, f, v, _ in server_state(engine)["fields"]}
        assert ("RESP", "26") in server_fields and ("HR", "77") in server_fields and ("HR", "90") in server_fields
        assert values(a, first)[("D2", "vitals")]["RESP"] == 26
        assert values(a, second)[("D1", "vitals")]["HR"] == 77  # the lost changes came back
        assert values(a, first)[("D1", "vitals")]["HR"] == 90
        third = a.add_subject()
        assert third not in (first, second)
        save(a, third, "D1", "vitals", VITALS)
        again = SyncClient(a).run()
        assert again.ok and again.waiting == 0, again
        assert not any("rewritten" in w for w in again.warnings), again.warnings
        assert server_numbers(engine) == sorted([first, second, third])
        flags = [reason for _, _, _, reason in authorship.anchors(engine) if reason]
        assert flags == []  # a declared restore re-anchors the device; it is not history rewritten
        with engine.connect() as conn:
            runs = sorted({run for (run,) in conn.execute(text("SELECT run FROM change_seal"))})
        assert runs == [0, 1]  # the restored run's seals are kept beside the ones they reuse numbers of
        assert a.verify_audit().ok
        a.close()
    engine.dispose()


def test_sync_says_what_happened(
    db_url: str, tmp_path: Path, study: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
    engine = open_server_db(db_url)
    here = tmp_path / "a"
    with LiveServer(engine) as live:
        a = laptop(here, live.url, "nurse1", study)
        sync(a)
        a.close()
        copy_store(here, tmp_path / "backup")
        a = open_laptop(here, study)
        a.add_subject()
        sync(a)
        a.close()
        put_back(tmp_path / "backup", here)
        assert main(["sync", "--data-dir", str(here), "--user", "nurse1"]) == 0
        out = capsys.readouterr().out
        assert "warning: this laptop was restored from an older copy" in out and "waiting 0" in out
    engine.dispose()


def test_subjects_entered_after_a_whole_folder_restore_get_the_next_free_numbers_everywhere(
    db_url: str, tmp_path: Path, study: Any
) -> None:
    """The counter went back with the folder: two subjects entered before the first sync get numbers of
    this laptop's pattern again (one the server holds). Both reach the server, registered under the
    next free numbers, by one rule on laptop and server, and every laptop shows the same numbers."""
    engine = open_server_db(db_url)
    here = tmp_path / "a"
    with LiveServer(engine) as live:
        first, second = two_eras(here, tmp_path / "backup", live.url, study, True)
        prefix = first[: -len("0001")]
        put_back(tmp_path / "backup", here, True)
        a = open_laptop(here, study)
        third, fourth = a.add_subject(), a.add_subject()
        assert (third, fourth) == (second, f"{prefix}0003")  # the number the server holds, given again
        save(a, third, "D1", "vitals", {**VITALS, "HR": 55})
        save(a, fourth, "D1", "vitals", {**VITALS, "HR": 56})
        outcome = SyncClient(a).run()
        assert outcome.ok and not outcome.rejected and outcome.waiting == 0, outcome
        assert any(
            f"{second} is now {prefix}0003" in w and f"{prefix}0003 is now {prefix}0004" in w for w in outcome.warnings
        )
        expected = [first, second, f"{prefix}0003", f"{prefix}0004"]
        assert server_numbers(engine) == expected
        assert sorted(a.subject_numbers()) == expected
        assert values(a, second)[("D1", "vitals")]["HR"] == 77  # the lost subject came back under its number
        assert values(a, f"{prefix}0003")[("D1", "vitals")]["HR"] == 55
        assert values(a, f"{prefix}0004")[("D1", "vitals")]["HR"] == 56
        assert a.add_subject() == f"{prefix}0005"
        assert sync(a).ok
        b = laptop(tmp_path / "b", live.url, "nurse1", study)  # another laptop of the site sees the same
        assert sync(b).ok
        assert sorted(b.subject_numbers()) == [*expected, f"{prefix}0005"]
        assert values(b, f"{prefix}0003")[("D1", "vitals")]["HR"] == 55
        assert values(b, f"{prefix}0004")[("D1", "vitals")]["HR"] == 56
        assert a.verify_audit().ok and b.verify_audit().ok
        a.close()
        b.close()
    engine.dispose()


def test_a_paper_number_typed_twice_is_still_refused(db_url: str, tmp_path: Path, study: Any) -> None:
    """Only a laptop's own pattern is renumbered: two subjects under one screening number typed by hand
    are a person's mistake, refused and kept for the data manager."""
    engine = open_server_db(db_url)
    with LiveServer(engine) as live:
        a = laptop(tmp_path / "a", live.url, "nurse1", study)
        b = laptop(tmp_path / "b", live.url, "nurse1", study)
        a.add_subject("SCR-001")
        assert sync(a).ok
        b.add_subject("SCR-001")
        outcome = SyncClient(b).run()
        assert any("SCR-001 is already taken" in r for r in outcome.rejected), outcome
        assert server_numbers(engine) == ["SCR-001"]
        a.close()
        b.close()
    engine.dispose()
