"""A throw-away store with a few example subjects at different stages, for `cik-ecrf --demo`.

Built through the real `Store.save`, so every example is valid data with a real audit trail; what a
newcomer sees is the product working, not a mock-up.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from .definitions.spec import StudyDefinition
from .store.api import Store
from .store.entry import SaveRequest

ADMIN, ADMIN_PASSWORD = "demo.admin", "Demo-admin-2026"
#: what the demo's server part allocates, in order: randomization numbers and blinded product codes (no arm)
DEMO_ALLOCATIONS = (("GE18-0001", "K7QD-M2XR"), ("GE18-0002", "W9TF-3HNB"))  # both adults: stratum ≥ 18
NURSE, NURSE_PASSWORD = "demo.nurse", "Demo-nurse-2026"
INVESTIGATOR, INVESTIGATOR_PASSWORD = "demo.investigator", "Demo-signer-2026"  # signs forms in the demo


def screening_forms(consent_day: dt.date, birth: str, sex: str) -> dict[str, dict[str, Any]]:
    icf = consent_day.isoformat()
    return {
        "consent": {
            "ICFVER": "v1.0",
            "ICFDAT": icf,
            "SUBJSIGN": "Y",
            "GRDSIGN": "Y",
            "GRDREL": "MOTHER",
            "LTFUCONS": "Y",
        },
        "demographics": {
            "SUBJINIT": "ZL",
            "BRTHDAT": birth,
            "SEX": sex,
            "ETHNIC": "HA",
            **({"CHILDPOT": "N"} if sex == "F" else {}),
        },
        "diagnosis": {
            "DIAGDAT": "2023-05",
            "DXSTAT": "RELAPSED",
            "NRELAPSE": 1,
            "QUALDAT": (consent_day - dt.timedelta(days=5)).isoformat(),
            "QUALBLST": 35.0,
            "FCMDONE": "Y",
            "MRDDONE": "Y",
            "KARYDONE": "Y",
            "WHOSUB": "NOS",
            "RISK": "HIGH",
            "BENDA": "N",
            "HSCT": "N",
        },
        "prior_cart": {
            "CARTTGT": "CD19",
            "CARTDAT": (consent_day - dt.timedelta(days=120)).isoformat(),
            "CARTDOSE": 1.0,
            "CARTBOR": "CR",
            "LOSSEV": [
                {"LOSSDAT": (consent_day - dt.timedelta(days=40)).isoformat(), "LOSSMETH": "QPCR", "LOSSVAL": 0.001}
            ],
            "RELSINCE": "N",
        },
        "vitals": {
            "VSDAT": f"{icf}T09:00+08:00",
            "TEMP": 36.8,
            "HR": 92,
            "RESP": 20,
            "SYSBP": 105,
            "DIABP": 65,
            "OXYSAT": 98,
            "O2SUPP": "NONE",
            "WEIGHT": 38.0,
            "HEIGHT": 146.0,
            "ECOG": 1,
        },
        "labs": {
            "LBDAT": icf,
            "WBC": 3.2,
            "ANC": 1.1,
            "HGB": 98,
            "PLT": 85,
            "PBBLST": 2.0,
            "CREAT": 45.0,
            "CREAT_ULN": 80.0,
            "BUN": 4.1,
            "BUN_ULN": 7.1,
            "ALT": 30,
            "ALT_ULN": 40,
            "TBIL": 8.0,
            "TBIL_ULN": 21.0,
            "HBSAG": "NEG",
            "HBVDNA": "NEG",
            "HCVRNA": "NEG",
            "HIVAGAB": "NEG",
            "TPAB": "NEG",
        },
        "marrow_mrd": {
            "BMDAT": icf,
            "BMBLST": 1.0,
            "MRDMETH": "FCM",
            "MRDRES": 0.05,
            "MRDLLOQ": 0.01,
            "CSFDONE": "Y",
            "CSFBLST": 0.0,
            "CNSSTAT": "CNS1",
            "MRIDONE": "Y",
            "MRILES": "N",
        },
        "eligibility": {
            "INCL04": "Y",
            "INCL06": "Y",
            **{f"EXCL{n:02d}": "N" for n in (2, 3, 4, 5, 6, 8, 9, 10, 14)},
            "LACTATING": "N",
            "IECONF": "Y",
            "IEDAT": icf,
        },
    }


def receive_allocation(store: Store, number: str, randno: str, prodid: str, randdtc: str) -> None:
    """The central server's `randomized` event for `number`, applied exactly as a sync pull applies it
    (its event type's check and laptop apply, the audit trail): the demo has no server, so it plays the
    server's part of one randomization and nothing else. Only the number, the blinded product code and
    the time travel; there is no arm to send."""
    from .events import randomized

    subject_id = store.randomization.subject_id(number)
    assert subject_id is not None, number
    settings = store.sync_settings()
    cursor = int(settings.get("cursor") or 0) + 1
    change = {
        "id": str(uuid.uuid4()),
        "device_id": randomized.SERVER_DEVICE,
        "device_seq": cursor,
        "username": "server",
        "at_utc": dt.datetime.fromisoformat(randdtc).astimezone(dt.UTC).isoformat(),
        "utc_offset_min": 0,
        "action": randomized.EVENT.name,
        "subject_id": subject_id,
        "visit_id": randomized.VISIT,
        "form_id": randomized.FORM,
        "instance_id": randomized.instance_id(subject_id),
        "new_json": json.dumps({"RANDNO": randno, "PRODID": prodid, "RANDDTC": randdtc}),
    }
    store.sync_apply_pull([(cursor, "applied", change)], cursor, settings.get("epoch"), change["id"])  # type: ignore[arg-type]


DEMO_PREFIX = "cik-ecrf-demo-"
OWNER_FILE = "owner.pid"
STALE_AFTER = 24 * 3600.0  # where a process cannot be asked whether it still runs: a day-old demo is left over


def throwaway_store(study: StudyDefinition) -> Path:
    """The demo's store in a fresh temporary folder, removed when this process exits.

    Demo folders left behind by a process that died without tidying (a crash, a power cut) are removed
    at the next demo start.
    """
    remove_stale_demos()
    root = Path(tempfile.mkdtemp(prefix=DEMO_PREFIX))
    (root / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
    atexit.register(remove_demo, root)
    try:
        return build_demo_store(study, root / "store")
    except BaseException:
        remove_demo(root)
        raise


def remove_demo(root: Path) -> None:
    """Remove a demo folder (on Windows a file still open is retried once the engines let go)."""
    for _ in range(3):
        shutil.rmtree(root, ignore_errors=True)
        if not root.exists():
            return
        import gc

        gc.collect()  # a store engine nobody refers to any more closes its files here


def remove_stale_demos(now: float | None = None) -> list[Path]:
    """Demo folders whose process is gone; returns those removed."""
    removed = []
    for root in Path(tempfile.gettempdir()).glob(DEMO_PREFIX + "*"):
        if root.is_dir() and not _in_use(root, now or time.time()):
            remove_demo(root)
            if not root.exists():
                removed.append(root)
    return removed


def _in_use(root: Path, now: float) -> bool:
    try:
        pid = int((root / OWNER_FILE).read_text(encoding="ascii"))
    except (OSError, ValueError):
        pid = None
    if pid is not None and os.name == "posix":
        if pid == os.getpid():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # someone else's process
        return True
    with contextlib.suppress(OSError):
        return now - root.stat().st_mtime < STALE_AFTER
    return False


def build_demo_store(study: StudyDefinition, directory: Path | None = None, today: dt.date | None = None) -> Path:
    """Four subjects: screening in progress, eligible (waiting for randomization), and two randomized by the
    server's `randomized` event (see `receive_allocation`) and then infused with the product of that
    allocation: one in follow-up, one ended."""
    directory = directory or Path(tempfile.mkdtemp(prefix=DEMO_PREFIX)) / "store"
    today = today or dt.date.today()
    Store.init(directory, "DEMO", ADMIN, ADMIN_PASSWORD, full_name="Demo Administrator", device_code="D1")
    with Store.open(directory, ADMIN, ADMIN_PASSWORD, study) as admin:
        admin.add_user(NURSE, "nurse", NURSE_PASSWORD + "x", full_name="Demo Nurse")
        admin.add_user(INVESTIGATOR, "investigator", INVESTIGATOR_PASSWORD + "x", full_name="Dr Demo Investigator")
    for name, password in ((NURSE, NURSE_PASSWORD), (INVESTIGATOR, INVESTIGATOR_PASSWORD)):
        with Store.open(directory, name, password + "x", study) as user:
            user.change_password(password + "x", password)
    with Store.open(directory, NURSE, NURSE_PASSWORD, study) as store:
        in_screening = store.add_subject()
        forms = screening_forms(today - dt.timedelta(days=2), "2014-03-02", "M")
        for form in ("consent", "demographics"):
            store.save(SaveRequest(in_screening, "screening", form, forms[form]))
        store.save(SaveRequest(in_screening, "screening", "diagnosis", {"DXSTAT": "REFRACTORY"}, draft=True))
        for subject_number, consent_day, birth, sex in (
            (store.add_subject(), today - dt.timedelta(days=10), "2010-07-15", "F"),
            (store.add_subject(), today - dt.timedelta(days=60), "2001-11-20", "M"),
            (store.add_subject(), today - dt.timedelta(days=400), "1995-01-09", "F"),
        ):
            forms = screening_forms(consent_day, birth, sex)
            for form, values in forms.items():
                store.save(SaveRequest(subject_number, "screening", form, values, confirm_warnings=True))
            if consent_day <= today - dt.timedelta(days=60):
                d0 = consent_day + dt.timedelta(days=30)
                randno, prodid = DEMO_ALLOCATIONS[len(store.randomization.allocations())]
                randdtc = f"{consent_day + dt.timedelta(days=1)}T09:30+08:00"
                receive_allocation(store, subject_number, randno, prodid, randdtc)
                store.save(
                    SaveRequest(
                        subject_number,
                        "D0",
                        "infusion",
                        {
                            "PRODID": prodid,
                            "INFSTDTC": f"{d0}T10:00+08:00",
                            "INFENDTC": f"{d0}T10:40+08:00",
                            "DOSWT": 38.0,
                            "CELLS": 5.0,
                            "VIAB": 92.0,
                            "VOL": 100,
                            "INTERR": "N",
                        },
                    )
                )
                store.save(
                    SaveRequest(
                        subject_number,
                        "D1",
                        "vitals",
                        {
                            "VSDAT": f"{d0 + dt.timedelta(days=1)}T09:00+08:00",
                            "TEMP": 38.6,
                            "HR": 118,
                            "RESP": 24,
                            "SYSBP": 98,
                            "DIABP": 60,
                            "OXYSAT": 95,
                            "O2SUPP": "NONE",
                            "WEIGHT": 38.0,
                        },
                        confirm_warnings=True,
                    )
                )
            if consent_day <= today - dt.timedelta(days=300):
                store.save(
                    SaveRequest(
                        subject_number,
                        "subject",
                        "end_of_study",
                        {"DSDECOD": "WITHDRAWAL_BY_SUBJECT", "DSSTDAT": (today - dt.timedelta(days=3)).isoformat()},
                    )
                )
    return directory
