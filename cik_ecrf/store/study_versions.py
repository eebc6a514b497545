"""Study versions on a laptop: the versions received from the server, the definitions each instance is
read, checked and saved with, and moving an instance to the newest version (audited, with a reason).

Version 1 is the definitions the store was opened with (the shipped forms); later versions arrive at a
sync, before any change made under them (`cik_ecrf.sync.study_fetch`), and are kept in the store, so a
laptop offline for months still has every version its instances are on. `store.study` is always the
newest: new instances take it.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..definitions import versions as dv
from ..definitions.errors import DefinitionErrors
from ..definitions.spec import StudyDefinition
from ..events.base import Refused
from ..events.change import Change
from ..events.payloads import FormCreated, read
from ..rules import RulesEngine
from . import audit, save_sql
from .errors import StoreError
from .models import Base

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from .api import Store
    from .entry import SaveRequest


class StudyVersionRecord(Base):
    """A study version received from the server (version 1, the shipped forms, is not stored)."""

    __tablename__ = "study_version"
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    published_at: Mapped[str] = mapped_column(String(40))
    bundle: Mapped[str] = mapped_column(Text)
    mapping: Mapped[str | None] = mapped_column(Text, nullable=True)


_RULES: dict[int, tuple[StudyDefinition, RulesEngine]] = {}
_RULES_LOCK = threading.Lock()


def rules_for(study: StudyDefinition) -> RulesEngine:
    """One rules engine per loaded version (compiling one is not free; versions are few)."""
    with _RULES_LOCK:
        cached = _RULES.get(id(study))
        if cached is None or cached[0] is not study:
            cached = (study, RulesEngine(study))
            _RULES[id(study)] = cached
        return cached[1]


def load_set(engine: Engine, shipped: StudyDefinition) -> dv.StudySet:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT number, sha256, note, published_at, bundle, mapping FROM study_version ORDER BY number"
        ).all()
    versions = [dv.Version(1, "", shipped)]
    for number, sha, note, at, bundle, mapping in rows:
        if number == 1:
            continue
        study = dv.load_bundle(json.loads(bundle), sha)
        versions.append(dv.Version(number, sha, study, dv.read_mapping_text(mapping), note, at))
    return dv.StudySet(tuple(versions))


@dataclass(frozen=True)
class Upgraded:
    instance_id: str
    from_version: str
    to_version: str
    changed: tuple[str, ...]  # fields whose value the mapping moved or recoded
    dropped: tuple[str, ...]  # fields the new version no longer has (values kept in the trail)
    missing_required: tuple[str, ...]  # required in the new version and empty: to fill in at the next save


class Amendments:
    """`store.amendments`: receiving versions, the definitions of an instance, upgrading one."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---------------------------------------------------------------- receiving

    def receive(self, versions: list[dict[str, Any]]) -> list[int]:
        """Keep the versions the server sent (each checked: its SHA-256, and that it loads), in order."""
        store = self.store
        current = store.study_versions
        added = []
        for v in sorted(versions, key=lambda v: v["number"]):
            number = int(v["number"])
            if number <= current.latest_number:
                continue
            if number != current.latest_number + 1:
                raise StoreError(f"study version {number} came without version {current.latest_number + 1}")
            bundle = json.loads(v["bundle"])
            if dv.bundle_sha256(bundle) != v["sha256"]:
                raise StoreError(f"study version {number} from the server does not match its SHA-256")
            try:
                study = dv.load_bundle(bundle, v["sha256"])
            except DefinitionErrors as exc:
                raise StoreError(f"study version {number} from the server does not load: {exc.errors[0]}") from None
            mapping = dv.read_mapping_text(v.get("mapping"))
            current = current.with_version(
                dv.Version(number, v["sha256"], study, mapping, v.get("note") or "", v.get("published_at") or "")
            )
            added.append(v)
        if added:
            with store.unit_of_work() as session:
                session.connection().exec_driver_sql(
                    "INSERT INTO study_version (number, sha256, note, published_at, bundle, mapping) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            v["number"],
                            v["sha256"],
                            v.get("note") or "",
                            v.get("published_at") or "",
                            v["bundle"],
                            v.get("mapping"),
                        )
                        for v in added
                    ],
                )
                chain = audit.Chain(session)  # receiving a version is audited: which one, with its SHA-256
                for v in added:
                    chain.append(
                        store.actor,
                        "study_version_received",
                        new_json=json.dumps(
                            {"study_version": int(v["number"]), "sha256": v["sha256"], "note": v.get("note") or ""},
                            ensure_ascii=False,
                        ),
                    )
                chain.close()
            store.study_versions = current
            store.study, store.rules = current.latest, rules_for(current.latest)
        return [int(v["number"]) for v in added]

    # ---------------------------------------------------------------- reading

    def study_for_instance(self, instance_id: str) -> StudyDefinition:
        """The definitions an instance is read, checked and printed with (its own version's)."""
        with self.store.unit_of_work() as session:
            row = (
                session.connection()
                .exec_driver_sql("SELECT form_id, form_version FROM form_instance WHERE id = ?", (instance_id,))
                .first()
            )
        if row is None:
            raise StoreError(f"no form instance {instance_id}")
        return self.store.study_versions.study_for_form(row[0], row[1]) or self.store.study

    def for_save(self, conn: Connection, request: SaveRequest) -> tuple[StudyDefinition, RulesEngine]:
        """The version a save is checked under: the instance's own, or the newest for a new instance."""
        store = self.store
        versions = store.study_versions
        if len(versions.versions) == 1:
            return store.study, store.rules
        instance_id = request.instance
        if instance_id is None:
            form = store.study.forms.get(request.form)
            if form is None or form.repeating:
                return store.study, store.rules
            try:
                subject_id, _ = save_sql.subject_ref(conn, request.subject)
            except StoreError:
                return store.study, store.rules
            from .entry import INSTANCE_NAMESPACE

            instance_id = str(uuid.uuid5(INSTANCE_NAMESPACE, f"{subject_id}/{request.visit}/{request.form}"))
        row = conn.exec_driver_sql(
            "SELECT form_id, form_version FROM form_instance WHERE id = ?", (instance_id,)
        ).first()
        study = versions.study_for_form(row[0], row[1]) if row is not None else None
        if study is None:
            return store.study, store.rules
        return study, rules_for(study)

    def find_instance(self, subject: str, visit: str, form: str, instance: str | None = None) -> str:
        """The instance a user names by subject, visit and form (a repeating form also by its id)."""
        self.store.require()
        with self.store.unit_of_work() as session:
            conn = session.connection()
            subject_id, number = save_sql.subject_ref(conn, subject)
            ids = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT i.id FROM form_instance i JOIN visit v ON v.id = i.visit_pk "
                    "WHERE v.subject_id = ? AND v.visit_id = ? AND i.form_id = ? ORDER BY i.created_at",
                    (subject_id, visit, form),
                )
            ]
        if instance is not None:
            if instance not in ids:
                raise StoreError(f"instance {instance} is not a {form} form of {number} at {visit}")
            return instance
        if not ids:
            raise StoreError(f"{number} has no {form} form at {visit}")
        if len(ids) > 1:
            raise StoreError(
                f"{number} has {len(ids)} {form} forms at {visit}: name one with --instance ({', '.join(ids)})"
            )
        return ids[0]

    def behind(self) -> list[tuple[str, str, str, str, str, str]]:
        """Instances on an older version of their form than the newest:
        (subject number, visit, form, instance, its version, the newest)."""
        self.store.require()
        latest = self.store.study
        with self.store.unit_of_work() as session:
            rows = (
                session.connection()
                .exec_driver_sql(
                    "SELECT s.number, v.visit_id, i.form_id, i.id, i.form_version FROM form_instance i "
                    "JOIN visit v ON v.id = i.visit_pk JOIN subject s ON s.id = v.subject_id ORDER BY s.number, i.created_at"
                )
                .all()
            )
        return [
            (n, v, f, i, fv, latest.forms[f].version)
            for n, v, f, i, fv in rows
            if f in latest.forms and latest.forms[f].version != fv
        ]

    # ---------------------------------------------------------------- upgrading

    def upgrade(self, instance_id: str, reason: str) -> Upgraded:
        """Move an instance to the newest version of its form, with a reason (store/study_upgrade.py)."""
        from .study_upgrade import upgrade

        return upgrade(self.store, instance_id, reason)


