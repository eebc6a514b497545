"""What a push needs of study versions: the definitions each change is checked against (its
instance's version, or for a new instance the version it names), and the form versions it records.

Mixed into `BatchApplier` (server/apply.py), beside the field merge and the signature covers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from ...definitions.spec import StudyDefinition
from ...definitions.versions import StudySet
from ...events.base import Refused
from ...events.change import Change
from ...events.payloads import FormCreated, read
from ..models import FieldState
from .models import InstanceFormVersion
from .store import study_set


class InstanceVersions:
    """Per push: the study versions, each touched instance's form version, and what changes of them."""

    conn: Connection
    instances: dict[str, dict[str, Any]]
    fields: dict[tuple[str, str], Any]

    def _load_versions(self, instance_ids: list[str]) -> StudySet:
        self.versions = study_set(self.conn)
        self.form_versions: dict[str, str] = {}
        self.new_form_versions: dict[str, str] = {}
        self.dropped_fields: list[tuple[str, str]] = []
        if len(self.versions.versions) > 1:  # nothing published: every instance is on the shipped forms
            for start in range(0, len(instance_ids), 500):
                part = instance_ids[start : start + 500]
                self.form_versions.update(
                    self.conn.execute(
                        select(InstanceFormVersion.instance_id, InstanceFormVersion.form_version).where(
                            InstanceFormVersion.instance_id.in_(part)
                        )
                    ).all()
                )
        return self.versions

    def form_version(self, instance: dict[str, Any]) -> str:
        """An instance's form version; one never recorded is on version 1's."""
        recorded = self.form_versions.get(instance["id"])
        if recorded is None:
            form = self.versions.study_for(1).forms.get(instance["form_id"])
            recorded = form.version if form else ""
        return recorded

    def study_of(self, change: Change) -> StudyDefinition:
        """The definitions a change is checked against: those of the version its instance is on."""
        versions = self.versions
        if len(versions.versions) == 1 or change.action == "instance_upgraded":
            return versions.latest
        if change.action == "form_create":
            version = read(FormCreated, change.new_json, "form_create").version
            if not version:
                return versions.latest
            study = versions.study_for_form(change.form_id or "", version)
            if study is None:
                raise Refused(f"form {change.form_id} version {version} is not a published version of this study")
            return study
        instance = self.instances.get(change.instance_id or "")
        if instance is None:
            return versions.latest
        study = versions.study_for_form(instance["form_id"], self.form_version(instance))
        return study or versions.latest

    def note_version(self, change: Change, disposition: str) -> None:
        """A new instance is on the form version it was created under; an upgrade that dropped fields
        closes the monitoring queries on them (once the upgrade has its place in the log)."""
        if change.action == "form_create" and disposition == "applied" and change.instance_id:
            version = read(FormCreated, change.new_json, "form_create").version
            first = self.versions.study_for(1).forms.get(change.form_id or "")
            if version and (first is None or version != first.version):  # version 1's is the default: no row
                self.form_versions[change.instance_id] = self.new_form_versions[change.instance_id] = version
        elif change.action == "instance_upgraded" and disposition == "applied":
            self._close_queries_on_removed(change)

    def _close_queries_on_removed(self, change: Change) -> None:
        """Active queries on a field the instance no longer has are closed by the server, saying why."""
        instance_id = change.instance_id or ""
        dropped = {f for i, f in self.dropped_fields if i == instance_id}
        instance = self.instances.get(instance_id)
        monitoring = getattr(self, "monitoring", None)
        if not dropped or instance is None or monitoring is None:
            return
        from ...core.queries import ACTIVE_STATUSES
        from ...events.instance_upgraded import payload

        body = payload(change)
        server = monitoring()
        server._load_instances(instance_id)
        for query_id in list(server.by_instance.get(instance_id, [])):
            query = server.queries[query_id]
            if query["field_id"] in dropped and query["status"] in ACTIVE_STATUSES:
                text = (
                    f"Closed automatically: {query['field_id']} was removed from {instance['form_id']} in version "
                    f"{body.to_version} (study version {body.study_version}); the instance was moved to it by "
                    f"{change.username}: {change.reason or ''} / 自动关闭：该字段已在新版本中删除"
                )
                server._server_step(query, instance, "item_removed", text[:4000], change.id)

    def upgrade_instance(self, instance: dict[str, Any], to_version: str, dropped: list[str]) -> None:
        """The instance moves to `to_version`; fields the new version no longer has are dropped (their
        values stay in the change log)."""
        self.form_versions[instance["id"]] = self.new_form_versions[instance["id"]] = to_version
        for field_id in dropped:
            self.fields.pop((instance["id"], field_id), None)
            self.dropped_fields.append((instance["id"], field_id))

    def _write_versions(self) -> None:
        if self.new_form_versions:
            ids = sorted(self.new_form_versions)
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                self.conn.execute(delete(InstanceFormVersion).where(InstanceFormVersion.instance_id.in_(part)))
            self.conn.execute(
                insert(InstanceFormVersion),
                [{"instance_id": k, "form_version": v} for k, v in self.new_form_versions.items()],
            )
        for instance_id, field_id in self.dropped_fields:
            self.conn.execute(
                delete(FieldState).where(FieldState.instance_id == instance_id, FieldState.field_id == field_id)
            )
