"""The local store: one form save versus a bare sqlite3 commit, and opening a full-study store.

Run: python bench/bench_store.py [--saves N] [--subjects N] [--opens N] [--no-verify]
About 80 s on a 2-core laptop with the defaults (200 saves, 213 subjects, 7 opens per case).
Prints medians, p95s and ratios measured in this one run (no absolute target is asserted anywhere).

1. `Store.save` of a complete vitals form (values + audit events, SQLCipher, WAL, synchronous=FULL,
   one transaction), interleaved with a bare stdlib `sqlite3` commit (unencrypted, WAL,
   synchronous=FULL) of exactly the rows that save wrote, each in its own transaction.
2. A store holding N subjects with the whole schedule entered, written with direct inserts through
   the store's models; `audit.append` for each subject's creation and the store's own
   `audit.event_hash` for the bulk of the chain, so `audit verify` passes over all of it. Then
   `Store.open` at the production argon2id cost and at the light test cost, the first screen's data,
   and opening a bare sqlite3 copy of the same data. (One audit.append per event for all ~177,000
   events would take minutes: each is its own chain head read and write.)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import types
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from cik_ecrf.core import crypto  # noqa: E402
from cik_ecrf.definitions.loader import load_study  # noqa: E402
from cik_ecrf.definitions.spec import StudyDefinition  # noqa: E402
from cik_ecrf.rules import RulesEngine, SubjectData  # noqa: E402
from cik_ecrf.rules import session as rules_session  # noqa: E402
from cik_ecrf.rules.coerce import read_rows, read_scalar  # noqa: E402
from cik_ecrf.store import access, api, audit, database, repository, save_sql  # noqa: E402
from cik_ecrf.store.api import Store  # noqa: E402
from cik_ecrf.store.database import DB_FILE, make_engine  # noqa: E402
from cik_ecrf.store.entry import SaveRequest, _dump  # noqa: E402
from cik_ecrf.store.models import AuditEvent, Base, Device, FieldValue, FormInstance, Meta, Subject, Visit  # noqa: E402

KDF_ENV = "CIK_ECRF_KDF_MEMORY_KIB"
LIGHT_KIB = "8192"
ADMIN_PW, NURSE_PW, NURSE_PW2 = "Bench-pass-2026a", "Ward-pass-2026a", "Ward-pass-2026b"
VITALS_VISITS = ["baseline", "D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D14", "D28"]
OFFSET = dt.timezone(dt.timedelta(hours=8))  # the ward's clock (UTC+8)


# ---------------------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def kdf_cost(memory_kib: str | None) -> Iterator[None]:
    """Wrap keys at the production argon2id cost (None) or the light test cost, then restore the env."""
    saved = os.environ.get(KDF_ENV)
    if memory_kib is None:
        os.environ.pop(KDF_ENV, None)
    else:
        os.environ[KDF_ENV] = memory_kib
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(KDF_ENV, None)
        else:
            os.environ[KDF_ENV] = saved


def _ms(values: list[float]) -> str:
    if len(values) < 20:  # too few for a p95
        return f"median {statistics.median(values) * 1000:.2f} ms, max {max(values) * 1000:.2f} ms (n={len(values)})"
    p95 = statistics.quantiles(values, n=20)[18]
    return f"median {statistics.median(values) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms (n={len(values)})"


def _med(values: list[float]) -> float:
    return statistics.median(values) * 1000


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.1f} MiB" if path.exists() else "absent"


class Probe:
    """Time named calls by swapping module attributes for timing wrappers (a few µs per call)."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        totals, calls = self.totals, self.calls

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - started
                calls[label] += 1

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))

    def take(self) -> dict[str, float]:
        out = dict(self.totals)
        self.totals.clear()
        return out

    def restore(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()


def copy_to_bare(engine: Any, target: Path) -> int:
    """The store's schema (DDL as stored) and every row, into an unencrypted sqlite3 file."""
    bare = sqlite3.connect(target, isolation_level=None)
    bare.execute("PRAGMA journal_mode = WAL")
    rows_copied = 0
    with engine.connect() as conn:
        for (ddl,) in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index'"
        ):
            bare.execute(ddl)
        bare.execute("BEGIN")
        for table in ["alembic_version"] + [t.name for t in Base.metadata.sorted_tables]:
            result = conn.exec_driver_sql(f'SELECT * FROM "{table}"')
            columns = ", ".join(f'"{c}"' for c in result.keys())
            marks = ", ".join("?" * len(result.keys()))
            while chunk := result.fetchmany(20_000):
                bare.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', [tuple(r) for r in chunk])
                rows_copied += len(chunk)
        bare.execute("COMMIT")
    bare.close()
    return rows_copied


def bare_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in (
        "PRAGMA busy_timeout = 10000",
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA foreign_keys = ON",
    ):
        conn.execute(pragma)
    return conn


