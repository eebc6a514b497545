"""One change event as laptops write it and the server logs it: the unit of sync and of the audit trail.

It lives with the event types (not with the HTTP protocol) because the laptop's store, the sync client
and the server all read it; the protocol module re-exports it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

Id = Annotated[str, Field(min_length=1, max_length=36)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Short = Annotated[str, Field(min_length=1, max_length=40)]
#: a change as the laptop wrote it: the fields the audit trail holds (its local chain hash stays there)
CHANGE_FIELDS = (
    "id device_id device_seq user_id username role at_utc utc_offset_min action subject_id visit_id form_id "
    "instance_id field_id old_json new_json reason confirmed_json base_version"
).split()


@functools.lru_cache(maxsize=4096)
def _aware_time(value: str) -> bool:
    """Whether `value` is an ISO 8601 time with its offset. Cached: a form's saved fields share their
    time, so a pushed or pulled page of thousands of changes holds a few hundred distinct ones."""
    try:
        return dt.datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Change(Model):
    """One audit event as the laptop wrote it (its local chain hash stays on the laptop)."""

    id: Id
    device_id: Id
    device_seq: int = Field(ge=1, le=2**62)
    user_id: Id | None = None
    username: Name
    role: Short | None = None
    at_utc: Short
    utc_offset_min: int = Field(ge=-24 * 60, le=24 * 60)
    action: Annotated[str, Field(min_length=1, max_length=30)]
    subject_id: Id | None = None
    visit_id: Annotated[str, Field(max_length=20)] | None = None
    form_id: Annotated[str, Field(max_length=40)] | None = None
    instance_id: Id | None = None
    field_id: Annotated[str, Field(max_length=40)] | None = None
    old_json: Annotated[str, Field(max_length=100_000)] | None = None
    new_json: Annotated[str, Field(max_length=100_000)] | None = None
    reason: Annotated[str, Field(max_length=10_000)] | None = None
    confirmed_json: Annotated[str, Field(max_length=10_000)] | None = None
    base_version: int | None = Field(default=None, ge=0, le=2**62)

    @field_validator("at_utc")
    @classmethod
    def _a_time(cls, value: str) -> str:
        """A real time with its offset: every laptop shows it, and a forged one must not break that."""
        if not _aware_time(value):
            raise ValueError("at_utc: expected an ISO 8601 time with its UTC offset")
        return value

    def digest(self, body: str | None = None) -> str:
        """What "the same change" means: the same uuid with the same content (`body`: this change's
        `model_dump_json()`, when the caller has it already; its field order is the model's, so stable)."""
        return hashlib.sha256((body or self.model_dump_json()).encode("utf-8")).hexdigest()
