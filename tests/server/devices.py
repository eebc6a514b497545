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

from cik_ecrf.core import keys
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
    made, device_id, _keys = enrol_with_keys(server, user, password)
    return made, device_id


def enrol_with_keys(server: Any, user: str, password: str = PASSWORD) -> tuple[httpx.Client, str, Any]:
    """Enrol, and open the user's keys the server sent with the password (what a laptop signs with)."""
    device_id = str(uuid.uuid4())
    answer = httpx.post(
        f"{server.url}{API}/enrol", json={"username": user, "password": password, "device_id": device_id}
    )
    assert answer.status_code == 200, answer.text
    record = answer.json()["user"]["keys"]
    opened = keys.unlock(record["locked"], user, record["key_id"], password) if record else None
    return client(server, answer.json()["token"]), device_id, opened


class Device:
    """A hand-driven laptop: builds changes the way the store writes them."""

    def __init__(self, server: Any, user: str) -> None:  # a LiveServer or a ServerProcess
        self.http, self.id, self.keys = enrol_with_keys(server, user)
        self.user = user
        self.seq = 0
        self.heads: dict[int, str] = {0: keys.GENESIS}  # the device chain after each change pushed

    def sign(self, changes: list[Any], signer: Any = None) -> list[dict[str, Any]]:
        """The changes as dicts with the seals a laptop sends: one per run of this device's consecutive
        changes, signed by `signer` (default: the enrolling user's keys); electronic signatures get
        their cryptographic signature too. What the test forged in a change stays forged."""
        signer = signer or self.keys
        items = [c.model_dump() if hasattr(c, "model_dump") else c for c in changes]
        for item in items:
            if not isinstance(item, dict):
                continue
            if item.get("action") == "signature" and item.get("username") == signer.username and item.get("new_json"):
                try:
                    body = json.loads(item["new_json"])
                except ValueError:
                    continue
                if isinstance(body, dict) and "sig" not in body and "signature" in body:
                    message = keys.esign_message(
                        str(body.get("signature")),
                        str(body.get("scope")),
                        str(item.get("subject_id")),
                        str(body.get("meaning")),
                        str(body.get("content_sha256")),
                        [str(i) for i in body.get("instances") or []],
                    )
                    body |= {"key_id": signer.public.key_id, "sig": signer.sign(message)}
                    item["new_json"] = json.dumps(body)
        runs: list[list[dict[str, Any]]] = []
        for item in items:
            ok = isinstance(item, dict) and item.get("device_id") == self.id and type(item.get("device_seq")) is int
            if ok and runs and runs[-1][-1]["device_seq"] + 1 == item["device_seq"]:
                runs[-1].append(item)
            elif ok:
                runs.append([item])
        self.seals = []
        for run in runs:
            first, last = run[0]["device_seq"], run[-1]["device_seq"]
            previous = head = self.heads.get(first - 1, keys.GENESIS)
            for item in run:
                self.heads[item["device_seq"]] = head = keys.chain_step(head, item)
            message = keys.seal_message(self.id, first, last, previous, head)
            self.seals.append(
                {
                    "username": signer.username,
                    "key_id": signer.public.key_id,
                    "first": first,
                    "last": last,
                    "previous": previous,
                    "head": head,
                    "signature": signer.sign(message),
                }
            )
        return items

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
        signed = self.sign(changes)
        body = {
            "changes": signed,
            "seals": self.seals,
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
