"""A generated study as an export `Dataset`: every scheduled form of every visit entered, with an audit
record per value and an author signature per subject, plus the clinical course that decides each
subject's endpoints. Used by the schema, CSV and scaling tests and by bench/bench_export.py."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from decimal import Decimal
from typing import Any

from cik_ecrf.definitions.spec import FieldSpec, StudyDefinition
from cik_ecrf.reporting.export.dataset import (
    AuditRecord,
    Dataset,
    InstanceRecord,
    SignatureRecord,
    SubjectRecord,
    UserRecord,
)

CREATED = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
SITES = ("BJ01", "SH02", "GZ03")
USERS = (UserRecord("nurse1", "Wang Li 王丽", "nurse"), UserRecord("inv1", "Dr Zhang Wei 张伟", "investigator"))


def _value(spec: FieldSpec, day: dt.date, rng: random.Random) -> Any:
    d = spec.definition
    kind = spec.kind
    if d.type == "derived" or d.entry == "server":
        return None
    if d.pattern:
        return "AB"
    if spec.codes:
        codes = [c.code for c in spec.codes]
        return [codes[0]] if kind == "multichoice" else rng.choice(codes)
    if kind == "text":
        return "note 备注"
    if kind in ("integer", "decimal"):
        low = d.range.min if d.range and isinstance(d.range.min, Decimal) else Decimal(0)
        high = d.range.max if d.range and isinstance(d.range.max, Decimal) else low + 100
        value = low + (high - low) * Decimal(rng.randint(10, 40)) / 100
        return int(value) if kind == "integer" else value.quantize(Decimal(1).scaleb(-(d.decimals or 0)))
    if kind == "date":
        return day.isoformat()
    if kind == "partial_date":
        return f"{day.year - 1}-{day.month:02d}"
    if kind == "datetime":
        return f"{day.isoformat()}T09:30+08:00"
    if kind == "time":
        return "09:30"
    return None


def _course(index: int, t0: dt.date) -> dict[tuple[str, str], dict[str, Any]]:
    """The values that decide endpoints: response at D28 and later, relapse and death for some."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    responder = index % 3 != 0
    for visit, day in (("D28", 28), ("M2", 60), ("M3", 90), ("M6", 180), ("M9", 270), ("M12", 365)):
        out[(visit, "response")] = {
            "RSDAT": (t0 + dt.timedelta(days=day)).isoformat(),
            "OVRLRESP": "CR" if responder else "NR",
        }
        out[(visit, "marrow_mrd")] = {"MRDRES": Decimal("0"), "MRDLLOQ": Decimal("0.001")}
    if index % 4 == 1:
        out[("subject", "relapse")] = {"RELDAT": (t0 + dt.timedelta(days=200 + index)).isoformat(), "RELTYPE": ["BM"]}
    if index % 5 == 2:
        out[("subject", "death")] = {"DTHDAT": (t0 + dt.timedelta(days=400 + index)).isoformat(), "DTHCAUSE": "DISEASE"}
    return out


def generate(study: StudyDefinition, subjects: int, seed: int = 7, arms: bool = False) -> Dataset:
    rng = random.Random(seed)
    visits = [v for v in study.study.visits if v.id != "unscheduled"]
    subject_rows, instances, trail, signatures = [], [], [], []
    seq = 0
    for n in range(subjects):
        site = SITES[n % len(SITES)]
        subject = SubjectRecord(str(uuid.UUID(int=rng.getrandbits(128))), f"{site}-{n + 1:03d}", site)
        subject_rows.append(subject)
        t0 = dt.date(2024, 1, 1) + dt.timedelta(days=n)
        course = _course(n, t0)
        for visit in visits:
            day = t0 + dt.timedelta(days=visit.window.day if visit.window and visit.window.day is not None else 0)
            forms = study.forms_at(visit.id)
            if visit.id == "subject":
                forms = [f for f in forms if (visit.id, f) in course or f in ("adverse_events", "conmeds")]
            for form_id in forms:
                form = study.forms[form_id]
                values: dict[str, Any] = {}
                for spec in form.fields.values():
                    if not form.applies(spec.id, visit.id):
                        continue
                    if spec.definition.type == "group":
                        rows = [{s.id: _value(s, day, rng) for s in spec.sub_fields} for _ in range(2)]
                        if form_id == "prior_cart":
                            for r, row in enumerate(rows):
                                row["LOSSDAT"] = (day - dt.timedelta(days=60 - r)).isoformat()
                        values[spec.id] = rows
                        continue
                    value = _value(spec, day, rng)
                    if value is not None:
                        values[spec.id] = value
                values |= course.get((visit.id, form_id), {})
                if form_id == "infusion":
                    values["INFSTDTC"] = f"{t0.isoformat()}T10:00+08:00"
                instance_id = str(uuid.UUID(int=rng.getrandbits(128)))
                status = "signed" if form_id == "consent" else "complete"
                instances.append(
                    InstanceRecord(instance_id, subject.id, visit.id, 0, form_id, form.version, status, values)
                )
                at = f"{day.isoformat()}T01:30:00+00:00"
                seq += 1
                trail.append(
                    AuditRecord(
                        str(uuid.UUID(int=rng.getrandbits(128))),
                        seq,
                        at,
                        480,
                        "nurse1",
                        "nurse",
                        "form_create",
                        site,
                        subject.id,
                        visit.id,
                        form_id,
                        instance_id,
                        None,
                        None,
                        json.dumps({"status": status, "version": form.version}),
                    )
                )
                for field_id, value in values.items():
                    seq += 1
                    trail.append(
                        AuditRecord(
                            str(uuid.UUID(int=rng.getrandbits(128))),
                            seq,
                            at,
                            480,
                            "nurse1",
                            "nurse",
                            "value_set",
                            site,
                            subject.id,
                            visit.id,
                            form_id,
                            instance_id,
                            field_id,
                            None,
                            json.dumps(value, default=str, ensure_ascii=False),
                            "transcribed from the source 源文件" if field_id == "ICFDAT" else None,
                        )
                    )
                if form_id == "consent":
                    signatures.append(
                        SignatureRecord(
                            str(uuid.UUID(int=rng.getrandbits(128))),
                            subject.id,
                            "form",
                            "author",
                            "inv1",
                            "Dr Zhang Wei 张伟",
                            "investigator",
                            f"{day.isoformat()}T02:00:00+00:00",
                            480,
                            site,
                            (instance_id,),
                            visit.id,
                            form_id,
                        )
                    )
    allocation = None
    if arms:
        codes = ("CONTROL", "CIK", "MRNA_CIK")
        allocation = {s.id: codes[i % 3] for i, s in enumerate(subject_rows)}
    return Dataset(
        study.study.id,
        "generated",
        CREATED,
        SITES,
        tuple(subject_rows),
        tuple(instances),
        tuple(trail),
        tuple(signatures),
        USERS,
        allocation,
    )
