"""Laptop stores at the stages randomization cares about, built through the real save path; the server's
events (`randomized`, `unblinded`, `randomization_voided`) applied exactly as a sync pull applies them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from cik_ecrf import demo
from cik_ecrf.events import randomized
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest

ADMIN = ("admin", "Harbour2026x")
NURSE = ("nurse.chen", "Lantern4477q")
INVESTIGATOR = ("dr.wang", "Compass8812k")
CONSENT = dt.date(2026, 3, 2)
RANDDTC = "2026-03-04T09:30+08:00"
ARM_WORDS = ("CONTROL", "MRNA_CIK", "Control cells", "mRNA-CIK", "lymphocytes", "对照", "治疗组：")


def make_store(directory: Path, study: Any, site: str = "BJ01") -> Path:
    """A store with a nurse and an investigator past their first login; three subjects: one with two
    screening forms (S-SCREEN), one eligible and confirmed (S-ELIG), one eligible whose investigator said No to the confirmation (S-NOCONF)."""
    Store.init(directory, site, ADMIN[0], ADMIN[1], device_code="RC")
    with Store.open(directory, ADMIN[0], ADMIN[1], study) as admin:
        admin.add_user(NURSE[0], "nurse", NURSE[1] + "x")
        admin.add_user(INVESTIGATOR[0], "investigator", INVESTIGATOR[1] + "x")
    for name, password in (NURSE, INVESTIGATOR):
        with Store.open(directory, name, password + "x", study) as user:
            user.change_password(password + "x", password)
    with Store.open(directory, NURSE[0], NURSE[1], study) as store:
        forms = demo.screening_forms(CONSENT, "2014-03-02", "M")
        store.add_subject("S-SCREEN")
        for form in ("consent", "demographics"):
            store.save(SaveRequest("S-SCREEN", "screening", form, forms[form]))
        for number, ieconf in (("S-ELIG", "Y"), ("S-NOCONF", "N")):
            store.add_subject(number)
            for form, values in forms.items():
                values = {**values, "IECONF": ieconf} if form == "eligibility" else values
                store.save(SaveRequest(number, "screening", form, values, confirm_warnings=True))
    return directory


def infusion(prodid: str = "PX-7K2Q", start: str = "2026-03-10T10:00+08:00") -> dict[str, Any]:
    end = (dt.datetime.fromisoformat(start) + dt.timedelta(minutes=40)).isoformat(timespec="minutes")
    return {
        "PRODID": prodid,
        "INFSTDTC": start,
        "INFENDTC": end,
        "DOSWT": 38.0,
        "CELLS": 5.0,
        "VIAB": 92.0,
        "VOL": 100,
        "INTERR": "N",
    }


def server_event(store: Store, number: str, action: str, body: dict[str, Any]) -> None:
    """One server-authored event for `number`, applied as a pull applies it (check, laptop apply, trail)."""
    subject_id = store.randomization.subject_id(number)
    assert subject_id is not None
    settings = store.sync_settings()
    cursor = int(settings.get("cursor") or 0) + 1
    change = {
        "id": str(uuid.uuid4()),
        "device_id": randomized.SERVER_DEVICE,
        "device_seq": cursor,
        "username": "server",
        "at_utc": dt.datetime.now(dt.UTC).isoformat(),
        "utc_offset_min": 0,
        "action": action,
        "subject_id": subject_id,
        "visit_id": randomized.VISIT,
        "form_id": randomized.FORM,
        "instance_id": randomized.instance_id(subject_id),
        "new_json": json.dumps(body),
    }
    store.sync_apply_pull([(cursor, "applied", change)], cursor, settings.get("epoch"), change["id"])  # type: ignore[arg-type]


def allocate(store: Store, number: str, randno: str = "R-0001", prodid: str = "PX-7K2Q", when: str = RANDDTC) -> None:
    demo.receive_allocation(store, number, randno, prodid, when)


def unblinded(store: Store, number: str) -> None:
    server_event(store, number, "unblinded", {"kind": "emergency"})


def voided(store: Store, number: str, randno: str = "R-0001") -> None:
    server_event(store, number, "randomization_voided", {"RANDNO": randno})
