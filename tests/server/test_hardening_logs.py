"""The server's structured log, read back from its file: authentication failures, enrolments,
revocations and refused pushes are one JSON line each, with the request id the client was given and
the user and device concerned. Also: a stopped `--workers 2` server leaves no process behind."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from devices import Device, client
from live_server import PASSWORD, ServerProcess, group_members, open_server_db, site_with_users

from cik_ecrf.cli import main
from cik_ecrf.sync.protocol import API


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_security_events_are_logged_as_json_lines(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    engine = open_server_db(url)
    site_with_users(engine, "BJ01", (("nurse1", "nurse"), ("mon1", "monitor")))
    engine.dispose()
    log = tmp_path / "logs" / "server.jsonl"
    options = ("--log-file", str(log), "--log-level", "info")
    with ServerProcess(url, tmp_path / "stderr.log", options=options) as server:
        wrong = httpx.post(
            f"{server.url}{API}/enrol",
            json={"username": "nurse1", "password": "Wrong-password9", "device_id": str(uuid.uuid4())},
        )
        assert wrong.status_code == 401
        device = Device(server, "nurse1")
        forged = client(server, "forged-token").get("/pull")
        assert forged.status_code == 401
        subject, instance, changes = device.new_form(number="BJ01-0001")
        device.push(changes)
        refused = device.push([device.value(subject, instance, "HR", 80).model_copy(update={"username": "mon1"})])
        assert refused["results"][0]["disposition"] == "rejected"
        assert main(["server", *options, "device", "revoke", device.id, "--database-url", url]) == 0
        revoked = device.pull()
        assert revoked.status_code == 401
    events = lines(log)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for line in events:
        by_name.setdefault(line["event"], []).append(line)
    failed_enrol, forged_token, revoked_token = by_name["auth_failed"]
    assert failed_enrol["user"] == "nurse1" and failed_enrol["address"] == "127.0.0.1"
    assert failed_enrol["request_id"] == wrong.headers["x-request-id"]
    assert forged_token["request_id"] == forged.headers["x-request-id"] and forged_token["path"] == f"{API}/pull"
    assert revoked_token["request_id"] == revoked.headers["x-request-id"] and "revoked" in revoked_token["reason"]
    [enrolled] = by_name["enrolled"]
    assert enrolled["user"] == "nurse1" and enrolled["device"] == device.id and enrolled["request_id"]
    [push] = by_name["push_refused"]
    assert push["device"] == device.id and push["user"] and push["rejected"] == 1 and push["request_id"]
    [revocation] = by_name["revoked"]
    assert revocation["device"] == device.id and revocation["user"] == "nurse1"
    assert all(line["level"] and line["time"] for line in events)
    assert PASSWORD not in log.read_text(encoding="utf-8") and "Wrong-password9" not in log.read_text()


def test_a_stopped_server_leaves_no_process_behind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    open_server_db(url).dispose()
    server = ServerProcess(url, tmp_path / "server.log", workers=2).start()
    assert server.process is not None
    group = server.process.pid
    running = group_members(group)
    assert len(running) >= 3  # uvicorn's supervisor and its two workers (and the resource tracker)
    server.kill()
    assert group_members(group) == []
