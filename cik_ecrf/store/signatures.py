"""Electronic signatures (21 CFR 11.50, 11.70, 11.200): signing, listing, and clearing on change.

A signature is bound to the data it signs by the SHA-256 of the canonical content (`core.content`)
of every form instance in its scope, taken at signing. Changing any of those values clears the
signature in the same transaction as the change (never deletes it), audited as `signature_cleared`,
and the instances it covered go back from signed to complete unless another signature still holds.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ..core.content import FormContent, Scope, content_hash
from ..definitions.spec import StudyDefinition
from ..rules.results import Message
from . import audit, authorship, save_sql
from .errors import AuthError, PermissionDenied, StoreError
from .models import Signature, SignatureItem, User

SIGNER_ROLES = frozenset({"investigator"})
MEANINGS: dict[str, Message] = {
    "author": Message(
        "I am the author of this record and attest that its content is accurate and complete.",
        "本人为本记录的记录者，确认其内容准确、完整。",
    ),
    "review": Message("I have reviewed the content of this record.", "本人已审阅本记录的内容。"),
    "approve": Message("I have reviewed and approve the content of this record.", "本人已审阅并批准本记录的内容。"),
}


@dataclass(frozen=True)
class FormRef:
    visit: str
    form: str
    instance: str


@dataclass(frozen=True)
class SignatureRecord:
    """One signature with its manifestation (printed name, role, time with offset, meaning)."""

    id: str
    subject: str
    scope: str  # form / visit / casebook
    visit: str | None
    form: str | None
    meaning: str
    username: str
    full_name: str
    role: str
    signed_at_utc: str
    utc_offset_min: int
    content_hash: str
    instances: tuple[str, ...]
    cleared_at_utc: str | None = None
    cleared_reason: str | None = None
    forged: str | None = None  # why it is not provably the signer's (`store.authorship`): it counts for nothing

    @property
    def active(self) -> bool:
        return self.cleared_at_utc is None and self.forged is None

    def meaning_text(self, language: str = "en") -> str:
        return MEANINGS[self.meaning].get(language)

    def signed_at(self) -> str:
        """`2026-11-24 06:10:11 UTC (UTC+08:00)`: UTC to the second with the site's offset beside it."""
        return format_time(self.signed_at_utc, self.utc_offset_min)


@dataclass(frozen=True)
class SignResult:
    signature: SignatureRecord
    signed: tuple[FormRef, ...]  # every form instance the signature covers


def format_time(at_utc: str, offset_min: int) -> str:
    sign = "+" if offset_min >= 0 else "-"
    hours, minutes = divmod(abs(offset_min), 60)
    return f"{at_utc[:10]} {at_utc[11:19]} UTC (UTC{sign}{hours:02d}:{minutes:02d})"


def check_scope(study: StudyDefinition, scope: Scope, versions: Any = None) -> None:
    """`versions` (a StudySet): a scope an instance's own study version holds stays valid after an
    amendment retired its form (instances keep their version, so they are only where theirs collected them)."""
    if versions is not None and study is versions.latest and len(versions.versions) > 1:
        for held in reversed(versions.versions):
            try:
                return check_scope(held.study, scope)
            except StoreError:
                continue
    if scope.visit is not None and scope.visit not in study.visit_ids():
        raise StoreError(f"visit: unknown visit {scope.visit!r} (one of: {', '.join(study.visit_ids())})")
    if scope.form is not None and scope.visit is not None and scope.form not in study.forms_at(scope.visit):
        raise StoreError(
            f"form: {scope.form!r} is not collected at visit {scope.visit} (there: {', '.join(study.forms_at(scope.visit))})"
        )


def scope_content(
    conn: Connection, study_id: str, subject_id: str, scope: Scope
) -> tuple[list[save_sql.InstanceRow], str]:
    """The instances a scope covers now, and the hash of their canonical content."""
    forms = None if scope.form is None else frozenset({scope.form})
    rows = [r for r in save_sql.load_forms(conn, subject_id, forms) if scope.covers(r.visit_id, r.form_id)]
    return rows, content_hash(
        study_id, scope, [FormContent(r.visit_id, r.form_id, r.form_version, r.id, r.raw) for r in rows]
    )


