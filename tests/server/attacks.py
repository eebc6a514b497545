"""What an attacker with one enrolled laptop's token can send, and how tests look at the damage.

Hand-driven devices (tests/server/devices.py) build the changes; these helpers aim them at any form
and field, post bodies the protocol models would refuse to build, plant in the server's log what an
older server let in, and read the server's state and what /pull serves.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx
from devices import Device
from sqlalchemy import Engine, text

from cik_ecrf.sync.protocol import Change

SITE = "BJ01"
#: a complete vitals form as a laptop saves it (soft ranges respected: nothing to confirm)
VITALS: dict[str, Any] = {
    "VSDAT": "2026-01-01T10:00+08:00",
    "TEMP": 36.5,
    "HR": 80,
    "RESP": 20,
    "SYSBP": 110,
    "DIABP": 70,
    "OXYSAT": 98,
    "O2SUPP": "NONE",
    "WEIGHT": 40.0,
}
#: where each form of these tests is collected
VISIT_OF = {"vitals": "D1", "demographics": "screening", "diagnosis": "screening", "randomization": "randomization"}


class Ward:
    """One subject entered by a nurse's hand-driven laptop: demographics, diagnosis (screening) and
    vitals (D1), each with a valid value; `versions` holds the server seq of each value set."""

    def __init__(self, device: Device, number: str = "BJ01-AAAA-0001") -> None:
        self.device = device
        self.subject = str(uuid.uuid4())
        self.number = number
        self.instances: dict[str, str] = {}
        changes = [device.change("subject_add", subject_id=self.subject, new_json=json.dumps(number))]
        for form in ("vitals", "demographics", "diagnosis"):
            instance, create = start_form(device, self.subject, form)
            self.instances[form] = instance
            changes.append(create)
        entered = [("vitals", "HR", 80), ("vitals", "RESP", 20), ("demographics", "SEX", "F")]
        entered += [
            ("demographics", "SUBJINIT", "ZXM"),
            ("diagnosis", "KARYDONE", "Y"),
            ("diagnosis", "KARYO", "46,XX"),
        ]
        changes += [self.value(form, field, json.dumps(value)) for form, field, value in entered]
        answer = device.push(changes)
        assert [r["disposition"] for r in answer["results"]] == ["applied"] * len(changes), answer
        self.versions = {
            (form, field): result["server_seq"]
            for (form, field, _), result in zip(entered, answer["results"][-len(entered) :], strict=True)
        }

    def value(
        self,
        form: str,
        field: str,
        new_json: str | None,
        *,
        device: Device | None = None,
        action: str = "value_set",
        base: int | None = None,
        **extra: Any,
    ) -> Change:
        """A change of one field of this subject's form, its value given as the raw JSON text to send."""
        return (device or self.device).change(
            action,
            subject_id=self.subject,
            visit_id=VISIT_OF[form],
            form_id=form,
            instance_id=self.instances[form],
            field_id=field,
            new_json=new_json,
            base_version=base,
            **extra,
        )

    def form_event(self, form: str, action: str, new_json: str | None, *, device: Device | None = None) -> Change:
        """A form-level change (status_change, signature_cleared, sync_conflict without a field...)."""
        return (device or self.device).change(
            action,
            subject_id=self.subject,
            visit_id=VISIT_OF[form],
            form_id=form,
            instance_id=self.instances[form],
            new_json=new_json,
        )


def start_form(device: Device, subject: str, form: str, visit: str | None = None) -> tuple[str, Change]:
    instance = str(uuid.uuid4())
    return instance, device.change(
        "form_create",
        subject_id=subject,
        visit_id=visit or VISIT_OF[form],
        form_id=form,
        instance_id=instance,
        new_json=json.dumps({"status": "draft", "version": "1.0"}),
    )


def forged_conflict(ward: Ward, device: Device, form: str, field: str, current: Any) -> Change:
    """A `sync_conflict` event as the server writes them, but pushed by a laptop."""
    body = {
        "current": json.dumps(current),
        "candidates": [
            {
                "value_json": json.dumps(current),
                "seq": 1,
                "username": device.user,
                "device_id": device.id,
                "at_utc": dt.datetime.now(dt.UTC).isoformat(),
                "utc_offset_min": 480,
                "change_id": str(uuid.uuid4()),
            }
        ],
    }
    return ward.value(form, field, json.dumps(body), device=device, action="sync_conflict")


def post(device: Device, body: Any) -> httpx.Response:
    """Any JSON body to /push with the device's token, as an attacker would post it (no model in the way);
    its changes carry their author's seals as a laptop sends them, unless the body names its own."""
    if isinstance(body, dict) and isinstance(body.get("changes"), list) and "seals" not in body:
        body = {**body, "changes": device.sign(body["changes"]), "seals": device.seals}
    return device.http.post("/push", content=json.dumps(body), headers={"Content-Type": "application/json"})


def push_one(device: Device, change: Change) -> dict[str, Any]:
    [result] = device.push([change])["results"]
    assert result["id"] == change.id
    return result


def pulled(device: Device) -> list[dict[str, Any]]:
    """Everything /pull serves this device's site, every page: each with seq, disposition and change."""
    served: list[dict[str, Any]] = []
    cursor, epoch = 0, None
    while True:
        page = device.pull(cursor, epoch)
        assert page.status_code == 200, page.text
        body = page.json()
        served += body["changes"]
        cursor, epoch = body["next_cursor"], body["epoch"]
        if not body["more"]:
            return served


def pulled_ids(device: Device) -> set[str]:
    return {c["change"]["id"] for c in pulled(device)}


def state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The server's current clinical state, every column of it (what a refused change must not touch)."""
    with engine.connect() as conn:
        return {
            table: sorted((tuple(row) for row in conn.execute(text(f"SELECT * FROM {table}"))), key=repr)
            for table in ("subject", "instance", "field_state")
        }


def field_value(engine: Engine, instance: str, field: str) -> Any:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT value_json FROM field_state WHERE instance_id = :i AND field_id = :f"),
            {"i": instance, "f": field},
        ).scalar()
    return None if found is None else json.loads(found)


def status(engine: Engine, instance: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT status FROM instance WHERE id = :i"), {"i": instance}).scalar_one())


def newest_seq(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT max(seq) FROM change")).scalar_one())


def inject(engine: Engine, change: Change, site: str = SITE) -> int:
    """Plant a change in the server's log as `applied`, the way the old server let anything in.

    Written straight into the `change` table (no state is touched, as if the old server had applied it
    elsewhere): what laptops then pull is exactly what an old server's log could hold."""
    body = change.model_dump_json()
    with engine.begin() as conn:
        seq = int(conn.execute(text("SELECT next_seq FROM seq_counter WHERE id = 1")).scalar_one())
        conn.execute(
            text(
                "INSERT INTO change (seq, id, digest, site_code, device_id, device_seq, action, instance_id, field_id,"
                " disposition, reason, body, received_at) VALUES (:seq, :id, :digest, :site, :device_id, :device_seq,"
                " :action, :instance_id, :field_id, 'applied', NULL, :body, :at)"
            ),
            {
                "seq": seq,
                "id": change.id,
                "digest": change.digest(body),
                "site": site,
                "device_id": change.device_id,
                "device_seq": change.device_seq,
                "action": change.action,
                "instance_id": change.instance_id,
                "field_id": change.field_id,
                "body": body,
                "at": dt.datetime.now(dt.UTC).isoformat(),
            },
        )
        conn.execute(text("UPDATE seq_counter SET next_seq = :n WHERE id = 1"), {"n": seq + 1})
    return seq
