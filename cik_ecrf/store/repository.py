"""Queries and inserts over the store's tables. They flush; the unit of work commits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..rules import SubjectData
from .errors import StoreError
from .models import Device, FieldValue, FormInstance, Meta, Subject, User, Visit


def meta_value(session: Session, key: str) -> str | None:
    row = session.get(Meta, key)
    return row.value if row else None


def this_device(session: Session) -> Device:
    device_id = meta_value(session, "device_id")
    device = session.get(Device, device_id) if device_id else None
    if device is None:
        raise StoreError("this store has no device record; it was not created by `cik-ecrf init`")
    return device


def user_by_name(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def subject_by_ref(session: Session, ref: str) -> Subject:
    subject = session.scalar(select(Subject).where((Subject.number == ref) | (Subject.id == ref)))
    if subject is None:
        raise StoreError(f"no subject {ref!r} in this store")
    return subject


def subjects(session: Session) -> Sequence[Subject]:
    return session.scalars(select(Subject).order_by(Subject.number)).all()


def instances(
    session: Session,
    subject: Subject,
    visit_id: str | None = None,
    form_id: str | None = None,
    forms: frozenset[str] | None = None,
) -> list[tuple[Visit, FormInstance]]:
    query = (
        select(Visit, FormInstance)
        .join(FormInstance, FormInstance.visit_pk == Visit.id)
        .where(Visit.subject_id == subject.id)
    )
    if forms is not None:
        query = query.where(FormInstance.form_id.in_(sorted(forms)))
    if visit_id is not None:
        query = query.where(Visit.visit_id == visit_id)
    if form_id is not None:
        query = query.where(FormInstance.form_id == form_id)
    return [
        (v, i)
        for v, i in session.execute(query.order_by(Visit.visit_id, FormInstance.created_at, FormInstance.id)).all()
    ]


def values_of(session: Session, instance_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Current values per instance, as JSON values."""
    out: dict[str, dict[str, Any]] = {i: {} for i in instance_ids}
    if not instance_ids:
        return out
    for row in session.scalars(select(FieldValue).where(FieldValue.instance_id.in_(instance_ids))):
        out[row.instance_id][row.field_id] = json.loads(row.value_json)
    return out


def subject_data(session: Session, subject: Subject, forms: frozenset[str] | None = None) -> SubjectData:
    """What the rules may read about a subject (`forms`: only these; None: everything)."""
    pairs = instances(session, subject, forms=forms)
    values = values_of(session, [i.id for _, i in pairs])
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for visit, instance in pairs:
        grouped.setdefault((visit.visit_id, instance.form_id), []).append(values[instance.id])
    return SubjectData.of(grouped)
