"""The sync protocol: pydantic models shared by the laptop client and the central server.

A change is one audit event of a laptop's hash-chained trail, sent as it was written (the trail is
the outbox). The server answers each change on its own; a pull returns the site's changes after a
cursor in the server's commit order. Unknown keys are refused, so a client and a server that
disagree about the protocol fail loudly instead of dropping data.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ..events.change import Change, Id, Model, Name, Short
from ..events.registry import DATA_ACTIONS, PULLED_ACTIONS, SERVER_ACTIONS

PROTOCOL = 1
API = "/api/v1"

#: held: not applied and not logged: it follows a gap in its device's sequence; send again from `expected_device_seq`
Disposition = Literal["applied", "merged", "duplicate", "conflict", "rejected", "held"]


class PushRequest(Model):
    # Each change is read on its own (`Change`): a malformed one is refused alone, never the whole batch.
    changes: list[Any] = Field(max_length=5000)
    client_time_utc: Short | None = None  # for the clock-skew warning only; clocks never pick a winner


class ChangeResult(Model):
    id: Id
    disposition: Disposition
    reason: str | None = None
    server_seq: int | None = None  # where the change sits in the server's log (not for rejected ones)
    expected_device_seq: int | None = None  # with `held`: the device_seq the server takes next


class PushResponse(Model):
    results: list[ChangeResult]
    warnings: list[str] = []


class ServerChange(Model):
    """A change as the server logged it: the laptop's event, its commit-ordered place and its outcome."""

    seq: int
    disposition: Disposition
    # read on its own by the laptop (`Change`): one it cannot read is quarantined there, the page goes on
    change: dict[str, Any]


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


__all__ = [
    "API",
    "DATA_ACTIONS",
    "PROTOCOL",
    "PULLED_ACTIONS",
    "SERVER_ACTIONS",
    "Change",
    "Id",
    "Model",
    "Name",
    "Short",
]