def refusal(
    session: Session, actor: audit.Actor, username: str, proved: authorship.Signer | None, scope: Scope
) -> StoreError | None:
    """Who may sign: the logged-in investigator, proving the password again (`proved`: the keys that
    password opened, None when it opened nothing). A refusal is audited."""
    user = session.get(User, actor.user_id) if actor.user_id else None
    problem: StoreError | None = None
    if actor.role not in SIGNER_ROLES:
        problem = PermissionDenied(f"a {actor.role} cannot sign (only investigators sign)")
    elif user is None or username != actor.username:
        problem = AuthError(f"sign: the user id {username!r} is not the logged-in user ({actor.username})")
    elif proved is None or proved.username != username:
        problem = AuthError("sign: wrong password; nothing was signed")
    if problem is not None:
        subject_id = (
            session.connection()
            .exec_driver_sql("SELECT id FROM subject WHERE number = ? OR id = ?", (scope.subject, scope.subject))
            .scalar()
        )
        audit.append(
            session,
            actor,
            "signature_refused",
            subject_id=subject_id,
            visit_id=scope.visit,
            form_id=scope.form,
            reason=str(problem),
            new_json=json.dumps({"username_given": username}),
        )
    return problem


def sign(
    session: Session,
    study: StudyDefinition,
    actor: audit.Actor,
    scope: Scope,
    meaning: str,
    signer: authorship.Signer,
    versions: Any = None,  # study versions: the scope is checked against the instances' own versions
) -> SignResult:
    """The signature row, its event and `signature_proof`: the signer's Ed25519 signature over the content
    hash, which the server and `audit verify`/`pdf verify` check against the signer's public key."""
    if meaning not in MEANINGS:
        raise StoreError(f"meaning {meaning!r}: one of {', '.join(MEANINGS)}")
    check_scope(study, scope, versions)
    conn = session.connection()
    subject_id, number = save_sql.subject_ref(conn, scope.subject)
    scope = Scope(number, scope.visit, scope.form)
    rows, digest = scope_content(conn, study.study.id, subject_id, scope)
    if not rows:
        raise StoreError(f"{scope.describe()}: no forms entered, nothing to sign")
    drafts = [f"{r.visit_id}/{r.form_id}" for r in rows if r.status == "draft"]
    if drafts:
        raise StoreError(f"{scope.describe()}: complete these forms before signing: {', '.join(drafts)}")
    same = session.scalar(
        select(Signature.id).where(
            Signature.subject_id == subject_id,
            Signature.scope == scope.kind,
            Signature.visit_id.is_(None) if scope.visit is None else Signature.visit_id == scope.visit,
            Signature.form_id.is_(None) if scope.form is None else Signature.form_id == scope.form,
            Signature.user_id == actor.user_id,
            Signature.meaning == meaning,
            Signature.cleared_at_utc.is_(None),
            Signature.content_hash == digest,
        )
    )
    if same:
        raise StoreError(f"{scope.describe()}: you have already signed this content with the meaning {meaning!r}")
    user = session.get(User, actor.user_id)
    assert user is not None
    chain = audit.Chain(session)
    at_utc, offset = chain.at
    signature_id = str(uuid.uuid4())
    instance_ids = [r.id for r in rows]
    context = {"subject_id": subject_id, "visit_id": scope.visit, "form_id": scope.form}
    proof = authorship.prove_signature(
        conn, signer, signature_id, scope.kind, subject_id, meaning, digest, instance_ids
    )
    event = chain.append(
        actor,
        "signature",
        instance_id=instance_ids[0] if len(rows) == 1 else None,
        new_json=json.dumps(
            {
                "signature": signature_id,
                "scope": scope.kind,
                "meaning": meaning,
                "full_name": user.full_name,
                "content_sha256": digest,
                "instances": instance_ids,
                **proof,
            },
            ensure_ascii=False,
        ),
        **context,
    )
    for row in rows:
        if row.status == "complete":
            chain.append(
                actor,
                "status_change",
                subject_id=subject_id,
                visit_id=row.visit_id,
                form_id=row.form_id,
                instance_id=row.id,
                old_json=json.dumps("complete"),
                new_json=json.dumps("signed"),
            )
    conn.exec_driver_sql(
        "INSERT INTO signature (id, subject_id, scope, visit_id, form_id, meaning, user_id, username, full_name, role, signed_at_utc, utc_offset_min, content_hash, audit_event_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            signature_id,
            subject_id,
            scope.kind,
            scope.visit,
            scope.form,
            meaning,
            user.id,
            user.username,
            user.full_name,
            user.role,
            at_utc,
            offset,
            digest,
            event["id"],
        ),
    )
    conn.exec_driver_sql(
        "INSERT INTO signature_item (signature_id, instance_id) VALUES (?, ?)",
        [(signature_id, i) for i in instance_ids],
    )
    conn.exec_driver_sql(
        "UPDATE form_instance SET status = 'signed' WHERE status = 'complete' AND id = ?", [(i,) for i in instance_ids]
    )
    chain.close()
    record = SignatureRecord(
        signature_id,
        number,
        scope.kind,
        scope.visit,
        scope.form,
        meaning,
        user.username,
        user.full_name,
        user.role,
        at_utc,
        offset,
        digest,
        tuple(instance_ids),
    )
    return SignResult(record, tuple(FormRef(r.visit_id, r.form_id, r.id) for r in rows))


