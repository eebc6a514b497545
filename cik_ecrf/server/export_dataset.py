"""The server database as an export `Dataset` (the whole study, every site), and the export's own
record in the server's log.

Values and statuses come from the current-state tables (`subject`, `instance`, `field_state`); the
form version each instance was started under, the audit trail and the signatures from the change
log (rejected changes left out: they never changed the data). The arm is read only for an unblinded
export, through the randomization module's one query.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from ..core.passwords import verify_password
from ..definitions.spec import StudyDefinition
from ..events.change import Change
from ..reporting.export.dataset import (
    AuditRecord,
    Dataset,
    InstanceRecord,
    SignatureRecord,
    SubjectRecord,
    UserRecord,
    read_value,
)
from .covers import SignatureCover
from .database import ServerError, now
from .models import Change as ChangeRow
from .models import FieldState, Instance, SeqCounter, Site, Subject, User
from .study_versions.store import instance_versions, study_set

KEPT = ("applied", "merged", "conflict")
SERVER_DEVICE = "server"
#: who may export what from the server (the server decides from its own user table)
IDENTIFIED_ROLES = frozenset({"data_manager"})


def check_user(engine: Engine, username: str, password: str) -> UserRecord:
    """The exporting user, proved by password against the server's user table."""
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None or not user.active or not verify_password(user.password_hash, password):
            raise ServerError(f"{username}: unknown user or wrong password")
        return UserRecord(user.username, user.full_name, user.role)


def arms_of(session: Session) -> dict[str, str]:
    """subject id → arm code, from the randomization module (the one place that reads the allocation)."""
    try:
        from .randomization.queries import arms_by_subject
    except ImportError:
        raise ServerError(
            "--unblinded: this server has no randomization module, so there is no arm to export"
        ) from None
    return dict(arms_by_subject(session))


def server_dataset(
    engine: Engine, study_id: str, *, unblinded: bool = False, identified: bool = False, at: dt.datetime | None = None
) -> Dataset:
    created = at or dt.datetime.now(dt.UTC).replace(microsecond=0)
    with Session(engine) as session:
        sites = tuple(session.scalars(select(Site.code).order_by(Site.code)))
        subjects = tuple(
            SubjectRecord(s.id, s.number, s.site_code)
            for s in session.scalars(select(Subject).order_by(Subject.site_code, Subject.number))
        )
        versions: dict[str, str] = {}
        created_at: dict[str, int] = {}
        trail: list[AuditRecord] = []
        signed: list[tuple[Change, dict[str, Any], str]] = []
        cleared_by_seq: dict[int, str] = {}
        for seq, site, _disposition, body in session.execute(
            select(ChangeRow.seq, ChangeRow.site_code, ChangeRow.disposition, ChangeRow.body)
            .where(ChangeRow.disposition.in_(KEPT))
            .order_by(ChangeRow.seq)
        ):
            try:
                change = Change.model_validate_json(body)
            except ValueError:
                continue  # a malformed change is logged rejected; nothing else can fail here
            if change.action == "form_create" and change.instance_id and change.instance_id not in versions:
                versions[change.instance_id] = (json.loads(change.new_json or "{}") or {}).get("version", "")
                created_at[change.instance_id] = seq
            elif change.action == "signature":
                signed.append((change, json.loads(change.new_json or "{}"), site))
            cleared_by_seq[seq] = change.at_utc
            if change.subject_id is None:
                continue
            trail.append(
                AuditRecord(
                    change.id,
                    seq,
                    change.at_utc,
                    change.utc_offset_min,
                    change.username,
                    change.role,
                    change.action,
                    site,
                    change.subject_id,
                    change.visit_id,
                    change.form_id,
                    change.instance_id,
                    change.field_id,
                    change.old_json,
                    change.new_json,
                    change.reason,
                )
            )
        values: dict[str, dict[str, Any]] = {}
        for instance_id, field_id, value_json in session.execute(
            select(FieldState.instance_id, FieldState.field_id, FieldState.value_json).where(
                FieldState.value_json.is_not(None)
            )
        ):
            value = read_value(value_json)
            if value is not None:
                values.setdefault(instance_id, {})[field_id] = value
        versions |= instance_versions(session.connection())  # an upgraded instance: its version now
        rows = list(session.scalars(select(Instance)))
        rows.sort(key=lambda i: (created_at.get(i.id, 0), i.id))
        instances = tuple(
            InstanceRecord(
                i.id, i.subject_id, i.visit_id, 0, i.form_id, versions.get(i.id, ""), i.status, values.get(i.id, {})
            )
            for i in rows
        )
        cleared: dict[str, str] = {}
        for signature_id, cleared_seq in session.execute(
            select(SignatureCover.signature_id, SignatureCover.cleared_seq).where(
                SignatureCover.cleared_seq.is_not(None)
            )
        ):
            cleared.setdefault(signature_id, cleared_by_seq.get(cleared_seq, ""))
        signatures = tuple(
            SignatureRecord(
                body.get("signature", change.id),
                change.subject_id or "",
                body.get("scope", "form"),
                body.get("meaning", "author"),
                change.username,
                body.get("full_name") or change.username,
                change.role or "",
                change.at_utc,
                change.utc_offset_min,
                site,
                tuple(body.get("instances", [])),
                change.visit_id,
                change.form_id,
                cleared.get(body.get("signature", "")) or None,
            )
            for change, body, site in signed
        )
        users = tuple(UserRecord(u.username, u.full_name, u.role) for u in session.scalars(select(User)))
        arms = arms_of(session) if unblinded else None
    return Dataset(
        study_id, "server", created, sites, subjects, instances, tuple(trail), signatures, users, arms, identified
    )


def definitions(engine: Engine) -> dict[str, StudyDefinition]:
    """Every study version published on this server, oldest first ("v1", "v2" ...): one ODM
    MetaDataVersion each; the newest is the one CSV and endpoints are written under."""
    with engine.connect() as conn:
        found = study_set(conn)
    return {f"v{v.number}": v.study for v in found.versions}


def record_export(engine: Engine, username: str, role: str | None, payload: dict[str, Any]) -> int:
    """The export as a record in the server's change log (the server's audit trail): who, when, what,
    the files' SHA-256. An action no laptop pulls; its place in commit order is its seq."""
    with Session(engine) as session, session.begin():
        seq = int(session.execute(select(SeqCounter.next_seq).where(SeqCounter.id == 1).with_for_update()).scalar_one())
        change = Change(
            id=str(uuid.uuid4()),
            device_id=SERVER_DEVICE,
            device_seq=seq,
            username=username[:64],
            role=role,
            at_utc=now(),
            utc_offset_min=0,
            action="data_export",
            new_json=json.dumps(payload, ensure_ascii=False)[:100_000],
        )
        body = change.model_dump_json()
        session.add(
            ChangeRow(
                seq=seq,
                id=change.id,
                digest=hashlib.sha256(body.encode()).hexdigest(),
                site_code="",
                device_id=SERVER_DEVICE,
                device_seq=seq,
                action="data_export",
                instance_id=None,
                field_id=None,
                disposition="applied",
                reason=None,
                body=body,
                received_at=change.at_utc,
            )
        )
        session.execute(update(SeqCounter).where(SeqCounter.id == 1).values(next_seq=seq + 1))
    return seq
