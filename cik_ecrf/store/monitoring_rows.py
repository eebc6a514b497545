"""What the monitoring reads return (`store.monitoring`): frozen dataclasses the CLI prints and the
client's lists, badges and threads show. Imported from `cik_ecrf.store.monitoring` as well."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.queries import ACTIVE_STATUSES


@dataclass(frozen=True)
class QueryRow:
    """One query as lists show it."""

    id: str
    subject_id: str
    subject: str  # the subject number
    visit_id: str
    form_id: str | None  # None: a visit query
    instance_id: str | None
    field_id: str | None  # None: a form or visit query
    scope: str  # field / form / visit
    kind: str  # manual / review / conflict
    status: str  # open / answered / closed / closed_modified
    text: str  # the opening text
    opened_by: str
    opened_at_utc: str
    updated_at_utc: str
    messages: int  # steps in the thread, the opening included
    age_days: int  # whole days since it was opened

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class QueryMessage:
    """One step of a query's thread, oldest first."""

    event_id: str
    query_id: str
    position: int
    transition: str  # open / open_review / conflict_open / answer / close / reopen / conflict_resolved / modified
    username: str
    role: str | None
    at_utc: str
    utc_offset_min: int
    text: str | None  # the text, answer, or (reopen) the reason
    status_after: str
    correction: bool  # an answer that came with a value change


@dataclass(frozen=True)
class SdvState:
    """Source-data verification of one form: the whole form's mark and each field's."""

    instance_id: str
    form: str  # verified / dropped / none
    fields: dict[str, str]  # field -> verified / dropped
    verified_by: str | None
    verified_at_utc: str | None

    @property
    def verified(self) -> bool:
        return self.form == "verified"


@dataclass(frozen=True)
class VisitProgress:
    visit_id: str
    forms: int  # forms entered at the visit
    verified: int  # whole form verified, or every entered field verified
    dropped: int  # forms with a dropped verification


@dataclass(frozen=True)
class SdvProgress:
    subject: str
    visits: tuple[VisitProgress, ...]

    @property
    def forms(self) -> int:
        return sum(v.forms for v in self.visits)

    @property
    def verified(self) -> int:
        return sum(v.verified for v in self.visits)


@dataclass(frozen=True)
class LockInfo:
    subject_id: str
    subject: str
    visit_id: str | None  # None: the whole subject
    form_id: str | None  # None: the whole visit
    locked_by: str
    locked_at_utc: str

    @property
    def scope(self) -> str:
        return "form" if self.form_id else "visit" if self.visit_id else "subject"
