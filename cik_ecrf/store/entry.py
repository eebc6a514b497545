"""Saving a form: validate with the rules engine, then write values and audit events together.

Nothing is written unless every check passes; the caller's unit of work commits once, so a save is
all or nothing even if the process dies half-way.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..definitions.spec import StudyDefinition
from ..rules import Clock, FormEvaluation, RulesEngine
from ..rules.jsonvalues import to_json
from . import audit, repository
from .errors import PermissionDenied, StoreError, ValidationFailed
from .models import AuditEvent, FieldValue, FormInstance, Subject
from .users import ENTRY_ROLES


@dataclass(frozen=True)
class SaveRequest:
    subject: str
    visit: str
    form: str
    values: dict[str, Any]
    draft: bool = False
    instance: str | None = None
    reason: str | None = None
    confirm_warnings: bool = False


@dataclass(frozen=True)
class SaveResult:
    instance_id: str
    status: str
    changed: tuple[str, ...]
    evaluation: FormEvaluation


def _dump(value: Any) -> str:
    return json.dumps(to_json(value), ensure_ascii=False, sort_keys=True)


def _request_problems(study: StudyDefinition, request: SaveRequest) -> list[str]:
    if request.visit not in study.visit_ids():
        return [f"visit: unknown visit {request.visit!r}"]
    if request.form not in study.forms:
        return [f"form: unknown form {request.form!r}"]
    if request.form not in study.forms_at(request.visit):
        return [f"form: {request.form} is not collected at visit {request.visit} (there: {', '.join(study.forms_at(request.visit))})"]
    form = study.forms[request.form]
    problems = []
    for field_id in request.values:
        spec = form.fields.get(field_id)
        if spec is None:
            problems.append(f"{field_id}: form {request.form} has no field {field_id}")
        elif spec.definition.type == "derived":
            problems.append(f"{field_id}: is derived (computed), it cannot be entered")
        elif spec.definition.entry == "server":
            problems.append(f"{field_id}: is set by the central server, it cannot be entered here")
    return problems


def _confirmed_so_far(session: Session, instance_id: str) -> dict[str, set[str]]:
    """Soft checks already confirmed for each field's current value (a new value needs a new confirmation)."""
    confirmed: dict[str, set[str]] = {}
    events = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq))
    for event in events:
        keys = json.loads(event.confirmed_json) if event.confirmed_json else []
        if event.action in ("value_set", "value_clear") and event.field_id:
            confirmed[event.field_id] = set(keys)
        elif event.action == "warnings_confirmed":
            for key in keys:
                confirmed.setdefault(key.split(":", 1)[0], set()).add(key)
    return confirmed


def _find_instance(session: Session, study: StudyDefinition, subject: Subject, request: SaveRequest) -> FormInstance | None:
    found = repository.instances(session, subject, request.visit, request.form)
    if request.instance is not None:
        for _, instance in found:
            if instance.id == request.instance:
                return instance
        raise StoreError(f"instance {request.instance} is not a {request.form} form of {subject.number} at {request.visit}")
    if study.forms[request.form].repeating:
        return None
    return found[0][1] if found else None


