"""Moving a form instance to the newest version of its form (`store.amendments.upgrade`): its values
carried by the published mappings and checked under the new version, the upgrade and each moved
value audited with the user's reason and pushed like any change. Monitoring queries on the fields it
drops are closed by the server when the upgrade reaches it."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from ..definitions import versions as dv
from ..events.base import Refused
from ..events.values import check_value_json
from . import audit, save_sql
from .errors import StoreError, ValidationFailed
from .study_versions import Upgraded
from .users import ENTRY_ROLES

if TYPE_CHECKING:
    from .api import Store


def upgrade(store: Store, instance_id: str, reason: str) -> Upgraded:
    """Move an instance to the newest version of its form: its values carried by the published
    mappings and checked under the new version; the upgrade and each moved value audited with the
    reason (and pushed). A signed form's signatures are cleared, as by any change to it."""
    store.require(ENTRY_ROLES, "upgrade forms")
    reason = (reason or "").strip()
    if not reason:
        raise StoreError("reason: moving a form to a new version needs a reason")
    versions = store.study_versions
    latest = versions.latest
    with store.unit_of_work() as session:
        conn = session.connection()
        row = conn.exec_driver_sql(
            "SELECT i.form_id, i.form_version, i.status, v.subject_id, v.visit_id FROM form_instance i "
            "JOIN visit v ON v.id = i.visit_pk WHERE i.id = ?",
            (instance_id,),
        ).first()
        if row is None:
            raise StoreError(f"no form instance {instance_id}")
        form_id, from_version, status, subject_id, visit_id = row
        form = latest.forms.get(form_id)
        if form is None:
            raise StoreError(
                f"form {form_id} is retired in study version {versions.latest_number}: it stays on {from_version}"
            )
        if form.version == from_version:
            raise StoreError(f"{form_id} is on its newest version ({from_version}) already")
        if status == "locked":
            raise StoreError(f"{form_id} at {visit_id} is locked: it cannot be upgraded")
        start = versions.version_of(form_id, from_version)
        if start is None:
            raise StoreError(f"{form_id} version {from_version} is not a study version this laptop holds: sync first")
        held = dict(
            conn.exec_driver_sql(
                "SELECT field_id, value_json FROM field_value WHERE instance_id = ?", (instance_id,)
            ).all()
        )
        bases = dict(
            conn.exec_driver_sql(
                "SELECT field_id, server_version FROM field_value WHERE instance_id = ?", (instance_id,)
            ).all()
        )
        carried = dv.carry(versions, form_id, start, held)
        problems = [
            f"{f}: not in version {form.version} and no published mapping says where its value {held[f]} goes"
            for f in carried.unmapped
        ]
        for field_id, text in carried.values.items():
            try:
                check_value_json(form.fields[field_id], text)
            except Refused as exc:
                problems.append(f"{exc} (value {text}); correct it on version {from_version} first")
        if problems:
            raise ValidationFailed(problems)
        dropped = sorted(f for f in held if f not in form.fields)
        changed = sorted(f for f, text in carried.values.items() if held.get(f) != text)
        cleared = sorted(f for f in held if f in form.fields and f not in carried.values)  # recoded to nothing
        context = {"subject_id": subject_id, "visit_id": visit_id, "form_id": form_id}
        chain = audit.Chain(session)
        actor = store.actor
        if status == "signed":
            from . import signatures

            signatures.clear_for_change(conn, chain, actor, instance_id, reason, context)
        chain.append(
            actor,
            "instance_upgraded",
            instance_id=instance_id,
            old_json=json.dumps({"form_version": from_version}),
            new_json=json.dumps(
                {
                    "from_version": from_version,
                    "to_version": form.version,
                    "study_version": versions.latest_number,
                    "dropped": dropped,
                }
            ),
            reason=reason,
            **context,
        )
        for field_id in changed:
            chain.append(
                actor,
                "value_set",
                instance_id=instance_id,
                field_id=field_id,
                old_json=held.get(field_id),
                new_json=carried.values[field_id],
                reason=reason,
                base_version=bases.get(field_id),
                **context,
            )
        for field_id in cleared:
            chain.append(
                actor,
                "value_clear",
                instance_id=instance_id,
                field_id=field_id,
                old_json=held[field_id],
                reason=reason,
                base_version=bases.get(field_id),
                **context,
            )
        now_text = dt.datetime.now(dt.UTC).isoformat()
        if status == "signed":
            chain.append(
                actor,
                "status_change",
                instance_id=instance_id,
                old_json=json.dumps("signed"),
                new_json=json.dumps("complete"),
                reason=reason,
                **context,
            )
        conn.exec_driver_sql(
            "UPDATE form_instance SET form_version = ?, status = ?, updated_at = ? WHERE id = ?",
            (form.version, "complete" if status == "signed" else status, now_text, instance_id),
        )
        save_sql.write_values(
            conn,
            instance_id,
            actor.user_id or "",
            now_text,
            {f: carried.values[f] for f in changed},
            set(held),
            dropped + cleared,
        )
        chain.close()
    missing = tuple(
        f
        for f, spec in form.fields.items()
        if spec.definition.required and f not in carried.values and form.applies(f, visit_id) and not spec.read_only
    )
    return Upgraded(instance_id, from_version, form.version, tuple(changed + cleared), tuple(dropped), missing)