def clear_for_change(
    conn: Connection,
    chain: audit.Chain,
    actor: audit.Actor,
    instance_id: str,
    reason: str | None,
    context: dict[str, Any],
) -> tuple[str, ...]:
    """Called by the save path when an instance's values change: clear every active signature over it.

    The changed instance's own status is the save's business (it becomes complete or draft); the
    other instances those signatures covered go back from signed to complete unless another active
    signature still covers them. Returns the ids of the cleared signatures.
    """
    rows = conn.exec_driver_sql(
        "SELECT s.id, s.scope, s.meaning, s.username, s.signed_at_utc, s.content_hash FROM signature s "
        "JOIN signature_item si ON si.signature_id = s.id WHERE si.instance_id = ? AND s.cleared_at_utc IS NULL",
        (instance_id,),
    ).all()
    if not rows:
        return ()
    at_utc = chain.at[0]
    ids = [r[0] for r in rows]
    for signature_id, scope, meaning, username, signed_at, digest in rows:
        event = chain.append(
            actor,
            "signature_cleared",
            instance_id=instance_id,
            reason=reason,
            old_json=json.dumps(
                {
                    "signature": signature_id,
                    "scope": scope,
                    "meaning": meaning,
                    "signed_by": username,
                    "signed_at_utc": signed_at,
                    "content_sha256": digest,
                }
            ),
            **context,
        )
        conn.exec_driver_sql(
            "UPDATE signature SET cleared_at_utc = ?, cleared_event_id = ?, cleared_reason = ? WHERE id = ?",
            (at_utc, event["id"], reason or "data changed", signature_id),
        )
    marks = ", ".join("?" * len(ids))
    orphans = conn.exec_driver_sql(
        "SELECT i.id, i.form_id, v.visit_id, v.subject_id FROM form_instance i JOIN visit v ON v.id = i.visit_pk "
        f"JOIN signature_item si ON si.instance_id = i.id WHERE si.signature_id IN ({marks}) AND i.id != ? AND i.status = 'signed' "
        "AND NOT EXISTS (SELECT 1 FROM signature_item o JOIN signature s ON s.id = o.signature_id WHERE o.instance_id = i.id AND s.cleared_at_utc IS NULL)",
        (*ids, instance_id),
    ).all()
    for other_id, form_id, visit_id, subject_id in dict.fromkeys(orphans):
        chain.append(
            actor,
            "status_change",
            subject_id=subject_id,
            visit_id=visit_id,
            form_id=form_id,
            instance_id=other_id,
            old_json=json.dumps("signed"),
            new_json=json.dumps("complete"),
            reason=reason,
        )
        conn.exec_driver_sql("UPDATE form_instance SET status = 'complete' WHERE id = ?", (other_id,))
    return tuple(ids)


def list_signatures(session: Session, subject_id: str, number: str) -> list[SignatureRecord]:
    """Every signature of a subject, active and cleared, oldest first."""
    items: dict[str, list[str]] = {}
    for signature_id, instance_id in session.execute(
        select(SignatureItem.signature_id, SignatureItem.instance_id)
        .join(Signature, Signature.id == SignatureItem.signature_id)
        .where(Signature.subject_id == subject_id)
    ):
        items.setdefault(signature_id, []).append(instance_id)
    out = []
    forged = authorship.forgeries(session.connection(), subject_id, items)
    for s in session.scalars(
        select(Signature).where(Signature.subject_id == subject_id).order_by(Signature.signed_at_utc, Signature.id)
    ):
        out.append(
            SignatureRecord(
                s.id,
                number,
                s.scope,
                s.visit_id,
                s.form_id,
                s.meaning,
                s.username,
                s.full_name,
                s.role,
                s.signed_at_utc,
                s.utc_offset_min,
                s.content_hash,
                tuple(sorted(items.get(s.id, []))),
                s.cleared_at_utc,
                s.cleared_reason,
                forged.get(s.id),
            )
        )
    return out


def needs_resigning(records: list[SignatureRecord]) -> frozenset[str]:
    """Instances that lost a signature to a change and have no active signature now."""
    active = {i for r in records if r.active for i in r.instances}
    return frozenset(i for r in records if not r.active for i in r.instances if i not in active)
