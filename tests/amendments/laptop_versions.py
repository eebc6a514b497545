"""A laptop store holding a second study version, received the way a sync hands it over
(`store.amendments.receive` with the bundle, its SHA-256 and the mapping), without a server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from amend import field

from cik_ecrf.definitions import versions as dv
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest

ADMIN, ADMIN_PW = "admin", "Ward-pass-2024"
NURSE, NURSE_PW = "nina", "Nurse-pass-2024"
INVESTIGATOR, INVESTIGATOR_PW = "ivy", "Investigator-pass-2024"
MONITOR, MONITOR_PW = "mona", "Monitor-pass-2024"
VITALS: dict[str, Any] = {
    "VSDAT": "2026-01-11T09:00+08:00",
    "TEMP": 37.2,
    "HR": 80,
    "RESP": 20,
    "SYSBP": 110,
    "DIABP": 70,
    "OXYSAT": 98,
    "O2SUPP": "NONE",
    "WEIGHT": 40.5,
}
PAIN = {
    "id": "PAIN",
    "type": "integer",
    "label": {"en": "Pain score (0-10)", "zh": "疼痛评分（0-10）"},
    "range": {"min": 0, "max": 10},
    "required": True,
}


def laptop(directory: Path, study: Any) -> None:
    """A store with a nurse, an investigator and a monitor past their first sign-in."""
    Store.init(directory, "BJ01", ADMIN, ADMIN_PW, device_code="AM01")
    with Store.open(directory, ADMIN, ADMIN_PW, study=study) as store:
        store.add_user(NURSE, "nurse", "First-pass-2024")
        store.add_user(INVESTIGATOR, "investigator", "First-pass-2025")
        store.add_user(MONITOR, "monitor", "First-pass-2026")
    for user, first, final in (
        (NURSE, "First-pass-2024", NURSE_PW),
        (INVESTIGATOR, "First-pass-2025", INVESTIGATOR_PW),
        (MONITOR, "First-pass-2026", MONITOR_PW),
    ):
        with Store.open(directory, user, first, study=study) as store:
            store.change_password(first, final)


def bundle_with(
    vitals: Callable[[dict[str, Any]], None] | None = None, retire: str | None = None, version: str = "1.1"
) -> dict[str, str]:
    """The shipped definitions with vitals changed (and given `version`) and/or a form retired."""
    bundle = dict(dv.shipped_bundle())
    if vitals is not None:
        form = json.loads(bundle["vitals.json"])
        vitals(form)
        form["version"] = version
        bundle["vitals.json"] = json.dumps(form, ensure_ascii=False)
    if retire is not None:
        study = json.loads(bundle["study.json"])
        for visit in study["visits"]:
            visit["forms"] = [f for f in visit["forms"] if f != retire]
        bundle["study.json"] = json.dumps(study, ensure_ascii=False)
        del bundle[f"{retire}.json"]
    return bundle


def receive(store: Store, bundle: dict[str, str], number: int = 2, note: str = "amendment") -> list[int]:
    return store.amendments.receive(
        [{"number": number, "sha256": dv.bundle_sha256(bundle), "bundle": json.dumps(bundle), "note": note}]
    )


def add_pain(form: dict[str, Any]) -> None:
    form["fields"].insert(8, dict(PAIN))


def tighten_hr(form: dict[str, Any]) -> None:
    """Heart rate's hard range narrowed to 20-150 (an old 160 stays valid on 1.0)."""
    hr = field(form, "HR")
    hr["range"] = {"min": 20, "max": 150}
    hr["soft_range"] = {"min": 40, "max": 140}


def save(store: Store, subject: str, visit: str, form: str, values: dict[str, Any], **kw: Any) -> str:
    return store.save(SaveRequest(subject, visit, form, values, confirm_warnings=True, **kw)).instance_id