def make_store(directory: Path, nurses: dict[str, str | None]) -> None:
    """A store with an admin (production key-wrapping cost) and nurses at the given costs, passwords changed."""
    with kdf_cost(None):
        Store.init(directory, "BENCH", "admin", ADMIN_PW, device_code="WARD")
        admin = Store.open(directory, "admin", ADMIN_PW)
    with admin:
        for name, cost in nurses.items():
            with kdf_cost(cost):
                admin.add_user(name, "nurse", NURSE_PW)
    for name, cost in nurses.items():
        with kdf_cost(cost), Store.open(directory, name, NURSE_PW) as nurse:
            nurse.change_password(NURSE_PW, NURSE_PW2)


# ---------------------------------------------------------------------------------------- values


def _dtm(day: dt.date, hour: int, minute: int = 0) -> str:
    return dt.datetime.combine(day, dt.time(hour, minute), OFFSET).isoformat(timespec="minutes")


class Patient:
    """One synthetic subject: age, sex, D0 and a seeded stream of plausible values."""

    def __init__(self, rng: random.Random, d0: dt.date) -> None:
        self.rng = rng
        self.d0 = d0
        self.icf = d0 - dt.timedelta(days=rng.randint(20, 35))
        self.age = rng.randint(3, 38)
        self.birth = self.icf - dt.timedelta(days=365 * self.age + rng.randint(30, 300))
        self.sex = rng.choice("MF")
        self.height = (
            round(min(185.0, 95 + self.age * 6.5) + rng.uniform(-8, 8), 1)
            if self.age < 16
            else round(rng.uniform(152, 184), 1)
        )
        self.weight = round(max(13.0, (self.height - 100) * 0.9 + rng.uniform(-5, 8)), 1)
        self.prodid = f"CIK-{rng.randint(10000, 99999)}"
        self.screening_day = self.icf + dt.timedelta(days=1)  # tests and measurements after consent

    def day(self, visit_day: int) -> dt.date:
        return self.d0 + dt.timedelta(days=visit_day)

    def vitals(self, day: dt.date, visit: str) -> dict[str, Any]:
        r = self.rng
        sys_bp = r.randint(95, 130)
        values: dict[str, Any] = {
            "VSDAT": _dtm(day, r.randint(7, 10), r.choice([0, 15, 30, 45])),
            "TEMP": round(r.uniform(36.2, 37.6), 1),
            "HR": r.randint(70, 120),
            "RESP": r.randint(14, 26),
            "SYSBP": sys_bp,
            "DIABP": sys_bp - r.randint(30, 50),
            "OXYSAT": r.randint(94, 100),
            "O2SUPP": "NONE",
            "WEIGHT": round(self.weight + r.uniform(-1, 1), 1),
        }
        if visit == "screening":
            values["HEIGHT"] = self.height
        if visit in ("screening", "baseline"):
            values["ECOG"] = r.choice([0, 1, 1, 2])
        return values

    def labs(self, day: dt.date, visit: str) -> dict[str, Any]:
        r = self.rng
        values: dict[str, Any] = {
            "LBDAT": day.isoformat(),
            "WBC": round(r.uniform(1.5, 9), 2),
            "ANC": round(r.uniform(0.5, 5), 2),
            "HGB": r.randint(80, 140),
            "PLT": r.randint(40, 350),
            "PBBLST": round(r.uniform(0, 20), 1),
            "CREAT": round(r.uniform(25, 80), 1),
            "CREAT_ULN": 97.0,
            "BUN": round(r.uniform(2.5, 6.5), 2),
            "BUN_ULN": 7.1,
            "ALT": r.randint(8, 50),
            "ALT_ULN": 40,
            "TBIL": round(r.uniform(4, 18), 1),
            "TBIL_ULN": 21.0,
            "CRP": round(r.uniform(1, 40), 1),
            "FERRITIN": r.randint(100, 2500),
            "IL6": round(r.uniform(2, 60), 1),
        }
        if visit == "screening":
            values.update({"HBSAG": "NEG", "HBVDNA": "NEG", "HCVRNA": "NEG", "HIVAGAB": "NEG", "TPAB": "NEG"})
        if self.sex == "F" and (self.age >= 12 or visit == "screening"):
            values["HCG"] = "NEG"
        return values

    def marrow(self, day: dt.date, visit: str) -> dict[str, Any]:
        r = self.rng
        negative = visit != "screening" and r.random() < 0.7
        values: dict[str, Any] = {
            "BMDAT": day.isoformat(),
            "BMBLST": round(r.uniform(0, 4) if visit != "screening" else r.uniform(8, 80), 1),
            "MRDMETH": "FCM",
            "MRDRES": 0 if negative else round(r.uniform(0.01, 5), 4),
            "MRDLLOQ": 0.01,
            "CSFDONE": "N",
        }
        if visit == "screening":
            values.update(
                {"CSFDONE": "Y", "CSFBLST": round(r.uniform(0, 4), 1), "CNSSTAT": "CNS1", "MRIDONE": "Y", "MRILES": "N"}
            )
        return values

    def forms(self, visit: str, form: str, day: dt.date) -> dict[str, Any]:
        r = self.rng
        if form == "vitals":
            return self.vitals(day, visit)
        if form == "labs":
            return self.labs(day, visit)
        if form == "marrow_mrd":
            return self.marrow(day, visit)
        if form == "consent":
            values = {
                "ICFVER": "2.0",
                "ICFDAT": self.icf.isoformat(),
                "SUBJSIGN": "Y" if self.age >= 8 else "N",
                "LTFUCONS": "Y",
            }
            if self.age < 18:
                values.update({"GRDSIGN": "Y", "GRDREL": r.choice(["MOTHER", "FATHER"])})
            return values
        if form == "demographics":
            values = {
                "SUBJINIT": "".join(r.choice("ABCDEFGHJKLMNPQRSTWXYZ") for _ in range(r.choice([2, 3]))),
                "BRTHDAT": self.birth.isoformat(),
                "SEX": self.sex,
                "ETHNIC": r.choice(["HA", "HA", "HA", "HU", "MA", "ZH"]),
            }
            if self.sex == "F":
                values["CHILDPOT"] = "Y" if self.age >= 12 else "N"
            return values
        if form == "diagnosis":
            status = r.choice(["REFRACTORY", "RELAPSED"])
            values = {
                "DIAGDAT": (self.icf - dt.timedelta(days=r.randint(300, 900))).isoformat()[:7],
                "DXSTAT": status,
                "QUALDAT": (self.icf - dt.timedelta(days=3)).isoformat(),
                "QUALBLST": round(r.uniform(20, 90), 1),
                "FCMDONE": "Y",
                "MRDDONE": "Y",
                "KARYDONE": "Y",
                "KARYO": "46,XX" if self.sex == "F" else "46,XY",
                "MOLEC": [
                    {"GENE": "BCR::ABL1", "METHOD": "FISH", "RESULT": "NEG"},
                    {"GENE": "KMT2A", "METHOD": "RTPCR", "RESULT": "NEG"},
                ],
                "WHOSUB": r.choice(["NOS", "HYPERDIPLOID", "ETV6_RUNX1", "BCR_ABL1_LIKE"]),
                "RISK": r.choice(["HIGH", "VERY_HIGH"]),
                "BENDA": "N",
                "HSCT": "N",
            }
            if status == "RELAPSED":
                values["NRELAPSE"] = r.randint(1, 3)
            return values
        if form == "prior_cart":
            cart = self.icf - dt.timedelta(days=r.randint(90, 200))
            return {
                "CARTTGT": "CD19",
                "CARTDAT": cart.isoformat(),
                "CARTDOSE": round(r.uniform(0.5, 5), 2),
                "CARTBOR": "CR",
                "LOSSEV": [
                    {
                        "LOSSDAT": (cart + dt.timedelta(days=r.randint(28, 80))).isoformat(),
                        "LOSSMETH": "QPCR",
                        "LOSSVAL": round(r.uniform(1, 50), 3),
                    }
                ],
                "RELSINCE": "N",
            }
        if form == "eligibility":
            values = {k: "Y" for k in ("INCL04", "INCL06")} | {
                k: "N"
                for k in ("EXCL02", "EXCL03", "EXCL04", "EXCL05", "EXCL06", "EXCL08", "EXCL09", "EXCL10", "EXCL14")
            }
            values.update({"IECONF": "Y", "IEDAT": (self.icf + dt.timedelta(days=12)).isoformat()})
            if self.sex == "F":
                values["LACTATING"] = "N"
            return values
        if form == "randomization":
            return {
                "RANDDTC": _dtm(self.icf + dt.timedelta(days=13), 15),
                "RANDNO": f"R{r.randint(1000, 9999)}",
                "PRODID": self.prodid,
            }
        if form == "infusion":
            return {
                "PRODID": self.prodid,
                "INFSTDTC": _dtm(day, 10),
                "INFENDTC": _dtm(day, 10, 40),
                "DOSWT": self.weight,
                "CELLS": round(r.uniform(1, 8), 2),
                "VIAB": round(r.uniform(80, 98), 1),
                "VOL": r.randint(50, 200),
                "INTERR": "N",
            }
        if form == "crs_icans":
            values = {
                "TMAX": round(r.uniform(36.5, 37.9), 1),
                "HYPOTEN": "NONE",
                "HYPOXIA": "NONE",
                "SEIZURE": "N",
                "ICANSGR": 0,
            }
            values["ICE" if self.age >= 12 else "CAPD"] = 10 if self.age >= 12 else r.randint(0, 4)
            return values
        if form == "cart_persistence":
            return {
                "CPDAT": day.isoformat(),
                "CARCOPY": round(r.uniform(0, 20000), 1),
                "CARLLOQ": 50.0,
                "CD19PCT": round(r.uniform(0, 12), 2),
            }
        if form == "response":
            return {"RSDAT": day.isoformat(), "OVRLRESP": r.choice(["CR", "CR", "CRI", "PR"])}
        if form == "survival":
            return {"LKADAT": day.isoformat(), "ALIVE": "Y", "RELSINCE": "N", "NEWTHER": "N", "NEWMAL": "N"}
        raise KeyError(form)

    def subject_logs(self) -> list[tuple[str, dict[str, Any]]]:
        r = self.rng
        logs: list[tuple[str, dict[str, Any]]] = []
        for k in range(r.randint(2, 4)):
            start = self.d0 + dt.timedelta(days=r.randint(0, 60))
            category = ["CRS", "CYTOPENIA", "INFECTION", "OTHER"][k % 4]
            grade = r.randint(1, 3)
            values = {
                "AETERM": {
                    "CRS": "Cytokine release syndrome",
                    "CYTOPENIA": "Neutropenia",
                    "INFECTION": "Upper respiratory infection",
                    "OTHER": "Nausea",
                }[category],
                "AECAT": category,
                "AESTDAT": start.isoformat(),
                "AEONGO": "N",
                "AEENDAT": (start + dt.timedelta(days=r.randint(2, 20))).isoformat(),
                "AETOXGR": grade,
                "AESER": "Y" if grade >= 3 else "N",
                "AEREL": r.choice(["POSSIBLE", "PROBABLE", "UNLIKELY"]),
                "AEOUT": "RECOVERED",
            }
            if grade >= 3:
                values["AESCRIT"] = ["HOSPITALIZATION"]
            logs.append(("adverse_events", values))
        for _ in range(r.randint(2, 3)):
            start = self.d0 - dt.timedelta(days=r.randint(0, 10))
            drug = r.choice(
                [
                    ("Tocilizumab", "CRS", 8.0, "mg/kg", "IV"),
                    ("Levetiracetam", "ICANS prophylaxis", 500.0, "mg", "PO"),
                    ("Acyclovir", "Prophylaxis", 200.0, "mg", "PO"),
                ]
            )
            logs.append(
                (
                    "conmeds",
                    {
                        "CMTRT": drug[0],
                        "CMINDC": drug[1],
                        "CMDOSE": drug[2],
                        "CMDOSU": drug[3],
                        "CMROUTE": drug[4],
                        "CMSTDAT": start.isoformat(),
                        "CMONGO": "N",
                        "CMENDAT": (start + dt.timedelta(days=r.randint(5, 30))).isoformat(),
                    },
                )
            )
        logs.append(("end_of_study", {"DSDECOD": "COMPLETED", "DSSTDAT": self.day(5475 + 1).isoformat()}))
        return logs


