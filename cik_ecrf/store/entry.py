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

from sqlalchemy.orm import Session

from ..definitions.server_forms import server_set
from ..definitions.spec import StudyDefinition
from ..rules import Clock, FormEvaluation, RulesEngine, SubjectData
from ..rules.jsonvalues import to_json
from . import audit, monitoring_sql, save_sql, signatures  # monitoring_sql: locks, SDV, queries
from .errors import PermissionDenied, StoreError, ValidationFailed
from .users import ENTRY_ROLES

INSTANCE_NAMESPACE = uuid.UUID("5b0c1f0e-8a4e-4c57-9a55-0c1e0ecf0005")  # sync: stable ids of non-repeating forms


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
        return [
            f"form: {request.form} is not collected at visit {request.visit} (there: {', '.join(study.forms_at(request.visit))})"
        ]
    form = study.forms[request.form]
    problems = []
    if server_set(form):  # randomization: its values come only with the server's `randomized` event
        problems.append(
            f"form: {request.form} is set by the central server when the subject is randomized; it is never saved here"
        )
    for field_id in request.values:
        spec = form.fields.get(field_id)
        if spec is None:
            problems.append(f"{field_id}: form {request.form} has no field {field_id}")
        elif spec.definition.type == "derived":
            problems.append(f"{field_id}: is derived (computed), it cannot be entered")
        elif spec.definition.entry == "server":
            problems.append(f"{field_id}: is set by the central server, it cannot be entered here")
        elif not form.applies(field_id, request.visit):
            problems.append(f"{field_id}: is not collected at visit {request.visit}")
    return problems


