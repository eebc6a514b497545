"""A trial under test: the live server, its database, laptops, and eligible (or not) subjects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from live_server import PASSWORD, laptop
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cik_ecrf.definitions.randomization import design
from cik_ecrf.demo import screening_forms
from cik_ecrf.server.randomization import lists
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.sync.client import SyncClient

ARMS = ("CONTROL", "CIK", "MRNA_CIK")
#: words that would give an arm away (labels included); product codes never contain them (no lower case,
#: no 'CIK' in CODE_CHARS since I/L are excluded... checked in the tests)
ARM_WORDS = ("CONTROL", "MRNA_CIK", "mRNA", "CIK", "lymphocytes", "对照", "CIK细胞")


class Trial:
    def __init__(self, live: Any, engine: Engine, url: str, root: Path, study: Any) -> None:
        self.live = live
        self.engine = engine
        self.url = url
        self.root = root
        self.study = study
        self.design = design(study)
        self.laptops: list[Store] = []

    def generate(self) -> lists.RandList:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            return lists.generate(session, self.design, "stat1", "statistician")

    def laptop(self, user: str, name: str | None = None) -> Store:
        store = laptop(self.root / (name or f"laptop-{user}-{len(self.laptops)}"), self.live.url, user, self.study)
        self.laptops.append(store)
        return store

    def close(self) -> None:
        for store in self.laptops:
            store.close()


def enter_subject(store: Store, age: int = 25, eligible: bool = True, confirmed: bool = True) -> str:
    """A subject with complete screening data (age at consent `age`), synced to the server."""
    today = dt.date.today()
    consent = today - dt.timedelta(days=3)
    birth = consent.replace(year=consent.year - age) - dt.timedelta(days=10)
    forms = screening_forms(consent, birth.isoformat(), "M")
    if not eligible:
        forms["eligibility"]["EXCL02"] = "Y"
        forms["eligibility"]["IECONF"] = "N"
    elif not confirmed:
        forms["eligibility"].pop("IECONF")
    number = store.add_subject()
    for form, data in forms.items():
        store.save(SaveRequest(number, "screening", form, data, draft=True))
    sync(store)
    return number


def sync(store: Store) -> None:
    outcome = SyncClient(store).run()
    assert outcome.error is None, outcome.error


def values(store: Store, number: str, visit: str, form: str) -> dict[str, Any]:
    _, rows = store.subject_values(number)
    for row in rows:
        if row["visit"] == visit and row["form"] == form:
            return row["values"]
    return {}


PW = PASSWORD


def clone_subjects(engine: Engine, template: str, count: int, site: str = "BJ01", prefix: str = "C") -> list[str]:
    """`count` new subjects on the server with the template subject's synced screening data (its
    instances and values copied row for row): randomization reads them as it reads any subject's."""
    import uuid

    from sqlalchemy import insert, select

    from cik_ecrf.server.models import FieldState, Instance, Subject

    made = []
    with Session(engine) as session, session.begin():
        instances = list(session.execute(select(Instance).where(Instance.subject_id == template)).scalars())
        fields = {
            i.id: list(session.execute(select(FieldState).where(FieldState.instance_id == i.id)).scalars())
            for i in instances
        }
        subjects, new_instances, new_fields = [], [], []
        for _ in range(count):
            subject_id = str(uuid.uuid4())
            made.append(subject_id)
            subjects.append({"id": subject_id, "number": f"{prefix}{uuid.uuid4().hex[:8].upper()}", "site_code": site})
            for instance in instances:
                if instance.form_id == "randomization":
                    continue
                instance_id = str(uuid.uuid4())
                new_instances.append(
                    {
                        "id": instance_id,
                        "subject_id": subject_id,
                        "visit_id": instance.visit_id,
                        "form_id": instance.form_id,
                        "status": instance.status,
                        "site_code": site,
                    }
                )
                new_fields += [
                    {
                        "instance_id": instance_id,
                        "field_id": f.field_id,
                        "value_json": f.value_json,
                        "version": f.version,
                        "device_id": f.device_id,
                        "conflict_seq": None,
                    }
                    for f in fields[instance.id]
                ]
        session.execute(insert(Subject), subjects)
        session.execute(insert(Instance), new_instances)
        session.execute(insert(FieldState), new_fields)
    return made


def subject_id(store: Store, number: str) -> str:
    found = store.randomization.subject_id(number)
    assert found is not None
    return found
