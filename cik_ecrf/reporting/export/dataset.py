"""What every export is written from: a study's data as frozen records, whichever database it came from.

The laptop store (`reporting.laptop_dataset`) and the server database (`server.export_dataset`) each
build one `Dataset`; the writers (ODM, CSV, endpoints) read only this, so the three formats say the
same thing on both sides and none of them imports a database package.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


def read_value(value_json: str | None) -> Any:
    """A stored value as the rules read it (decimals exact)."""
    return None if value_json is None else json.loads(value_json, parse_float=Decimal)


@dataclass(frozen=True)
class SubjectRecord:
    id: str
    number: str  # the subject number, assigned once (SubjectKey, USUBJID)
    site: str


@dataclass(frozen=True)
class InstanceRecord:
    """One form instance: where it is, the definition version it was entered under, and its values."""

    id: str
    subject_id: str
    visit: str
    visit_repeat: int  # unscheduled visits repeat: 0, 1, ...
    form: str
    version: str
    status: str  # draft / complete / signed / locked
    values: Mapping[str, Any]  # field id -> stored value (JSON types, decimals as Decimal); cleared: absent


@dataclass(frozen=True)
class AuditRecord:
    """One event of the trail: who, when (UTC and the author's offset), what, old → new, why."""

    id: str
    seq: int
    at_utc: str
    utc_offset_min: int
    username: str
    role: str | None
    action: str
    site: str
    subject_id: str | None = None
    visit: str | None = None
    form: str | None = None
    instance_id: str | None = None
    field: str | None = None
    old_json: str | None = None
    new_json: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class SignatureRecord:
    id: str
    subject_id: str
    scope: str  # form / visit / casebook
    meaning: str  # author / review / approve
    username: str
    full_name: str
    role: str
    signed_at_utc: str
    utc_offset_min: int
    site: str
    instance_ids: tuple[str, ...]
    visit: str | None = None
    form: str | None = None
    cleared_at_utc: str | None = None

    @property
    def active(self) -> bool:
        return self.cleared_at_utc is None


@dataclass(frozen=True)
class UserRecord:
    username: str
    full_name: str
    role: str


@dataclass(frozen=True)
class Dataset:
    """One study's data for one export. `arms` is None when blinded (the arm never reaches the writers)."""

    study_id: str
    source: str  # "server" or "laptop <site>"
    created_at: dt.datetime
    sites: tuple[str, ...]
    subjects: tuple[SubjectRecord, ...]
    instances: tuple[InstanceRecord, ...]
    audit: tuple[AuditRecord, ...] = ()
    signatures: tuple[SignatureRecord, ...] = ()
    users: tuple[UserRecord, ...] = ()
    arms: Mapping[str, str] | None = None  # subject id -> arm code, unblinded server exports only
    identified: bool = False  # direct identifiers kept (a data manager asked for them)
    _by_subject: dict[str, list[InstanceRecord]] = field(default_factory=dict, compare=False, repr=False)

    def instances_of(self, subject_id: str) -> list[InstanceRecord]:
        if not self._by_subject:
            for instance in self.instances:
                self._by_subject.setdefault(instance.subject_id, []).append(instance)
        return self._by_subject.get(subject_id, [])