def schedule(study: StudyDefinition, patient: Patient) -> Iterator[tuple[str, str, dt.date, dict[str, Any]]]:
    """Every form of every scheduled visit (unscheduled visits aside), then the subject-level logs."""
    for visit in study.study.visits:
        if visit.id in ("unscheduled", "subject"):
            continue
        if visit.id == "screening":
            day = patient.screening_day
        elif visit.window is not None and visit.window.anchor == "D0" and visit.window.day is not None:
            day = patient.day(visit.window.day)
        else:
            day = patient.icf + dt.timedelta(days=13)  # randomization
        for form in visit.forms:
            yield visit.id, form, day, patient.forms(visit.id, form, day)
    for form, values in patient.subject_logs():
        yield "subject", form, patient.d0, values


# ---------------------------------------------------------------------------------------- 1. save


def bench_save(tmp: Path, study: StudyDefinition, saves: int) -> None:
    directory = tmp / "save-store"
    make_store(directory, {"nurse": LIGHT_KIB})
    store = Store.open(directory, "nurse", NURSE_PW2, study)
    rng = random.Random(3)
    today = dt.date.today()
    n_subjects = -(-saves // len(VITALS_VISITS))
    patients: list[tuple[str, Patient]] = []
    started = time.perf_counter()
    for i in range(n_subjects):  # screening forms through Store.save as well (untimed): BSA reads the screening height
        patient = Patient(rng, today - dt.timedelta(days=40 + i % 20))
        number = store.add_subject()
        screening_day = patient.screening_day
        for form in ("consent", "demographics", "vitals"):
            store.save(SaveRequest(number, "screening", form, patient.forms("screening", form, screening_day)))
        patients.append((number, patient))
    setup = time.perf_counter() - started

    bare_path = tmp / "save-bare.db"
    copy_to_bare(store.engine, bare_path)
    bare = bare_connect(bare_path)
    tables = {t.name: [c.name for c in t.columns] for t in Base.metadata.sorted_tables}

    def insert_sql(table: str) -> str:
        return f'INSERT INTO "{table}" ({", ".join(tables[table])}) VALUES ({", ".join("?" * len(tables[table]))})'

    probe = Probe()
    probe.wrap(store.rules, "session", "rules")
    probe.wrap(rules_session.FormSession, "snapshot", "rules")
    probe.wrap(save_sql, "load_forms", "subject_data")
    probe.wrap(audit.Chain, "append", "audit")
    probe.wrap(audit.Chain, "close", "audit")
    commit_started: list[float] = []

    def before_commit(_session: Session) -> None:
        commit_started.append(time.perf_counter())

    def after_commit(_session: Session) -> None:
        if commit_started:
            probe.totals["commit"] += time.perf_counter() - commit_started.pop()

    statements = [0]

    def count_statement(*_args: Any) -> None:
        statements[0] += 1

    event.listen(Session, "before_commit", before_commit)
    event.listen(Session, "after_commit", after_commit)
    event.listen(store.engine, "before_cursor_execute", count_statement)

    save_times: list[float] = []
    bare_times: list[float] = []
    breakdown: dict[str, float] = defaultdict(float)
    value_rows = audit_rows = statement_count = bare_statements = 0
    seen_visits: set[str] = set()
    with store.unit_of_work() as session:
        last_seq = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) or 0
    jobs = [(visit, number, patient) for visit in VITALS_VISITS for number, patient in patients][:saves]
    for visit, number, patient in jobs:
        day = patient.day(int(visit[1:]) if visit.startswith("D") else -3)
        request = SaveRequest(number, visit, "vitals", patient.vitals(day, visit))
        probe.take()
        statements[0] = 0
        started = time.perf_counter()
        result = store.save(request)
        save_times.append(time.perf_counter() - started)
        statement_count += statements[0]
        for label, seconds in probe.take().items():
            breakdown[label] += seconds

        # exactly the rows this save wrote, replayed into the bare file in one transaction of its own
        with store.unit_of_work() as session:
            conn = session.connection()
            instance = conn.execute(select(FormInstance.__table__).where(FormInstance.id == result.instance_id)).one()
            visit_row = conn.execute(select(Visit.__table__).where(Visit.id == instance.visit_pk)).one()
            values = conn.execute(
                select(FieldValue.__table__).where(FieldValue.instance_id == result.instance_id)
            ).all()
            events = conn.execute(
                select(AuditEvent.__table__).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq)
            ).all()
            metas = conn.execute(select(Meta.__table__).where(Meta.key.in_([audit.HEAD_KEY, audit.COUNT_KEY]))).all()
            device = conn.execute(select(Device.__table__)).one()
        last_seq = events[-1].seq
        value_rows += len(values)
        audit_rows += len(events)
        new_visit = visit_row.id not in seen_visits
        seen_visits.add(visit_row.id)
        started = time.perf_counter()
        bare.execute("BEGIN IMMEDIATE")
        if new_visit:
            bare.execute(insert_sql("visit"), tuple(visit_row))
        bare.execute(insert_sql("form_instance"), tuple(instance))
        bare.executemany(insert_sql("field_value"), [tuple(v) for v in values])
        bare.executemany(insert_sql("audit_event"), [tuple(e) for e in events])
        bare.executemany("UPDATE meta SET value = ? WHERE key = ?", [(m.value, m.key) for m in metas])
        bare.execute(
            "UPDATE device SET next_seq = ?, next_subject = ? WHERE id = ?",
            (device.next_seq, device.next_subject, device.id),
        )
        bare.execute("COMMIT")
        bare_times.append(time.perf_counter() - started)
        bare_statements += 8 if new_visit else 7

    event.remove(Session, "before_commit", before_commit)
    event.remove(Session, "after_commit", after_commit)
    event.remove(store.engine, "before_cursor_execute", count_statement)
    probe.restore()
    bare.close()
    store.close()

    n = len(save_times)
    ratio = statistics.median(save_times) / statistics.median(bare_times)
    print(
        f"1. one form save: vitals at {', '.join(VITALS_VISITS[:3])} … {VITALS_VISITS[-1]} for {n_subjects} subjects "
        f"(set-up: {n_subjects} subjects × 3 screening forms through Store.save, {setup:.1f} s, untimed)"
    )
    print(
        f"   rows per save (mean): {value_rows / n:.1f} value rows + {audit_rows / n:.1f} audit rows + form instance + visit + chain head/count + device seq"
    )
    print(f"   Store.save (rules, SQLCipher, WAL, synchronous=FULL, one transaction): {_ms(save_times)}")
    print(f"   bare sqlite3 commit of the same rows (stdlib, unencrypted, WAL, synchronous=FULL): {_ms(bare_times)}")
    print(f"   ratio Store.save / bare commit (medians): {ratio:.2f}x   (issue 3 target: within 2x)")
    mean_total = sum(save_times) / n * 1000
    parts = {label: breakdown.get(label, 0.0) / n * 1000 for label in ("rules", "subject_data", "audit", "commit")}
    other = mean_total - sum(parts.values())
    print(
        f"   where a save's time goes (mean {mean_total:.2f} ms per save): rules engine {parts['rules']:.2f} ms; reading the subject for the rules "
        f"{parts['subject_data']:.2f} ms; audit chain {parts['audit']:.2f} ms ({audit_rows / n:.1f} events hashed, one executemany INSERT); "
        f"COMMIT (encrypt + WAL fsync) {parts['commit']:.2f} ms; everything else (lookups, value rows, ORM) {other:.2f} ms"
    )
    print(
        f"   statements per save (mean): {statement_count / n:.0f} executed by Store.save through SQLAlchemy (BEGIN IMMEDIATE included, the DBAPI commit not); "
        f"{bare_statements / n:.1f} in the bare transaction (BEGIN and COMMIT included, each executemany counted once)"
    )


