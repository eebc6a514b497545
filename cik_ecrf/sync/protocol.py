"""The sync protocol: pydantic models shared by the laptop client and the central server.

A change is one audit event of a laptop's hash-chained trail, sent as it was written (the trail is
the outbox). The server answers each change on its own; a pull returns the site's changes after a
cursor in the server's commit order. Unknown keys are refused, so a client and a server that
disagree about the protocol fail loudly instead of dropping data.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL = 1
API = "/api/v1"

Id = Annotated[str, Field(min_length=1, max_length=36)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Short = Annotated[str, Field(min_length=1, max_length=40)]
Disposition = Literal["applied", "merged", "duplicate", "conflict", "rejected"]

#: actions that change clinical data; the server applies these to its current state
DATA_ACTIONS = frozenset(
    {
        "subject_add",
        "form_create",
        "value_set",
        "value_clear",
        "status_change",
        "warnings_confirmed",
        "conflict_resolve",
        "signature_cleared",
    }
)
#: events the server writes itself (a conflict opened); laptops apply them as they apply data changes
SERVER_ACTIONS = frozenset({"sync_conflict"})


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

    def digest(self, body: str | None = None) -> str:
        """What "the same change" means: the same uuid with the same content (`body`: this change's
        `model_dump_json()`, when the caller has it already; its field order is the model's, so stable)."""
        return hashlib.sha256((body or self.model_dump_json()).encode("utf-8")).hexdigest()


class PushRequest(Model):
    changes: list[Change] = Field(max_length=5000)
    client_time_utc: Short | None = None  # for the clock-skew warning only; clocks never pick a winner


class ChangeResult(Model):
    id: Id
    disposition: Disposition
    reason: str | None = None
    server_seq: int | None = None  # where the change sits in the server's log (not for rejected ones)


class PushResponse(Model):
    results: list[ChangeResult]
    warnings: list[str] = []


class ServerChange(Model):
    """A change as the server logged it: the laptop's event, its commit-ordered place and its outcome."""

    seq: int
    disposition: Disposition
    change: Change


class PullResponse(Model):
    epoch: str  # the server database's identity: a cursor from another database is unknown here
    changes: list[ServerChange]
    next_cursor: int
    cursor_id: str | None = None  # the change at next_cursor: a restored server has other changes at those numbers
    more: bool


class LoginKey(Model):
    """What the user's password derives (argon2id parameters and salt, and the key): a laptop wraps its
    store key with it so the user can sign in there offline. `version` changes with each new password."""

    kdf: dict[str, str | int]
    key: Annotated[str, Field(max_length=64)]
    version: Annotated[str, Field(max_length=40)]


class UserRecord(Model):
    """A user of the site as laptops need them to act offline."""

    id: Id
    username: Name
    full_name: str
    role: Short
    active: bool
    login: LoginKey | None = None  # None for a deactivated user, or one created before login keys


class SiteUsers(Model):
    users: list[UserRecord]


class EnrolRequest(Model):
    username: Name
    password: Annotated[str, Field(min_length=1, max_length=200)]
    device_id: Id
    device_code: Annotated[str, Field(max_length=8)] | None = None  # None: the server picks a free one
    site_code: Annotated[str, Field(max_length=16)] | None = None  # the laptop's store site, when it has one


class EnrolResponse(Model):
    token: str
    site_code: str
    site_name: str
    device_code: str
    user: UserRecord
    epoch: str


class ServerInfo(Model):
    protocol: int
    epoch: str
    server_time_utc: str


class ErrorBody(Model):
    detail: str
