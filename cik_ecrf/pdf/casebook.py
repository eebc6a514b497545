"""A subject's printed record: one form, one visit or the whole casebook, read from the store.

The content hash printed on every page is computed from exactly the rows printed, with the same
function signing uses, so a printout of signed data carries the hash its signatures carry.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.content import CANON_VERSION, FormContent, Scope, content_hash
from ..definitions.spec import StudyDefinition
from ..rules import Clock, RulesEngine, SubjectData
from ..store import save_sql
from ..store import signatures as esign
from ..store.errors import StoreError
from ..store.models import AuditEvent, Site
from .document import PageFacts, build, format_generated
from .render import Note, PrintedForm, appendix_section, form_section, signature_block

APPENDIX_ACTIONS = (
    "form_create",
    "value_set",
    "value_clear",
    "warnings_confirmed",
    "status_change",
    "signature",
    "signature_cleared",
)


def _when(event: AuditEvent) -> str:
    return esign.format_time(event.at_utc, event.utc_offset_min)


def _notes(events: list[AuditEvent]) -> tuple[Note, ...]:
    notes = []
    for e in events:
        if e.action not in ("value_set", "value_clear", "warnings_confirmed"):
            continue
        confirmed = json.loads(e.confirmed_json) if e.confirmed_json else []
        parts = (
            [f"{e.field_id}: {e.old_json or '∅'} → {e.new_json or '∅'}"]
            if e.field_id and (confirmed or e.reason)
            else []
        )
        if confirmed:
            parts.append(f"confirmed soft check(s) {', '.join(confirmed)}")
        if e.reason:
            parts.append(f"reason for change: {e.reason}")
        if confirmed or e.reason:
            notes.append(Note(_when(e), e.username, " · ".join(parts)))
    return tuple(notes)


def _appendix_row(e: AuditEvent) -> list[str]:
    what = "/".join(x for x in (e.visit_id, e.form_id, e.field_id) if x)
    change = (
        f"{e.old_json or '∅'} → {e.new_json or '∅'}"
        if e.action.startswith(("value", "status"))
        else (e.new_json or e.old_json or "")
    )
    extra = "".join(f" · {k}: {v}" for k, v in (("reason", e.reason), ("confirmed", e.confirmed_json)) if v)
    return [_when(e), f"{e.username} ({e.role or '-'})", f"{e.action} {what}", (change + extra)[:600]]


def gather(
    session: Session,
    study: StudyDefinition,
    rules: RulesEngine,
    scope: Scope,
    audit_appendix: bool,
    generated_at: dt.datetime | None,
    versions: Any = None,  # study versions: a StudySet; each form printed with its own version's definitions
) -> tuple[list[PrintedForm], dict[str, Any]]:
    """The forms to print, in schedule order, and the document facts (hash, site, appendix rows)."""
    esign.check_scope(study, scope, versions)  # a retired form's instances print under their version
    conn = session.connection()
    subject_id, number = save_sql.subject_ref(conn, scope.subject)
    scope = Scope(number, scope.visit, scope.form)
    everything = save_sql.load_forms(conn, subject_id, None)
    rows = [r for r in everything if scope.covers(r.visit_id, r.form_id)]
    if not rows:
        raise StoreError(f"{scope.describe()}: no forms entered, nothing to print")
    order = {v: i for i, v in enumerate(study.visit_ids())}
    rows.sort(key=lambda r: (order.get(r.visit_id, len(order)), _form_order(study, r.visit_id, r.form_id)))
    digest = content_hash(
        study.study.id, scope, [FormContent(r.visit_id, r.form_id, r.form_version, r.id, r.raw) for r in rows]
    )
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in everything:
        grouped[(r.visit_id, r.form_id)].append(r.values)
    data = SubjectData.of(grouped)
    clock = Clock((generated_at or dt.datetime.now()).astimezone())
    records = esign.list_signatures(session, subject_id, number)
    covering: dict[str, list[esign.SignatureRecord]] = defaultdict(list)
    for record in records:
        for instance in record.instances:
            covering[instance].append(record)
    ids = {r.id for r in rows}
    events = [
        e
        for e in session.scalars(select(AuditEvent).where(AuditEvent.subject_id == subject_id).order_by(AuditEvent.seq))
        if e.instance_id in ids
    ]
    by_instance: dict[str, list[AuditEvent]] = defaultdict(list)
    for e in events:
        by_instance[e.instance_id or ""].append(e)
    own = _own_versions(versions, study, rules, rows)  # study versions
    forms = [
        PrintedForm(
            r.visit_id,
            study.visit(r.visit_id).label,
            own[r.id][0].forms[r.form_id],
            r.id,
            r.form_version,
            r.status,
            own[r.id][1].evaluate(r.form_id, r.visit_id, r.values, data, clock),
            _notes(by_instance[r.id]),
            tuple(covering[r.id]),
        )
        for r in rows
    ]
    site_code = conn.exec_driver_sql("SELECT site_code FROM subject WHERE id = ?", (subject_id,)).scalar_one()
    site = session.get(Site, site_code)
    facts = {
        "scope": scope,
        "hash": digest,
        "site": f"{site_code}" + (f" · {site.name}" if site and site.name != site_code else ""),
        "appendix": [_appendix_row(e) for e in events if e.action in APPENDIX_ACTIONS] if audit_appendix else None,
        "scope_signatures": tuple(
            r for r in records if r.scope == scope.kind and r.visit == scope.visit and r.form == scope.form
        ),
    }
    return forms, facts


def _own_versions(versions: Any, study: StudyDefinition, rules: RulesEngine, rows: list[Any]) -> dict[str, Any]:
    """Each instance's definitions and rules: those of the study version it is on (study versions)."""
    if versions is None or len(versions.versions) == 1:
        return {r.id: (study, rules) for r in rows}
    from ..store.study_versions import rules_for

    own = {}
    for r in rows:
        found = versions.study_for_form(r.form_id, r.form_version)
        own[r.id] = (found, rules_for(found)) if found is not None else (study, rules)
    return own


def _form_order(study: StudyDefinition, visit: str, form: str) -> int:
    forms = study.forms_at(visit)
    return forms.index(form) if form in forms else len(forms)


def casebook_pdf(
    session: Session,
    study: StudyDefinition,
    rules: RulesEngine,
    scope: Scope,
    *,
    audit_appendix: bool = False,
    generated_at: dt.datetime | None = None,
    versions: Any = None,  # study versions
) -> bytes:
    forms, facts = gather(session, study, rules, scope, audit_appendix, generated_at, versions)
    scope = facts["scope"]
    flowables = []
    for index, form in enumerate(forms):
        flowables += form_section(form, first=index == 0)
    if scope.kind != "form":
        signed = facts["scope_signatures"]
        flowables += signature_block(
            signed,
            bool(signed) and not any(s.active for s in signed),
            f"Signatures over this {scope.kind} · 本{'访视' if scope.kind == 'visit' else '病例'}的签名",
        )
    if facts["appendix"] is not None:
        flowables += appendix_section(facts["appendix"])
    page = PageFacts(
        protocol=study.study.id,
        study_title=study.study.title.en.split(":")[0] + f" · data dictionary v{study.study.version}",
        site=facts["site"],
        subject=scope.subject,
        content_hash=facts["hash"],
        generated=format_generated(generated_at),
        scope=f"{scope.kind}: {scope.describe()}",
    )
    record = {"v": CANON_VERSION, "study": study.study.id, **scope.as_json(), "sha256": facts["hash"]}
    return build(flowables, page, f"{study.study.id} {scope.kind} {scope.describe()}", record)