def save_form(session: Session, study: StudyDefinition, engine: RulesEngine, actor: audit.Actor, request: SaveRequest, clock: Clock) -> SaveResult:
    if actor.role not in ENTRY_ROLES:
        raise PermissionDenied(f"a {actor.role} cannot enter data (entry is for nurses, investigators and data managers)")
    problems = _request_problems(study, request)
    if problems and not problems[0].startswith(("visit:", "form:")):
        known = study.forms[request.form].fields
        request = SaveRequest(**{**request.__dict__, "values": {k: v for k, v in request.values.items() if k in known and not known[k].read_only}})
    elif problems:
        raise ValidationFailed(problems)
    subject = repository.subject_by_ref(session, request.subject)
    instance = _find_instance(session, study, subject, request)
    if instance is not None and instance.status == "locked":
        raise StoreError(f"{request.form} at {request.visit} is locked; it cannot be changed")
    old = repository.values_of(session, [instance.id])[instance.id] if instance else {}
    merged = {**old, **request.values}
    merged = {k: v for k, v in merged.items() if v is not None and v != "" and v != []}
    if instance is not None:
        data = repository.subject_data(session, subject, replace=(instance.id, merged))
    else:
        data = repository.subject_data(session, subject, extra=(request.visit, request.form, merged))
    session_ = engine.session(request.form, request.visit, merged, data, clock)
    evaluation = session_.snapshot()
    lines = problems + [f"{i.location()}: {i.message.en}" for i in (evaluation.draft_errors if request.draft else evaluation.errors)]
    typed = {f: to_json(v) for f, v in session_.raw.items() if v is not None}
    canonical_old = {f: json.loads(_dump(v)) for f, v in old.items()}
    changed = tuple(f for f in sorted(set(typed) | set(canonical_old)) if typed.get(f) != canonical_old.get(f))
    prior = _confirmed_so_far(session, instance.id) if instance else {}
    pending = [w for w in evaluation.warnings if w.field in changed or f"{w.field}:{w.code}" not in prior.get(w.field, set())]
    if not request.confirm_warnings:
        lines += [f"{i.location()}: {i.message.en} (a warning: confirm it with --confirm-warnings)" for i in pending]
    if not request.draft:
        lines += [f"{m}: required" for m in evaluation.missing_required]
    new_status = "draft" if request.draft else "complete"
    was_complete = instance is not None and instance.status in ("complete", "signed")
    if was_complete and changed and not (request.reason and request.reason.strip()):
        lines.append("reason: this form is already complete; a reason for the change is required (--reason)")
    if lines:
        raise ValidationFailed(lines)
    now_text = dt.datetime.now(dt.timezone.utc).isoformat()
    visit = repository.visit_row(session, subject, request.visit, create=True)
    assert visit is not None
    device = repository.this_device(session)
    context = {"subject_id": subject.id, "visit_id": request.visit, "form_id": request.form}
    chain = audit.Chain(session, device)
    if instance is None:
        instance = FormInstance(id=str(uuid.uuid4()), visit_pk=visit.id, form_id=request.form, form_version=study.forms[request.form].version, status=new_status, created_at=now_text, updated_at=now_text)
        session.add(instance)
        session.flush()  # no ORM relationships: the parent row goes first
        chain.append(actor, "form_create", instance_id=instance.id, new_json=json.dumps({"status": new_status, "version": instance.form_version}), **context)
    rows = {r.field_id: r for r in session.scalars(select(FieldValue).where(FieldValue.instance_id == instance.id))}
    inserts: list[dict[str, Any]] = []
    confirmed = sorted({f"{w.field}:{w.code}" for w in pending}) if request.confirm_warnings else []
    reason = request.reason.strip() if request.reason else None
    for field_id in changed:
        row = rows.get(field_id)
        new = typed.get(field_id)
        field_confirmed = [c for c in confirmed if c.split(":", 1)[0] == field_id]
        common = dict(instance_id=instance.id, field_id=field_id, old_json=row.value_json if row else None, reason=reason, confirmed_json=json.dumps(field_confirmed) if field_confirmed else None, base_version=row.server_version if row else None, **context)
        if new is None:
            assert row is not None
            session.delete(row)
            chain.append(actor, "value_clear", **common)
        else:
            text = _dump(new)
            if row is None:
                inserts.append({"instance_id": instance.id, "field_id": field_id, "value_json": text, "updated_at": now_text, "updated_by": actor.user_id or ""})
            else:
                row.value_json, row.updated_at, row.updated_by = text, now_text, actor.user_id or ""
            chain.append(actor, "value_set", new_json=text, **common)
    leftover = [c for c in confirmed if c.split(":", 1)[0] not in changed]
    if leftover:
        chain.append(actor, "warnings_confirmed", instance_id=instance.id, confirmed_json=json.dumps(leftover), reason=reason, **context)
    if instance.status != new_status:
        chain.append(actor, "status_change", instance_id=instance.id, old_json=json.dumps(instance.status), new_json=json.dumps(new_status), reason=reason, **context)
        instance.status = new_status
    instance.updated_at = now_text
    if inserts:
        session.execute(insert(FieldValue), inserts)
    chain.close()
    session.flush()
    return SaveResult(instance.id, instance.status, changed, evaluation)