# ------------------------------------------------------------------------------------ pulled changes


def study_of_pulled(page: Any, change: Change, versions: dv.StudySet | None) -> StudyDefinition:
    """The definitions a pulled change is checked against on this laptop: its instance's version."""
    if versions is None or len(versions.versions) == 1:
        return page.study
    known: dict[str, tuple[str, str]] | None = page.__dict__.get("_form_versions")
    if known is None:
        known = {
            r[0]: (r[1], r[2]) for r in page.conn.exec_driver_sql("SELECT id, form_id, form_version FROM form_instance")
        }
        page.__dict__["_form_versions"] = known
    instance_id = change.instance_id or ""
    if change.action == "form_create":
        try:
            version = read(FormCreated, change.new_json, "form_create").version
        except Refused:
            return versions.latest
        if instance_id not in known:
            known[instance_id] = (change.form_id or "", version)
        return versions.study_for_form(change.form_id or "", version) or versions.latest
    if change.action == "instance_upgraded":
        return versions.latest
    held = known.get(instance_id)
    if held is None:
        return versions.latest
    return versions.study_for_form(*held) or versions.latest


def upgrade_pulled(page: Any, change: Change, to_version: str, dropped: list[str]) -> None:
    """A pulled `instance_upgraded`: the instance's version moves; dropped fields leave the instance."""
    conn = page.conn
    conn.exec_driver_sql(
        "UPDATE form_instance SET form_version = ?, updated_at = ? WHERE id = ?",
        (to_version, change.at_utc, change.instance_id),
    )
    for field_id in dropped:
        page.writes.pop((change.instance_id or "", field_id), None)
    if dropped:
        conn.exec_driver_sql(
            "DELETE FROM field_value WHERE instance_id = ? AND field_id = ?",
            [(change.instance_id, f) for f in dropped],
        )
    known = page.__dict__.get("_form_versions")
    if known is not None and change.instance_id in known:
        known[change.instance_id] = (known[change.instance_id][0], to_version)