# ---------------------------------------------------------------------------------------- 2. open


def generate(store: Store, study: StudyDefinition, subjects: int, seed: int = 13) -> tuple[int, int, int]:
    """Every visit of the schedule for each subject, written with the store's models in one transaction per batch."""
    rng = random.Random(seed)
    forms = study.forms
    counts = [0, 0, 0]  # form instances, values, audit events
    batch = 25
    for first in range(0, subjects, batch):
        with store.unit_of_work() as session:
            device = repository.this_device(session)
            device_id = device.id
            head = session.get(Meta, audit.HEAD_KEY)
            count = session.get(Meta, audit.COUNT_KEY)  # held, so audit.append finds them in the identity map
            assert head is not None and count is not None
            user_id = store.actor.user_id or ""
            for k in range(first, min(subjects, first + batch)):
                patient = Patient(rng, dt.date(2008, 1, 7) + dt.timedelta(days=rng.randint(0, 1090)))
                entered = dt.datetime.combine(patient.icf, dt.time(9), dt.UTC)
                number = f"{device.site_code}-{device.code}-{device.next_subject:04d}"
                device.next_subject += 1
                subject = Subject(
                    id=str(uuid.uuid4()),
                    number=number,
                    site_code=device.site_code,
                    created_at=entered.isoformat(),
                    created_by=user_id,
                )
                session.add(subject)
                session.flush()
                audit.append(
                    session,
                    store.actor,
                    "subject_add",
                    subject_id=subject.id,
                    new_json=json.dumps(number),
                    at=(entered.isoformat(timespec="microseconds"), 480),
                )

                visits: dict[str, str] = {}
                visit_rows, instance_rows, value_rows, event_rows = [], [], [], []
                seq, previous = device.next_seq, head.value

                def chain(action: str, at: str, **fields: Any) -> None:
                    nonlocal seq, previous
                    row = {
                        "id": str(uuid.uuid4()),
                        "device_id": device_id,
                        "device_seq": seq,
                        "user_id": user_id,
                        "username": store.actor.username,
                        "role": store.actor.role,
                        "at_utc": at,
                        "utc_offset_min": 480,
                        "action": action,
                        "prev_hash": previous,
                        **{
                            name: fields.get(name)
                            for name in (
                                "subject_id",
                                "visit_id",
                                "form_id",
                                "instance_id",
                                "field_id",
                                "old_json",
                                "new_json",
                                "reason",
                                "confirmed_json",
                                "base_version",
                            )
                        },
                    }
                    row["hash"] = audit.event_hash(types.SimpleNamespace(**row))  # type: ignore[arg-type]
                    event_rows.append(row)
                    seq, previous = seq + 1, row["hash"]

                for visit_id, form_id, day, raw in schedule(study, patient):
                    if visit_id not in visits:
                        visits[visit_id] = str(uuid.uuid4())
                        visit_rows.append(
                            {"id": visits[visit_id], "subject_id": subject.id, "visit_id": visit_id, "repeat": 0}
                        )
                    at = dt.datetime.combine(
                        day, dt.time(rng.randint(2, 9), rng.randint(0, 59)), dt.UTC
                    ) + dt.timedelta(microseconds=rng.randint(0, 999_999))
                    now_text = at.isoformat()
                    instance_id = str(uuid.uuid4())
                    form = forms[form_id]
                    instance_rows.append(
                        {
                            "id": instance_id,
                            "visit_pk": visits[visit_id],
                            "form_id": form_id,
                            "form_version": form.version,
                            "status": "complete",
                            "created_at": now_text,
                            "updated_at": now_text,
                        }
                    )
                    context = {
                        "subject_id": subject.id,
                        "visit_id": visit_id,
                        "form_id": form_id,
                        "instance_id": instance_id,
                    }
                    at_text = at.isoformat(timespec="microseconds")
                    chain(
                        "form_create",
                        at_text,
                        new_json=json.dumps({"status": "complete", "version": form.version}),
                        **context,
                    )
                    for field_id in sorted(raw):
                        spec = form.fields[field_id]
                        typed = (
                            read_rows(spec, raw[field_id])[0]
                            if spec.definition.type == "group"
                            else read_scalar(spec, raw[field_id])
                        )
                        value_text = _dump(typed)  # exactly what Store.save would store
                        value_rows.append(
                            {
                                "instance_id": instance_id,
                                "field_id": field_id,
                                "value_json": value_text,
                                "updated_at": now_text,
                                "updated_by": user_id,
                                "server_version": None,
                            }
                        )
                        chain("value_set", at_text, field_id=field_id, new_json=value_text, **context)
                session.execute(insert(Visit), visit_rows)
                session.execute(insert(FormInstance), instance_rows)
                session.execute(insert(FieldValue), value_rows)
                session.execute(insert(AuditEvent), event_rows)
                device.next_seq = seq
                head.value = previous
                count.value = str(int(count.value) + len(event_rows))
                session.flush()
                counts[0] += len(instance_rows)
                counts[1] += len(value_rows)
                counts[2] += len(event_rows) + 1
    return counts[0], counts[1], counts[2]


