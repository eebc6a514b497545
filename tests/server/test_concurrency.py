"""Pull under concurrent pushes: several devices push at once while another pulls in a loop. The
puller sees every change exactly once and in increasing order: a change that commits after a pull
can never carry a number below that pull's cursor (on PostgreSQL as on SQLite)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from devices import Device
from live_server import LiveServer, ServerProcess, backends, database_url, open_server_db, site_with_users

FIELDS = ("HR", "RESP", "SYSBP", "DIABP", "OXYSAT")


def test_no_change_is_skipped_under_concurrent_pushes(server: LiveServer) -> None:
    pushed_and_pulled(server)


@pytest.mark.parametrize("backend", backends())
def test_several_server_processes_share_one_database(backend: str, tmp_path: Path) -> None:
    """`cik-ecrf server --workers 2`: two processes, one database; the same guarantees."""
    with database_url(tmp_path, backend) as url:
        engine = open_server_db(url)
        site_with_users(engine, "BJ01", (("nurse1", "nurse"), ("nurse2", "nurse")))
        engine.dispose()
        with ServerProcess(url, tmp_path / "server.log", workers=2) as server:
            pushed_and_pulled(server)


def pushed_and_pulled(server: Any) -> None:
    pushers = [Device(server, "nurse1") for _ in range(4)]
    reader = Device(server, "nurse2")
    subject, instance, changes = pushers[0].new_form(number="BJ01-AAAA-0001")
    pushers[0].push(changes)
    done = threading.Event()
    errors: list[BaseException] = []

    def push_many(device: Device) -> None:
        try:
            for round_ in range(15):
                device.push([device.value(subject, instance, FIELDS[round_ % 5], 60 + round_) for _ in range(10)])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=push_many, args=(d,)) for d in pushers]
    for thread in threads:
        thread.start()
    seen: list[int] = []
    cursor, epoch = 0, None
    finished = False
    while not finished:
        finished = done.is_set()  # one more pull after the pushers are done
        page = reader.pull(cursor, epoch).json()
        seen += [c["seq"] for c in page["changes"]]
        cursor, epoch = page["next_cursor"], page["epoch"]
        if not done.is_set() and not any(t.is_alive() for t in threads):
            done.set()
    for thread in threads:
        thread.join()
    assert not errors, errors
    everything = [c["seq"] for c in reader.pull(0).json()["changes"]]
    assert len(everything) >= 2 + 4 * 15 * 10  # every push (conflicts add the server's own events)
    assert seen == everything  # every change once, in order, none skipped by a cursor
