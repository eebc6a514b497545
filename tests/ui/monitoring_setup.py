"""A laptop store with a nurse, a monitor and a data manager, and a subject whose vitals are entered:
what the monitoring UI tests, the screenshots and the worklist bench start from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stores import store_with_nurse

from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest

ADMIN, ADMIN_PW = "admin", "Ward-pass-2024"
NURSE, NURSE_PW = "nina", "Nurse-pass-2024"
MONITOR, DATA_MANAGER, INVESTIGATOR = "mona", "dora", "ivan"
FIRST_PW, OTHER_PW = "First-pass-2024", "Other-pass-2024"
PASSWORDS = {NURSE: NURSE_PW, MONITOR: OTHER_PW, DATA_MANAGER: OTHER_PW, INVESTIGATOR: OTHER_PW, ADMIN: ADMIN_PW}
VITALS = {
    "VSDAT": "2026-01-11T09:00+08:00",
    "TEMP": "37.2",
    "HR": "80",
    "RESP": "20",
    "SYSBP": "110",
    "DIABP": "70",
    "OXYSAT": "98",
    "O2SUPP": "NONE",
    "WEIGHT": "40.5",
    "HEIGHT": "150",
    "ECOG": 1,
}


def make_site(directory: Path, study: Any) -> None:
    """The store with its four users past their first login."""
    store_with_nurse(directory, study, "UI01", (ADMIN, ADMIN_PW), (NURSE, FIRST_PW, NURSE_PW))
    roles = {MONITOR: "monitor", DATA_MANAGER: "data_manager", INVESTIGATOR: "investigator"}
    with Store.open(directory, ADMIN, ADMIN_PW, study=study) as admin:
        for name, role in roles.items():
            admin.add_user(name, role, FIRST_PW)
    for name in roles:
        with Store.open(directory, name, FIRST_PW, study=study) as store:
            store.change_password(FIRST_PW, OTHER_PW)


def login(directory: Path, study: Any, username: str) -> Store:
    return Store.open(directory, username, PASSWORDS[username], study=study)


def enter_vitals(nurse: Store, number: str | None = None, visit: str = "screening") -> tuple[str, str]:
    """(subject number, instance id) of a completed vitals form."""
    number = number or nurse.add_subject()
    result = nurse.save(SaveRequest(number, visit, "vitals", dict(VITALS), False, None, None, True))
    return number, result.instance_id
