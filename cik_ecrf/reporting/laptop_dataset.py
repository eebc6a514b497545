"""A laptop's store as an export `Dataset`: its site's subjects, forms, values, trail and signatures.

Always blinded (a laptop never holds an arm). The export itself is written to the trail as a
`data_export` event (audit only: it changes no clinical data) naming the format and the file's hash.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from ..core.errors import UserError
from ..store import audit
from ..store.models import (
    AuditEvent,
    FieldValue,
    FormInstance,
    Signature,
    SignatureItem,
    Site,
    Subject,
    User,
    Visit,
)
from .export.dataset import (
    AuditRecord,
    Dataset,
    InstanceRecord,
    SignatureRecord,
    SubjectRecord,
    UserRecord,
    read_value,
)

#: who may take data off a laptop (monitors read; nurses enter, they do not export)
EXPORT_ROLES = frozenset({"investigator", "data_manager", "monitor"})
#: who may keep direct identifiers (initials, date of birth) in an export
IDENTIFIED_ROLES = frozenset({"data_manager"})


def laptop_dataset(store: Any, identified: bool = False, now: dt.datetime | None = None) -> Dataset:
    """Read the whole store as the signed-in user (`store`: an open `cik_ecrf.store.api.Store`)."""
    store.require(EXPORT_ROLES, "export data")
    if identified and store.actor.role not in IDENTIFIED_ROLES:
        raise UserError("--identified: only a data manager may export direct identifiers (initials, date of birth)")
    created = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    with store.unit_of_work() as session:
        sites = tuple(session.scalars(select(Site.code).order_by(Site.code)))
        site = sites[0] if sites else ""
        subjects = tuple(
            SubjectRecord(s.id, s.number, s.site_code)
            for s in session.scalars(select(Subject).order_by(Subject.number))
        )
        values: dict[str, dict[str, Any]] = {}
        for instance_id, field_id, value_json in session.execute(
            select(FieldValue.instance_id, FieldValue.field_id, FieldValue.value_json)
        ):
            value = read_value(value_json)
            if value is not None:
                values.setdefault(instance_id, {})[field_id] = value
        instances = tuple(
            InstanceRecord(
                i.id, v.subject_id, v.visit_id, v.repeat, i.form_id, i.form_version, i.status, values.get(i.id, {})
            )
            for v, i in session.execute(
                select(Visit, FormInstance)
                .join(FormInstance, FormInstance.visit_pk == Visit.id)
                .order_by(FormInstance.created_at, FormInstance.id)
            )
        )
        trail = tuple(
            AuditRecord(
                e.id,
                e.seq,
                e.at_utc,
                e.utc_offset_min,
                e.username,
                e.role,
                e.action,
                site,
                e.subject_id,
                e.visit_id,
                e.form_id,
                e.instance_id,
                e.field_id,
                e.old_json,
                e.new_json,
                e.reason,
            )
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.subject_id.is_not(None)).order_by(AuditEvent.seq)
            )
        )
        items: dict[str, list[str]] = {}
        for signature_id, instance_id in session.execute(select(SignatureItem.signature_id, SignatureItem.instance_id)):
            items.setdefault(signature_id, []).append(instance_id)
        signatures = tuple(
            SignatureRecord(
                s.id,
                s.subject_id,
                s.scope,
                s.meaning,
                s.username,
                s.full_name,
                s.role,
                s.signed_at_utc,
                s.utc_offset_min,
                site,
                tuple(sorted(items.get(s.id, []))),
                s.visit_id,
                s.form_id,
                s.cleared_at_utc,
            )
            for s in session.scalars(select(Signature).order_by(Signature.signed_at_utc, Signature.id))
        )
        users = tuple(UserRecord(u.username, u.full_name, u.role) for u in session.scalars(select(User)))
    return Dataset(
        store.study.study.id,
        f"laptop {site}",
        created,
        sites,
        subjects,
        instances,
        trail,
        signatures,
        users,
        None,
        identified,
    )


def audit_export(store: Any, kind: str, files: list[tuple[str, str]], identified: bool) -> None:
    """The export on the trail: what was written, its SHA-256, whether identifiers were in it."""
    body = json.dumps(
        {"format": kind, "identified": identified, "files": [{"name": n, "sha256": h} for n, h in files]},
        ensure_ascii=False,
    )
    with store.unit_of_work() as session:
        audit.append(session, store.actor, "data_export", new_json=body[:10_000])
