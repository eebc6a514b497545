"""Hand-driven devices for protocol tests: they build changes the way the store writes them.

Every HTTP client made here is kept in CLIENTS and closed when its test ends (conftest.py), so no
socket outlives the test that opened it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx
from live_server import PASSWORD

from cik_ecrf.sync.protocol import API, Change

CLIENTS: list[httpx.Client] = []


def client(server: Any, token: str | None = None) -> httpx.Client:
    """An HTTP client of `server`'s API (with a device token), closed when the test ends."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    made = httpx.Client(base_url=server.url + API, headers=headers)
    CLIENTS.append(made)
    return made


def close_clients() -> None:
    while CLIENTS:
        CLIENTS.pop().close()


def enrol(server: Any, user: str, password: str = PASSWORD) -> tuple[httpx.Client, str]:
    device_id = str(uuid.uuid4())
    answer = httpx.post(
        f"{server.url}{API}/enrol", json={"username": user, "password": password, "device_id": device_id}
    )
    assert answer.status_code == 200, answer.text
    return client(server, answer.json()["token"]), device_id


class Device:
    """A hand-driven laptop: builds changes the way the store writes them."""

    def __init__(self, server: Any, user: str) -> None:  # a LiveServer or a ServerProcess
        self.http, self.id = enrol(server, user)
        self.user = user
        self.seq = 0

    def change(self, action: str, skew: dt.timedelta = dt.timedelta(), **fields: Any) -> Change:
        self.seq += 1
        at = (dt.datetime.now(dt.UTC) + skew).isoformat()
        return Change(
            id=str(uuid.uuid4()),
            device_id=self.id,
            device_seq=self.seq,
            username=self.user,
            role="nurse",
            at_utc=at,
            utc_offset_min=480,
            action=action,
            **fields,
        )

    def push(self, changes: list[Change], client_time: str | None = None) -> dict[str, Any]:
        body = {
            "changes": [c.model_dump() for c in changes],
            **({"client_time_utc": client_time} if client_time else {}),
        }
        answer = self.http.post("/push", content=json.dumps(body), headers={"Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def pull(self, cursor: int = 0, epoch: str | None = None) -> httpx.Response:
        return self.http.get("/pull", params={"cursor": cursor, **({"epoch": epoch} if epoch else {})})

    def new_form(self, subject_id: str | None = None, number: str | None = None) -> tuple[str, str, list[Change]]:
        subject_id = subject_id or str(uuid.uuid4())
        instance = str(uuid.uuid4())
        context = {"subject_id": subject_id, "visit_id": "D1", "form_id": "vitals"}
        changes = (
            [] if number is None else [self.change("subject_add", subject_id=subject_id, new_json=json.dumps(number))]
        )
        changes.append(
            self.change(
                "form_create", instance_id=instance, new_json=json.dumps({"status": "draft", "version": "1"}), **context
            )
        )
        return subject_id, instance, changes

    def value(
        self,
        subject_id: str,
        instance: str,
        field: str,
        value: Any,
        base: int | None = None,
        action: str = "value_set",
        **extra: Any,
    ) -> Change:
        return self.change(
            action,
            subject_id=subject_id,
            visit_id="D1",
            form_id="vitals",
            instance_id=instance,
            field_id=field,
            new_json=json.dumps(value),
            base_version=base,
            **extra,
        )