def save_form(
    session: Session,
    study: StudyDefinition,
    engine: RulesEngine,
    actor: audit.Actor,
    request: SaveRequest,
    clock: Clock,
) -> SaveResult:
    if actor.role not in ENTRY_ROLES:
        raise PermissionDenied(
            f"a {actor.role} cannot enter data (entry is for nurses, investigators and data managers)"
        )
    problems = _request_problems(study, request)
    if problems and not problems[0].startswith(("visit:", "form:")):
        form_spec = study.forms[request.form]
        known = form_spec.fields
        request = SaveRequest(
            **{
                **request.__dict__,
                "values": {
                    k: v
                    for k, v in request.values.items()
                    if k in known and not known[k].read_only and form_spec.applies(k, request.visit)
                },
            }
        )
    elif problems:
        raise ValidationFailed(problems)
    conn = session.connection()
    subject_id, number = save_sql.subject_ref(conn, request.subject)
    needed = engine.forms_read_by(request.form)
    loaded = save_sql.load_forms(conn, subject_id, None if needed is None else needed | {request.form})
    instance = _find_instance(loaded, study, number, request)
    if instance is not None and instance.status == "locked":
        raise StoreError(f"{request.form} at {request.visit} is locked; it cannot be changed")
    monitoring_sql.refuse_locked(conn, subject_id, request.visit, request.form)  # monitoring: a known lock, offline too
    old = instance.values if instance else {}
    merged = {k: v for k, v in {**old, **request.values}.items() if v is not None and v != "" and v != []}
    forms: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in loaded:
        forms.setdefault((row.visit_id, row.form_id), []).append(merged if row is instance else row.values)
    if instance is None:
        forms.setdefault((request.visit, request.form), []).append(merged)
    session_ = engine.session(request.form, request.visit, merged, SubjectData.of(forms), clock)
    evaluation = session_.snapshot()
    lines = problems + [
        f"{i.location()}: {i.message.en}" for i in (evaluation.draft_errors if request.draft else evaluation.errors)
    ]
    typed = {f: _dump(v) for f, v in session_.raw.items() if v is not None}
    old_text = {f: _dump(v) for f, v in old.items()}
    changed = tuple(f for f in sorted(set(typed) | set(old_text)) if typed.get(f) != old_text.get(f))
    prior = save_sql.confirmed_so_far(conn, instance.id) if instance else {}
    pending = [
        w for w in evaluation.warnings if w.field in changed or f"{w.field}:{w.code}" not in prior.get(w.field, set())
    ]
    if not request.confirm_warnings:
        lines += [f"{i.location()}: {i.message.en} (a warning: confirm it with --confirm-warnings)" for i in pending]
    if not request.draft:
        lines += [f"{m}: required" for m in evaluation.missing_required]
    new_status = "draft" if request.draft else "complete"
    if (
        instance is not None and instance.status == "signed" and not changed
    ):  # ---- signatures: nothing changed, they still hold
        new_status = "signed"
    was_complete = instance is not None and instance.status in ("complete", "signed")
    if was_complete and changed and not (request.reason and request.reason.strip()):
        lines.append("reason: this form is already complete; a reason for the change is required (--reason)")
    if lines:
        raise ValidationFailed(lines)
    now_text = dt.datetime.now(dt.UTC).isoformat()
    context = {"subject_id": subject_id, "visit_id": request.visit, "form_id": request.form}
    chain = audit.Chain(session)
    if instance is None:
        # sync: a non-repeating form has one instance per subject and visit, so its id is derived from them:
        # two laptops that start the same form offline then merge field by field instead of duplicating it
        instance_id = str(
            uuid.uuid4()
            if study.forms[request.form].repeating
            else uuid.uuid5(INSTANCE_NAMESPACE, f"{subject_id}/{request.visit}/{request.form}")
        )
        old_status = None
        version = study.forms[request.form].version
        save_sql.insert_instance(
            conn,
            instance_id,
            save_sql.visit_pk(conn, subject_id, request.visit),
            request.form,
            version,
            new_status,
            now_text,
        )
        chain.append(
            actor,
            "form_create",
            instance_id=instance_id,
            new_json=json.dumps({"status": new_status, "version": version}),
            **context,
        )
    else:
        instance_id, old_status = instance.id, instance.status
    confirmed = sorted({f"{w.field}:{w.code}" for w in pending}) if request.confirm_warnings else []
    reason = request.reason.strip() if request.reason else None
    if (
        instance is not None and changed
    ):  # ---- signatures: changing signed data clears their signatures (store/signatures.py)
        signatures.clear_for_change(conn, chain, actor, instance_id, reason, context)
    for field_id in changed:
        field_confirmed = [c for c in confirmed if c.split(":", 1)[0] == field_id]
        stored = instance.raw.get(field_id) if instance else None
        common = dict(
            instance_id=instance_id,
            field_id=field_id,
            old_json=stored,
            reason=reason,
            confirmed_json=json.dumps(field_confirmed) if field_confirmed else None,
            base_version=instance.versions.get(field_id) if instance else None,
            **context,
        )
        if field_id in typed:
            chain.append(actor, "value_set", new_json=typed[field_id], **common)
        else:
            chain.append(actor, "value_clear", **common)
    leftover = [c for c in confirmed if c.split(":", 1)[0] not in changed]
    if leftover:
        chain.append(
            actor,
            "warnings_confirmed",
            instance_id=instance_id,
            confirmed_json=json.dumps(leftover),
            reason=reason,
            **context,
        )
    if old_status is not None and old_status != new_status:
        chain.append(
            actor,
            "status_change",
            instance_id=instance_id,
            old_json=json.dumps(old_status),
            new_json=json.dumps(new_status),
            reason=reason,
            **context,
        )
    new_values = {f: typed[f] for f in changed if f in typed}
    cleared = [f for f in changed if f not in typed]
    save_sql.write_values(
        conn, instance_id, actor.user_id or "", now_text, new_values, set(instance.raw) if instance else set(), cleared
    )
    if instance is not None:
        save_sql.update_instance(conn, instance_id, new_status, now_text)
        monitoring_sql.after_change(conn, instance_id, changed, now_text, actor.username)  # monitoring: SDV, queries
    chain.close()
    return SaveResult(instance_id, new_status, changed, evaluation)


def _find_instance(
    loaded: list[save_sql.InstanceRow], study: StudyDefinition, number: str, request: SaveRequest
) -> save_sql.InstanceRow | None:
    found = [row for row in loaded if row.visit_id == request.visit and row.form_id == request.form]
    if request.instance is not None:
        for row in found:
            if row.id == request.instance:
                return row
        raise StoreError(f"instance {request.instance} is not a {request.form} form of {number} at {request.visit}")
    if study.forms[request.form].repeating:
        return None
    return found[0] if found else None