def rules_check(study: StudyDefinition) -> tuple[int, int, list[str]]:
    """How plausible the generated values are: the rules engine over one generated subject's forms."""
    patient = Patient(random.Random(99), dt.date(2009, 5, 4))
    entries = list(schedule(study, patient))
    forms: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for visit, form, _, values in entries:
        forms.setdefault((visit, form), []).append(values)
    data = SubjectData.of(forms)
    engine = RulesEngine(study)
    errors, warnings, samples = 0, 0, []
    for visit, form, _, values in entries:
        evaluation = engine.evaluate(form, visit, values, data)
        errors += len(evaluation.errors) + len(evaluation.missing_required)
        warnings += len(evaluation.warnings)
        samples += [f"{visit}/{form} {i.location()}: {i.message.en}" for i in evaluation.errors] + [
            f"{visit}/{form} {m}: required" for m in evaluation.missing_required
        ]
    return errors, warnings, samples


def bench_open(tmp: Path, study: StudyDefinition, subjects: int, opens: int, verify: bool) -> None:
    directory = tmp / "full-store"
    make_store(directory, {"nurse.prod": None, "nurse.light": LIGHT_KIB})
    errors, warnings, samples = rules_check(study)
    store = Store.open(directory, "nurse.light", NURSE_PW2, study)
    started = time.perf_counter()
    instances, values, events = generate(store, study, subjects)
    generation = time.perf_counter() - started
    store.close()
    db = directory / DB_FILE
    print(
        f"2. a store with {subjects} subjects, whole schedule entered (screening … Y15, 2–4 AEs, 2–3 conmeds, end of study each): "
        f"{instances} form instances, {values} values, {events} audit events"
    )
    print(
        f"   generated in {generation:.1f} s (direct inserts via the models, {-(-subjects // 25)} transaction(s) of up to 25 subjects; audit.append per subject, "
        f"audit.event_hash for the rest); store.db {_size(db)}, -wal {_size(db.with_name(DB_FILE + '-wal'))}"
    )
    print(
        f"   plausibility: the rules engine over one generated subject's forms finds {errors} errors/missing, {warnings} warnings"
        + (f" (first: {samples[0]})" if samples else "")
    )

    bare_path = tmp / "full-bare.db"
    store = Store.open(directory, "nurse.light", NURSE_PW2, study)
    if verify:
        started = time.perf_counter()
        check = store.verify_audit()
        print(
            f"   audit verify over the whole chain: ok={check.ok}, {check.events} events, {time.perf_counter() - started:.1f} s"
        )
    started = time.perf_counter()
    copied = copy_to_bare(store.engine, bare_path)
    print(
        f"   bare sqlite3 copy of the same rows ({copied} rows): {_size(bare_path)}, made in {time.perf_counter() - started:.1f} s"
    )
    store.close()

    probe = Probe()
    probe.wrap(crypto, "_derive", "argon2id")
    probe.wrap(access, "unlock_key", "unlock_key")
    probe.wrap(api, "open_engine", "open_engine")
    probe.wrap(database, "migrate", "alembic")
    probe.wrap(api, "load_study", "load_study")
    probe.wrap(api, "RulesEngine", "RulesEngine")

    def run(user: str, preloaded: StudyDefinition | None) -> dict[str, list[float]]:
        out: dict[str, list[float]] = defaultdict(list)
        for _ in range(opens):
            probe.take()
            started = time.perf_counter()
            opened = Store.open(directory, user, NURSE_PW2, preloaded)
            out["open"].append(time.perf_counter() - started)
            parts = probe.take()
            started = time.perf_counter()
            numbers = opened.subject_numbers()
            out["numbers"].append(time.perf_counter() - started)
            started = time.perf_counter()
            opened.subject_values(numbers[0])
            out["subject"].append(time.perf_counter() - started)
            out["first screen"].append(out["open"][-1] + out["numbers"][-1])
            for label in ("argon2id", "unlock_key", "open_engine", "alembic", "load_study", "RulesEngine"):
                out[label].append(parts.get(label, 0.0))
            out["login tx"].append(
                out["open"][-1]
                - sum(parts.get(label, 0.0) for label in ("unlock_key", "open_engine", "load_study", "RulesEngine"))
            )
            opened.close()
        return out

    runs = {
        "production argon2id (t=3, 64 MiB), forms loaded at open (as the CLI does)": run("nurse.prod", None),
        "production argon2id, study already in memory (a running client logging in)": run("nurse.prod", study),
        f"light argon2id (t=1, {int(LIGHT_KIB) // 1024} MiB, {KDF_ENV}={LIGHT_KIB}), forms loaded at open": run(
            "nurse.light", None
        ),
        f"light argon2id ({KDF_ENV}={LIGHT_KIB}), study already in memory (a running client)": run(
            "nurse.light", study
        ),
    }
    probe.restore()
    with Store.open(directory, "nurse.light", NURSE_PW2, study) as counting:
        first_values = sum(len(row["values"]) for row in counting.subject_values(counting.subject_numbers()[0])[1])
    print(f"   Store.open + subject_numbers() ({subjects} numbers), {opens} opens each, page cache warm:")
    for name, out in runs.items():
        print(f"   - {name}:")
        print(
            f"       Store.open {_ms(out['open'])}; + subject_numbers() {_med(out['numbers']):.2f} ms → first screen {_ms(out['first screen'])}"
        )
        print(
            f"       open, medians: argon2id unwrap {_med(out['argon2id']):.1f} ms, keyring lock/read/fsync'd write {_med(out['unlock_key']) - _med(out['argon2id']):.1f} ms, "
            f"SQLCipher connect + pragmas {_med(out['open_engine']) - _med(out['alembic']):.1f} ms, alembic check/upgrade {_med(out['alembic']):.1f} ms, "
            f"login audit transaction {_med(out['login tx']):.1f} ms, load_study {_med(out['load_study']):.1f} ms, RulesEngine graphs {_med(out['RulesEngine']):.1f} ms"
        )
        print(
            f"       then one subject's whole record (subject_values of the first subject, {first_values} values): {_med(out['subject']):.1f} ms"
        )

    key_store = Store.open(directory, "nurse.light", NURSE_PW2, study)
    data_key = key_store._data_key()
    key_store.close()
    cipher_only: list[float] = []
    for _ in range(opens):
        started = time.perf_counter()
        engine = make_engine(db, data_key)
        with engine.connect() as conn:
            conn.execute(text("SELECT number FROM subject ORDER BY number")).all()
        cipher_only.append(time.perf_counter() - started)
        engine.dispose()
    bare_open: list[float] = []
    for _ in range(opens):
        started = time.perf_counter()
        conn = bare_connect(bare_path)
        conn.execute("SELECT number FROM subject ORDER BY number").fetchall()
        bare_open.append(time.perf_counter() - started)
        conn.close()
    light_first = statistics.median(runs[list(runs)[2]]["first screen"])
    prod_first = statistics.median(runs[list(runs)[0]]["first screen"])
    print(
        f"   SQLCipher engine alone (make_engine with the key, pragmas, subject numbers; no KDF, alembic or login): {_ms(cipher_only)}"
    )
    print(f"   bare sqlite3 open of the unencrypted copy (connect, same pragmas, subject numbers): {_ms(bare_open)}")
    print(
        f"   first screen (forms loaded at open) / bare open, medians: production KDF {prod_first / statistics.median(bare_open):.0f}x, light KDF {light_first / statistics.median(bare_open):.0f}x; "
        f"SQLCipher alone / bare {statistics.median(cipher_only) / statistics.median(bare_open):.1f}x   (issue 3 target: opening under 300 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--subjects", type=int, default=213)
    parser.add_argument("--opens", type=int, default=7)
    parser.add_argument("--no-verify", action="store_true", help="skip `audit verify` over the generated store")
    args = parser.parse_args()

    started = time.perf_counter()
    study = load_study(ROOT / "forms")
    with tempfile.TemporaryDirectory(prefix="cik-bench-store-") as tmp:
        bench_save(Path(tmp), study, max(2, args.saves))
        bench_open(Path(tmp), study, max(1, args.subjects), max(2, args.opens), not args.no_verify)
    print(f"total wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
